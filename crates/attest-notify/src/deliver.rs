//! Delivering a notification to a channel, with retries, and the record of the delivery.

use std::time::Duration;

use attest_model::{ChannelKind, NotifyTarget, SecretSource, Severity, SmtpConfig, SmtpSecurity};
use jiff::Timestamp;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport as _};
use schemars::JsonSchema;
use serde::Serialize;

use crate::secret::{Secret, resolve, scrub};
use crate::{Channel, Notification, payload};

/// Ledger entry kind of a notification that reached its channel.
pub const LEDGER_DELIVERED: &str = "notification.delivered";
/// Ledger entry kind of a notification that did not.
pub const LEDGER_FAILED: &str = "notification.failed";
/// Version of the ledger payload of a delivery.
pub const LEDGER_SCHEMA_VERSION: u32 = 1;

/// How often and how patiently a delivery is tried.
///
/// A failure worth retrying (a connection error, a time-out, HTTP 429 or 5xx, an SMTP 4xx
/// reply) is tried again after `base_delay`, then twice that, and so on up to `max_delay`
/// (HTTP 429's `Retry-After`, in seconds, is honoured up to `max_delay`), until `attempts`
/// attempts were made. Any other failure (HTTP 4xx, an SMTP 5xx reply, a TLS error, a missing
/// secret) ends the delivery at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, at least 1.
    pub attempts: u32,
    /// Wait before the second attempt; doubles before each later one.
    pub base_delay: Duration,
    /// Longest wait between two attempts.
    pub max_delay: Duration,
    /// Longest time one attempt may take, connection included.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 2 s then 4 s then 8 s apart (at most 60 s), 15 s each.
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
            timeout: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt` (the first attempt, 1, has none).
    pub fn delay_before(&self, attempt: u32) -> Duration {
        if attempt <= 1 {
            return Duration::ZERO;
        }
        let doublings = attempt.saturating_sub(2).min(31);
        self.base_delay
            .saturating_mul(1_u32 << doublings)
            .min(self.max_delay)
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The channel accepted the notification (HTTP 2xx, or the SMTP server took the message).
    Delivered,
    /// It did not.
    Failed {
        /// Why, free of secrets: e.g. `HTTP 404 Not Found from hooks.slack.com: no_service`.
        reason: String,
    },
}

/// The record of one notification sent (or not) to one channel; the caller appends it to
/// the ledger as [`Delivery::ledger_kind`] with [`Delivery::ledger_payload`].
///
/// It holds no secret: a webhook's destination is the host of its URL only (the path and
/// query of Slack and Teams webhook URLs are the secret), and every reason is scrubbed of the
/// channel's secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Delivery {
    /// The channel's name.
    pub channel: String,
    /// The channel's kind.
    pub kind: ChannelKind,
    /// Where it went: a webhook URL's host, or an SMTP server's `host:port`; `null` when the
    /// webhook URL could not be read.
    pub destination: Option<String>,
    /// E-mail recipients (empty for webhooks).
    pub recipients: Vec<String>,
    /// The notification's event.
    pub event: String,
    /// The notification's title.
    pub title: String,
    /// The notification's severity.
    pub severity: Severity,
    /// Attempts made; 0 when the channel could not be tried at all (e.g. its secret is
    /// missing).
    pub attempts: u32,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// When it ended.
    pub at: Timestamp,
}

/// The ledger payload of a delivery: the delivery with a `schema_version`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(
    title = "Attest notification delivery",
    description = "Payload of the notification.delivered and notification.failed ledger entries"
)]
struct LedgerPayload {
    /// Version of this payload (1).
    schema_version: u32,
    #[serde(flatten)]
    delivery: Delivery,
}

impl Delivery {
    /// Whether the channel accepted the notification.
    pub fn is_delivered(&self) -> bool {
        self.outcome == Outcome::Delivered
    }

    /// The ledger entry kind: [`LEDGER_DELIVERED`] or [`LEDGER_FAILED`].
    pub fn ledger_kind(&self) -> &'static str {
        if self.is_delivered() {
            LEDGER_DELIVERED
        } else {
            LEDGER_FAILED
        }
    }

    /// The ledger payload (`schemas/notification-delivery.schema.json`): every field of the
    /// delivery, `status` (`delivered` or `failed`), `reason` when failed, and
    /// `schema_version`. It contains no secret.
    pub fn ledger_payload(&self) -> serde_json::Value {
        serde_json::to_value(LedgerPayload {
            schema_version: LEDGER_SCHEMA_VERSION,
            delivery: self.clone(),
        })
        .unwrap_or(serde_json::Value::Null)
    }
}

/// The JSON Schema of [`Delivery::ledger_payload`].
pub fn ledger_payload_schema() -> serde_json::Value {
    schemars::schema_for!(LedgerPayload).to_value()
}

/// Why one attempt failed.
enum AttemptError {
    /// Worth another attempt, after at least `after` if the server said so.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Not worth another attempt.
    Fatal(String),
}

impl AttemptError {
    fn retry(reason: impl Into<String>) -> Self {
        AttemptError::Retry {
            reason: reason.into(),
            after: None,
        }
    }
}

/// A message ready to send, with the secret it needs.
enum Prepared {
    Http {
        url: Secret,
        host: String,
        body: Vec<u8>,
    },
    Smtp {
        transport_config: Box<SmtpConfig>,
        password: Option<Secret>,
        message: Box<Message>,
        ca: Option<Vec<u8>>,
    },
}

impl Prepared {
    fn secrets(&self) -> Vec<&Secret> {
        match self {
            Prepared::Http { url, .. } => vec![url],
            Prepared::Smtp { password, .. } => password.iter().collect(),
        }
    }

    fn send(&self, timeout: Duration) -> Result<(), AttemptError> {
        match self {
            Prepared::Http { url, host, body } => post_json(url, host, body, timeout),
            Prepared::Smtp {
                transport_config,
                password,
                message,
                ca,
            } => send_mail(
                transport_config,
                password.as_ref(),
                message,
                ca.as_deref(),
                timeout,
            ),
        }
    }
}

/// Sends `notification` to `channel`, retrying as `policy` says, and records how it went.
///
/// Never fails and never panics: every problem, from a missing secret to a server that keeps
/// answering 503, is a [`Outcome::Failed`] with a reason free of secrets. Blocks for the
/// attempts and the waits between them. The channel's filters are not consulted: check
/// [`Channel::wants`] first.
pub fn deliver(channel: &Channel, notification: &Notification, policy: &RetryPolicy) -> Delivery {
    let config = channel.config();
    let (destination, recipients) = match &config.target {
        NotifyTarget::Email(smtp) => (
            Some(format!("{}:{}", smtp.host, smtp.port)),
            smtp.to.clone(),
        ),
        _ => (None, Vec::new()),
    };
    let mut delivery = Delivery {
        channel: config.name.clone(),
        kind: config.kind(),
        destination,
        recipients,
        event: notification.event.clone(),
        title: notification.title.clone(),
        severity: notification.severity,
        attempts: 0,
        outcome: Outcome::Delivered,
        at: Timestamp::now(),
    };
    let prepared = match prepare(channel, notification) {
        Ok(prepared) => prepared,
        Err(reason) => {
            delivery.outcome = Outcome::Failed { reason };
            delivery.at = Timestamp::now();
            return delivery;
        }
    };
    if let Prepared::Http { host, .. } = &prepared {
        delivery.destination = Some(host.clone());
    }
    let secrets = prepared.secrets();
    let attempts = policy.attempts.max(1);
    for attempt in 1..=attempts {
        delivery.attempts = attempt;
        let error = match prepared.send(policy.timeout) {
            Ok(()) => {
                delivery.outcome = Outcome::Delivered;
                break;
            }
            Err(error) => error,
        };
        match error {
            AttemptError::Fatal(reason) => {
                delivery.outcome = Outcome::Failed {
                    reason: scrub(&reason, &secrets),
                };
                break;
            }
            AttemptError::Retry { reason, after } => {
                let reason = scrub(&reason, &secrets);
                if attempt == attempts {
                    let tries = if attempts == 1 { "attempt" } else { "attempts" };
                    delivery.outcome = Outcome::Failed {
                        reason: format!("{reason} (gave up after {attempts} {tries})"),
                    };
                    break;
                }
                let wait = policy
                    .delay_before(attempt.saturating_add(1))
                    .max(after.unwrap_or_default().min(policy.max_delay));
                tracing::warn!(
                    channel = %config.name,
                    attempt,
                    reason = %reason,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "notification not delivered yet; retrying"
                );
                std::thread::sleep(wait);
            }
        }
    }
    delivery.at = Timestamp::now();
    delivery
}

/// Reads the channel's secret and builds what is sent; a reason free of secrets otherwise.
fn prepare(channel: &Channel, notification: &Notification) -> Result<Prepared, String> {
    let (source, body) = match &channel.config().target {
        NotifyTarget::Webhook(source) => (source, payload::webhook(notification)),
        NotifyTarget::Slack(source) => (source, payload::slack(notification)),
        NotifyTarget::Teams(source) => (source, payload::teams(notification)),
        NotifyTarget::Email(smtp) => return prepare_mail(channel.name(), smtp, notification),
    };
    let url = resolve(source).map_err(|e| format!("no webhook URL: {e}"))?;
    let host = webhook_host(&url, source)?;
    let body = serde_json::to_vec(&body).map_err(|e| format!("cannot encode the payload: {e}"))?;
    Ok(Prepared::Http { url, host, body })
}

/// The host of a webhook URL, after checking that it is an http(s) URL; the error names
/// where the URL came from, never the URL.
fn webhook_host(url: &Secret, source: &SecretSource) -> Result<String, String> {
    let not_a_url = || format!("the webhook URL in {source} is not an http(s) URL");
    let uri: ureq::http::Uri = url.expose().parse().map_err(|_| not_a_url())?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(not_a_url());
    }
    uri.host()
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .ok_or_else(not_a_url)
}

fn post_json(url: &Secret, host: &str, body: &[u8], timeout: Duration) -> Result<(), AttemptError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        // A webhook that redirects is misconfigured; following it would send the
        // notification somewhere not configured.
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(concat!("attest/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let response = agent
        .post(url.expose())
        .header("Content-Type", "application/json")
        .send(body);
    let mut response = match response {
        Ok(response) => response,
        Err(err) => return Err(http_error(&err, host, timeout)),
    };
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response
        .body_mut()
        .with_config()
        .limit(4096)
        .read_to_string()
        .unwrap_or_default();
    let text = text.trim();
    let mut reason = format!(
        "HTTP {} {} from {host}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .replace("  ", " ");
    if !text.is_empty() {
        let short: String = text.chars().take(200).collect();
        reason.push_str(": ");
        reason.push_str(&short.replace(['\r', '\n'], " "));
    }
    if status.as_u16() == 429 || status.is_server_error() {
        let after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Err(AttemptError::Retry { reason, after })
    } else {
        Err(AttemptError::Fatal(reason))
    }
}

fn http_error(err: &ureq::Error, host: &str, timeout: Duration) -> AttemptError {
    match err {
        ureq::Error::Timeout(_) => AttemptError::retry(format!(
            "no answer from {host} within {:.1} s",
            timeout.as_secs_f64()
        )),
        ureq::Error::Io(io) if is_tls_error(io) => {
            AttemptError::Fatal(format!("TLS error with {host}: {io}"))
        }
        ureq::Error::Io(io) => {
            AttemptError::retry(format!("connection to {host} failed: {}", io.kind()))
        }
        ureq::Error::HostNotFound => AttemptError::retry(format!("host {host} not found")),
        ureq::Error::ConnectionFailed => {
            AttemptError::retry(format!("connection to {host} failed"))
        }
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
            AttemptError::Fatal("the webhook URL is not a valid URL".to_owned())
        }
        ureq::Error::Tls(e) => AttemptError::Fatal(format!("TLS error with {host}: {e}")),
        ureq::Error::Rustls(e) => AttemptError::Fatal(format!("TLS error with {host}: {e}")),
        // Other errors are not about the connection; their messages are scrubbed by the caller.
        other => AttemptError::Fatal(format!("request to {host} failed: {other}")),
    }
}

fn prepare_mail(
    channel: &str,
    smtp: &SmtpConfig,
    notification: &Notification,
) -> Result<Prepared, String> {
    let password = match &smtp.password {
        Some(source) => Some(resolve(source).map_err(|e| format!("no SMTP password: {e}"))?),
        None => None,
    };
    let ca = match &smtp.ca_file {
        Some(path) => Some(
            fs_err::read(path)
                .map_err(|e| format!("cannot read `ca_file` {}: {}", path.display(), e.kind()))?,
        ),
        None => None,
    };
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|e| format!("invalid `from` address `{}`: {e}", smtp.from))?;
    let mut builder = Message::builder()
        .from(from)
        .subject(payload::email_subject(notification));
    for to in &smtp.to {
        let mailbox: Mailbox = to
            .parse()
            .map_err(|e| format!("invalid `to` address `{to}`: {e}"))?;
        builder = builder.to(mailbox);
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(
            payload::email_text(notification, channel),
            payload::email_html(notification, channel),
        ))
        .map_err(|e| format!("cannot build the e-mail: {e}"))?;
    Ok(Prepared::Smtp {
        transport_config: Box::new(smtp.clone()),
        password,
        message: Box::new(message),
        ca,
    })
}

fn send_mail(
    smtp: &SmtpConfig,
    password: Option<&Secret>,
    message: &Message,
    ca: Option<&[u8]>,
    timeout: Duration,
) -> Result<(), AttemptError> {
    let server = format!("{}:{}", smtp.host, smtp.port);
    let tls = || -> Result<TlsParameters, AttemptError> {
        let mut builder = TlsParameters::builder(smtp.host.clone());
        if let Some(pem) = ca {
            let certificate = Certificate::from_pem(pem).map_err(|e| {
                AttemptError::Fatal(format!("`ca_file` is not a PEM certificate: {e}"))
            })?;
            builder = builder.add_root_certificate(certificate);
        }
        builder
            .build_rustls()
            .map_err(|e| AttemptError::Fatal(format!("TLS set-up failed: {e}")))
    };
    let mut builder = SmtpTransport::builder_dangerous(smtp.host.clone())
        .port(smtp.port)
        .timeout(Some(timeout));
    builder = match smtp.security {
        SmtpSecurity::None => builder.tls(Tls::None),
        SmtpSecurity::Starttls => builder.tls(Tls::Required(tls()?)),
        SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
    };
    if let (Some(user), Some(password)) = (&smtp.username, password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    match builder.build().send(message) {
        Ok(_) => Ok(()),
        Err(err) => {
            let reason = format!("SMTP delivery through {server} failed: {err}");
            if err.is_permanent() || err.is_tls() || err.is_client() || is_tls_error(&err) {
                Err(AttemptError::Fatal(reason))
            } else {
                Err(AttemptError::retry(reason))
            }
        }
    }
}

/// Whether `err` or an error it wraps is a TLS failure (an untrusted certificate, a failed
/// handshake): a configuration problem that another attempt will not fix. Libraries report
/// some of these as I/O errors.
fn is_tls_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if err.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(<dyn std::error::Error + Send + Sync>::is::<rustls::Error>)
        {
            return true;
        }
        next = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            timeout: Duration::from_secs(1),
        };
        let delays: Vec<u128> = (1..=6)
            .map(|a| policy.delay_before(a).as_millis())
            .collect();
        assert_eq!(delays, [0, 100, 200, 400, 500, 500]);
        assert_eq!(policy.delay_before(u32::MAX), Duration::from_millis(500));
    }
}
