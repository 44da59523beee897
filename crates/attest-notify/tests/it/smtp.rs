//! E-mail deliveries received by a real SMTP server on 127.0.0.1: plain text with
//! authentication, STARTTLS and implicit TLS with a private CA, and the failures that must
//! not be retried or downgraded.

use attest_model::{NotifyTarget, SecretSource, SmtpConfig, SmtpSecurity};
use attest_notify::testing::{ReceivedMail, SmtpServer, SmtpTls, TestCertificate};
use attest_notify::{Delivery, Outcome, deliver};

use crate::{channel, finding, quick, secret_file};

const PASSWORD: &str = "s3cret-SMTP-passw0rd";

fn smtp(port: u16, security: SmtpSecurity) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port,
        security,
        username: None,
        password: None,
        from: "Attest <attest@example.com>".to_owned(),
        to: vec![
            "security@example.com".to_owned(),
            "Ops <ops@example.com>".to_owned(),
        ],
        ca_file: None,
    }
}

/// Sends the finding through `server` with `config`, expects it delivered, and returns the
/// one message the server received, checked to be the finding.
fn delivered(server: &SmtpServer, config: SmtpConfig) -> ReceivedMail {
    let delivery = send(config);
    assert_eq!(delivery.outcome, Outcome::Delivered, "{delivery:?}");
    assert_eq!(delivery.attempts, 1);
    let mut mail = server.mail();
    assert_eq!(mail.len(), 1);
    assert_is_the_finding(&mail[0]);
    mail.remove(0)
}

fn send(config: SmtpConfig) -> Delivery {
    deliver(
        &channel("soc-mail", NotifyTarget::Email(config)),
        &finding(),
        &quick(2),
    )
}

/// The message has the right envelope, headers, and both bodies.
fn assert_is_the_finding(mail: &ReceivedMail) {
    assert_eq!(mail.from, "attest@example.com");
    assert_eq!(mail.to, ["security@example.com", "ops@example.com"]);
    let data = &mail.data;
    for header in [
        "From: Attest <attest@example.com>\r\n",
        "To: security@example.com, Ops <ops@example.com>\r\n",
        "Subject: [Attest] HIGH finding.opened: Root can log in over SSH on web-1\r\n",
        "Content-Type: multipart/alternative;",
        "Content-Type: text/plain; charset=utf-8\r\n",
        "Content-Type: text/html; charset=utf-8\r\n",
    ] {
        assert!(data.contains(header), "no {header:?} in\n{data}");
    }
    for line in [
        "Root can log in over SSH on web-1\r\n",
        "PermitRootLogin is yes on web-1 <sshd> & must be no.\r\n",
        "Severity: high\r\n",
        "finding:  F-0007\r\n",
        "controls: AC-05, AC-07\r\n",
        "Sent by Attest through notification channel `soc-mail`.",
        // The HTML alternative, escaped.
        "&lt;sshd&gt; &amp; must be no.",
    ] {
        assert!(data.contains(line), "no {line:?} in\n{data}");
    }
}

