//! Notification channels as configured in `attest.toml` (`[[notify]]`).
//!
//! These are plain configuration values: a channel names where its secret (a webhook URL, an
//! SMTP password) is kept, never the secret itself, which is read only when a notification is
//! delivered.

use std::fmt;
use std::path::PathBuf;

use crate::{Severity, named_enum};

named_enum! {
    /// What a notification channel delivers to.
    pub enum ChannelKind("channel kind") {
        /// A generic webhook: the notification as documented JSON.
        Webhook => "webhook",
        /// A Slack incoming webhook (or a Slack-compatible one).
        Slack => "slack",
        /// A Microsoft Teams incoming webhook (an Adaptive Card).
        Teams => "teams",
        /// E-mail over SMTP.
        Email => "email",
    }
}

named_enum! {
    /// How the connection to an SMTP server is secured.
    pub enum SmtpSecurity("SMTP security") {
        /// Plain text; for a relay on the same host or network only.
        None => "none",
        /// Plain text upgraded with STARTTLS before anything else is sent; fails if the
        /// server does not offer it.
        Starttls => "starttls",
        /// TLS from the first byte (SMTPS, usually port 465).
        Tls => "tls",
    }
}

impl SmtpSecurity {
    /// The usual port for this kind of connection: 25, 587 or 465.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::None => 25,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        }
    }
}

/// The events a notification can be about; a channel's `events` lists some of them.
pub const NOTIFY_EVENTS: &[&str] = &[
    "finding.opened",
    "finding.fixed",
    "finding.overdue",
    "finding.closed",
    "drift",
    "monitor.failed",
];

/// Where a secret is read from when it is needed: the name of the place, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable, by name.
    Env(String),
    /// A file whose content (less surrounding white space) is the secret.
    File(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(name) => write!(f, "environment variable `{name}`"),
            SecretSource::File(path) => write!(f, "file `{}`", path.display()),
        }
    }
}

/// A notification channel from `attest.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// Unique name, used in output, in the ledger and by `attest notify test --channel`.
    pub name: String,
    /// Events the channel receives, from [`NOTIFY_EVENTS`]; empty means every event.
    pub events: Vec<String>,
    /// The least severe notification the channel receives.
    pub min_severity: Severity,
    /// Where notifications go.
    pub target: NotifyTarget,
}

impl NotifyConfig {
    /// The kind of the channel.
    pub fn kind(&self) -> ChannelKind {
        match self.target {
            NotifyTarget::Webhook(_) => ChannelKind::Webhook,
            NotifyTarget::Slack(_) => ChannelKind::Slack,
            NotifyTarget::Teams(_) => ChannelKind::Teams,
            NotifyTarget::Email(_) => ChannelKind::Email,
        }
    }
}

/// Where a channel's notifications go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyTarget {
    /// A generic JSON webhook; the URL is the secret.
    Webhook(SecretSource),
    /// A Slack incoming webhook; the URL is the secret.
    Slack(SecretSource),
    /// A Microsoft Teams incoming webhook; the URL is the secret.
    Teams(SecretSource),
    /// E-mail over SMTP.
    Email(SmtpConfig),
}

/// An SMTP server and the message's sender and recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// Server host name (also the name its TLS certificate must carry).
    pub host: String,
    /// Server port.
    pub port: u16,
    /// How the connection is secured.
    pub security: SmtpSecurity,
    /// User name to authenticate with; without it, no authentication.
    pub username: Option<String>,
    /// Where the password is kept, when authenticating.
    pub password: Option<SecretSource>,
    /// The `From` mailbox, e.g. `Attest <attest@example.com>`.
    pub from: String,
    /// Recipients (at least one).
    pub to: Vec<String>,
    /// PEM file of extra root certificates to trust (a private CA), besides the public ones.
    pub ca_file: Option<PathBuf>,
}
