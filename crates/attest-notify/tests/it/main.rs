//! Deliveries to real servers on the loopback interface: webhooks (with retries, back-off and
//! time-outs), e-mail over SMTP (plain, STARTTLS, implicit TLS), the payload formats, and that
//! no secret reaches a reason, a `Debug` print or a ledger payload.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::missing_panics_doc,
    reason = "tests fail by panicking"
)]

mod payloads;
mod redaction;
mod smtp;
mod webhook;

use std::path::Path;
use std::time::Duration;

use attest_model::{NotifyConfig, NotifyTarget, SecretSource, Severity};
use attest_notify::testing::{Reply, WebhookServer};
use attest_notify::{Channel, Notification, RetryPolicy};
use serde_json::json;

/// The path of the Slack-like webhook URLs the tests use: the part that is the secret.
pub(crate) const SECRET_PATH: &str = "/services/T0SECRET1/B0SECRET2/q8ZxSECRETtokenY3";

/// A finding notification with every kind of detail.
pub(crate) fn finding() -> Notification {
    Notification {
        event: "finding.opened".to_owned(),
        title: "Root can log in over SSH on web-1".to_owned(),
        summary: "PermitRootLogin is yes on web-1 <sshd> & must be no.".to_owned(),
        severity: Severity::High,
        at: "2026-03-01T10:00:00Z".parse().unwrap(),
        details: json!({
            "finding": "F-0007",
            "controls": ["AC-05", "AC-07"],
            "target": "web-1",
            "checks": ["host.ssh.root_login_disabled"],
            "links": [{"title": "Finding F-0007", "url": "https://attest.example.com/findings/F-0007"}],
        }),
    }
}

/// A channel of `target`, receiving everything.
pub(crate) fn channel(name: &str, target: NotifyTarget) -> Channel {
    Channel::new(NotifyConfig {
        name: name.to_owned(),
        events: Vec::new(),
        min_severity: Severity::Info,
        target,
    })
}

/// Writes `secret` to a file in `dir` and returns it as a secret source.
pub(crate) fn secret_file(dir: &Path, name: &str, secret: &str) -> SecretSource {
    let path = dir.join(name);
    fs_err::write(&path, format!("{secret}\n")).unwrap();
    SecretSource::File(path)
}

/// Quick retries, so that tests take milliseconds.
pub(crate) fn quick(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        base_delay: Duration::from_millis(40),
        max_delay: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
    }
}

/// A webhook server answering `replies`, and its URL (with [`SECRET_PATH`]) in a file of a
/// temporary folder, which lives as long as the returned `TempDir`.
pub(crate) fn hook(replies: &[Reply]) -> (WebhookServer, SecretSource, tempfile::TempDir) {
    let server = WebhookServer::start(replies).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = secret_file(dir.path(), "url", &server.url(SECRET_PATH));
    (server, url, dir)
}