#[test]
fn plain_smtp_with_authentication_delivers_the_message() {
    let server = SmtpServer::start(&SmtpTls::None, Some(("attest", PASSWORD))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = smtp(server.port(), SmtpSecurity::None);
    config.username = Some("attest".to_owned());
    config.password = Some(secret_file(dir.path(), "password", PASSWORD));
    let delivery = send(config);
    assert_eq!(delivery.outcome, Outcome::Delivered, "{delivery:?}");
    assert_eq!(delivery.attempts, 1);
    assert_eq!(
        delivery.destination,
        Some(format!("127.0.0.1:{}", server.port()))
    );
    assert_eq!(
        delivery.recipients,
        ["security@example.com", "Ops <ops@example.com>"]
    );
    let mail = server.mail();
    assert_eq!(mail.len(), 1);
    assert_is_the_finding(&mail[0]);
    assert_eq!(mail[0].user.as_deref(), Some("attest"));
    assert!(!mail[0].tls);
}

#[test]
fn starttls_upgrades_before_sending_and_trusts_the_configured_ca() {
    let cert = TestCertificate::localhost().unwrap();
    let server = SmtpServer::start(&SmtpTls::StartTls(&cert), Some(("attest", PASSWORD))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    fs_err::write(&ca, cert.ca_pem()).unwrap();
    let mut config = smtp(server.port(), SmtpSecurity::Starttls);
    config.username = Some("attest".to_owned());
    config.password = Some(secret_file(dir.path(), "password", PASSWORD));
    config.ca_file = Some(ca);
    let mail = delivered(&server, config);
    assert!(mail.tls, "the message was sent after STARTTLS");
    assert_eq!(mail.user.as_deref(), Some("attest"));
}

#[test]
fn implicit_tls_delivers_the_message() {
    let cert = TestCertificate::localhost().unwrap();
    let server = SmtpServer::start(&SmtpTls::Implicit(&cert), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    fs_err::write(&ca, cert.ca_pem()).unwrap();
    let mut config = smtp(server.port(), SmtpSecurity::Tls);
    config.ca_file = Some(ca);
    let mail = delivered(&server, config);
    assert!(mail.tls);
    assert_eq!(mail.user, None);
}

fn failure(delivery: &Delivery) -> &str {
    match &delivery.outcome {
        Outcome::Failed { reason } => reason,
        Outcome::Delivered => panic!("expected a failure: {delivery:?}"),
    }
}

#[test]
fn starttls_is_never_downgraded_to_plain_text() {
    let server = SmtpServer::start(&SmtpTls::None, None).unwrap();
    let delivery = send(smtp(server.port(), SmtpSecurity::Starttls));
    assert_eq!(delivery.attempts, 1, "not retried: {delivery:?}");
    assert!(server.mail().is_empty());
    assert!(failure(&delivery).contains("STARTTLS"), "{delivery:?}");
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let cert = TestCertificate::localhost().unwrap();
    let server = SmtpServer::start(&SmtpTls::Implicit(&cert), None).unwrap();
    let delivery = send(smtp(server.port(), SmtpSecurity::Tls));
    assert_eq!(delivery.attempts, 1, "not retried: {delivery:?}");
    assert!(server.mail().is_empty());
    let reason = failure(&delivery);
    assert!(
        reason.starts_with(&format!(
            "SMTP delivery through 127.0.0.1:{} failed",
            server.port()
        )),
        "{reason}"
    );
    assert!(reason.contains("UnknownIssuer"), "{reason}");
}

#[test]
fn rejected_credentials_fail_at_once_without_the_password() {
    let server = SmtpServer::start(&SmtpTls::None, Some(("attest", "another-password"))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = smtp(server.port(), SmtpSecurity::None);
    config.username = Some("attest".to_owned());
    config.password = Some(secret_file(dir.path(), "password", PASSWORD));
    let delivery = send(config);
    assert_eq!(delivery.attempts, 1, "a 535 is permanent: {delivery:?}");
    let reason = failure(&delivery);
    assert!(reason.contains("535"), "{reason}");
    assert!(!format!("{delivery:?}").contains(PASSWORD));
    assert!(!delivery.ledger_payload().to_string().contains(PASSWORD));
    assert!(server.mail().is_empty());
}

#[test]
fn a_missing_password_or_a_bad_address_is_not_attempted() {
    let server = SmtpServer::start(&SmtpTls::None, None).unwrap();
    let mut config = smtp(server.port(), SmtpSecurity::None);
    config.username = Some("attest".to_owned());
    config.password = Some(SecretSource::Env(
        "ATTEST_NOTIFY_IT_PASSWORD_NEVER_SET".to_owned(),
    ));
    let delivery = send(config);
    assert_eq!(delivery.attempts, 0);
    assert_eq!(
        failure(&delivery),
        "no SMTP password: environment variable `ATTEST_NOTIFY_IT_PASSWORD_NEVER_SET` is not set"
    );

    let mut config = smtp(server.port(), SmtpSecurity::None);
    config.to = vec!["not an address@".to_owned()];
    let delivery = send(config);
    assert_eq!(delivery.attempts, 0);
    assert!(
        failure(&delivery).starts_with("invalid `to` address `not an address@`"),
        "{delivery:?}"
    );
    assert!(server.mail().is_empty());
}
