//! Notifications from Attest: generic JSON, Slack and Microsoft Teams webhooks, and e-mail
//! over SMTP, with retries and a secret-free record of every delivery.
//!
//! A [`Channel`] comes from a `[[notify]]` table of `attest.toml`
//! ([`attest_model::NotifyConfig`]). [`Channel::wants`] applies its filters (events and
//! minimum severity); [`deliver`] sends a [`Notification`], retrying as a [`RetryPolicy`] says,
//! and returns a [`Delivery`] that the caller appends to the ledger
//! ([`Delivery::ledger_kind`], [`Delivery::ledger_payload`]).
//!
//! Secrets (webhook URLs, SMTP passwords) are read from their environment variable or file
//! only when a notification is sent, are held in a [`Secret`] whose `Debug` and `Display` are
//! redacted, and never appear in a reason, an error or a ledger payload: a webhook is recorded
//! by its host alone, since the path of a Slack or Teams webhook URL is the secret.
//!
//! ```no_run
//! use attest_notify::{Channel, Notification, RetryPolicy, deliver};
//! # fn channels() -> Vec<attest_model::NotifyConfig> { Vec::new() }
//! let notification = Notification::test(jiff::Timestamp::now());
//! for channel in channels().into_iter().map(Channel::new) {
//!     if channel.wants(&notification) {
//!         let delivery = deliver(&channel, &notification, &RetryPolicy::default());
//!         // store.append_event(delivery.at, delivery.ledger_kind(), &delivery.ledger_payload())
//!         assert!(!delivery.ledger_payload().to_string().contains("hooks.slack.com/services"));
//!     }
//! }
//! ```

mod deliver;
mod notification;
pub mod payload;
mod secret;
#[cfg(feature = "testing")]
pub mod testing;

pub use attest_model::NOTIFY_EVENTS;
pub use deliver::{
    Delivery, LEDGER_DELIVERED, LEDGER_FAILED, LEDGER_SCHEMA_VERSION, Outcome, RetryPolicy,
    deliver, ledger_payload_schema,
};
pub use notification::{Channel, Notification, TEST_EVENT};
pub use secret::{REDACTED, Secret, SecretError, resolve, scrub};
