//! Pushing one report to the server, and what its answer means for the spool.
//!
//! The wire contract: `POST {server}/api/v1/reports` with `Authorization: Bearer <token>` and
//! a JSON `AgentReport`; 2xx means the server has the report; 5xx, 429, a redirect, a
//! connection error or a time-out mean "later"; 401 and 403 are about the agent's token and
//! host name, which every report shares, so they mean "later" too (the reports wait until the
//! token or the host name is fixed); any other 4xx rejects this report for good.

use std::fmt::{self, Write as _};
use std::time::Duration;

use anyhow::Context as _;

use crate::exit::Failure;

/// Path of the reports endpoint.
const REPORTS_PATH: &str = "/api/v1/reports";
/// Most bytes of an answer's body read and kept.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// An agent token, kept out of every `Debug` and `Display`.
pub(crate) struct Token(String);

impl Token {
    /// A token read from a file's text: surrounding white space trimmed; refused when empty or
    /// when it holds characters an HTTP header cannot carry.
    pub(crate) fn parse(text: &str) -> Result<Self, &'static str> {
        let token = text.trim();
        if token.is_empty() {
            return Err("is empty");
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("holds spaces or characters other than printable ASCII");
        }
        Ok(Token(token.to_owned()))
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The server's reports endpoint and the HTTP client that reaches it.
pub(crate) struct Server {
    endpoint: String,
    client: ureq::Agent,
}

/// How the server answered a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The server has the report (2xx).
    Delivered {
        /// Its run id at the server, if the answer said.
        run_id: Option<i64>,
        /// Whether the server had it already.
        duplicate: bool,
    },
    /// The server will never take this report (4xx other than 401, 403 and 429).
    Rejected {
        /// One line: status, error code, message and field.
        reason: String,
        /// The answer's body as received.
        body: String,
    },
    /// Try again later: the server is unreachable, busy, failing, or refuses the token.
    Later {
        /// One line: why.
        reason: String,
        /// How long the server asked to wait (`Retry-After`, in seconds).
        after: Option<Duration>,
    },
}

impl Server {
    /// Checks the server URL and builds the client. Plain `http://` is accepted only for a
    /// server on this machine unless `allow_insecure_http`, since the token would otherwise
    /// cross the network in clear.
    pub(crate) fn new(
        url: &str,
        allow_insecure_http: bool,
        timeout: Duration,
        ca_pem: Option<&[u8]>,
    ) -> anyhow::Result<Self> {
        let base = url.trim().trim_end_matches('/');
        let bad = || {
            Failure::input(format!(
                "--server `{url}` is not an http(s) URL; write e.g. https://attest.example.com"
            ))
        };
        let uri: ureq::http::Uri = base.parse().map_err(|_| bad())?;
        let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(bad)?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if allow_insecure_http || is_loopback(host) => {}
            Some("http") => {
                return Err(Failure::input(format!(
                    "--server `{base}` is plain http: the agent token would cross the network unencrypted; \
                     use https:// (or pass --allow-insecure-http on a network you trust)"
                )));
            }
            _ => return Err(bad()),
        }
        if uri.query().is_some() {
            return Err(bad());
        }
        let mut config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            // A redirect would take the report (and, to the same host, the token) somewhere
            // not configured: it is answered "later" and logged instead.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("attest-agent/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = ca_pem {
            let certs = ureq::tls::parse_pem(pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(cert)) => Some(Ok(cert)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<Vec<_>, _>>()
                .context("cannot read the --ca-file certificates")?;
            if certs.is_empty() {
                return Err(Failure::input("--ca-file holds no PEM certificate"));
            }
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                    .build(),
            );
        }
        Ok(Server {
            endpoint: format!("{base}{REPORTS_PATH}"),
            client: config.build().into(),
        })
    }

    /// The URL reports are posted to.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Posts one report body and classifies the answer.
    pub(crate) fn push(&self, token: &Token, body: &[u8]) -> Answer {
        let sent = self
            .client
            .post(&self.endpoint)
            .header("Authorization", token.bearer())
            .header("Content-Type", "application/json")
            .send(body);
        let mut response = match sent {
            Ok(response) => response,
            Err(err) => {
                return Answer::Later {
                    reason: transport_error(&err),
                    after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .unwrap_or_default();
        classify(status, &text, after, location.as_deref())
    }
}

/// What an answer of `status` with body `text` means.
pub(crate) fn classify(
    status: u16,
    text: &str,
    after: Option<Duration>,
    location: Option<&str>,
) -> Answer {
    let json: Option<serde_json::Value> = serde_json::from_str(text).ok();
    if (200..300).contains(&status) {
        return Answer::Delivered {
            run_id: json.as_ref().and_then(|j| j["run_id"].as_i64()),
            duplicate: json
                .as_ref()
                .and_then(|j| j["duplicate"].as_bool())
                .unwrap_or(status == 200),
        };
    }
    let reason = describe(status, text, json.as_ref());
    match status {
        300..=399 => Answer::Later {
            reason: format!(
                "{reason}; the server redirects{} — point --server at the server itself",
                location.map(|l| format!(" to {l}")).unwrap_or_default()
            ),
            after: None,
        },
        401 => Answer::Later {
            reason: format!(
                "{reason}; the server does not accept the token: check --token-file (`attest hosts add` or a token rotation on the server gives a new one)"
            ),
            after: None,
        },
        403 => Answer::Later {
            reason: format!(
                "{reason}; the token belongs to another host: register this host's name on the server, or pass --host with the name the token was issued to"
            ),
            after: None,
        },
        429 | 500..=599 => Answer::Later { reason, after },
        _ => Answer::Rejected {
            reason,
            body: text.to_owned(),
        },
    }
}

/// `HTTP 422 Unprocessable Entity: unknown-check: message (field `results[3].check`)`, from the
/// server's error body, or its first line when it is not one.
fn describe(status: u16, text: &str, json: Option<&serde_json::Value>) -> String {
    let mut out = format!("HTTP {status}");
    if let Some(reason) = ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        out.push(' ');
        out.push_str(reason);
    }
    let error = json.map(|j| &j["error"]);
    match error.and_then(|e| e["message"].as_str()) {
        Some(message) => {
            if let Some(code) = error.and_then(|e| e["code"].as_str()) {
                out.push_str(": ");
                out.push_str(&one_line(code));
            }
            out.push_str(": ");
            out.push_str(&one_line(message));
            if let Some(field) = error.and_then(|e| e["field"].as_str()) {
                let _ = write!(out, " (field `{}`)", one_line(field));
            }
        }
        None if !text.trim().is_empty() => {
            out.push_str(": ");
            out.push_str(&one_line(text));
        }
        None => {}
    }
    out
}

/// `text` on one line, at most 300 characters.
fn one_line(text: &str) -> String {
    let flat: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    flat
}

/// Whether `host` is this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One line about a request that got no answer.
fn transport_error(err: &ureq::Error) -> String {
    match err {
        ureq::Error::Timeout(what) => format!("no answer from the server in time ({what})"),
        ureq::Error::HostNotFound => "the server's host name was not found".to_owned(),
        ureq::Error::ConnectionFailed => "cannot connect to the server".to_owned(),
        ureq::Error::Io(io) => format!("cannot reach the server: {io}"),
        other => format!("cannot reach the server: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_as_the_contract_says() {
        assert_eq!(
            classify(
                201,
                r#"{"report_id":"x","run_id":7,"duplicate":false}"#,
                None,
                None
            ),
            Answer::Delivered {
                run_id: Some(7),
                duplicate: false
            }
        );
        assert!(matches!(
            classify(200, r#"{"run_id":7,"duplicate":true}"#, None, None),
            Answer::Delivered {
                duplicate: true,
                ..
            }
        ));
        let body = r#"{"error":{"code":"unknown-check","message":"no check `x`","field":"results[3].check"}}"#;
        assert_eq!(
            classify(422, body, None, None),
            Answer::Rejected {
                reason: "HTTP 422 Unprocessable Entity: unknown-check: no check `x` (field `results[3].check`)".into(),
                body: body.into()
            }
        );
        for status in [400, 409, 413, 415] {
            assert!(
                matches!(classify(status, "", None, None), Answer::Rejected { .. }),
                "{status}"
            );
        }
        for status in [301, 401, 403, 429, 500, 502, 503] {
            assert!(
                matches!(classify(status, "", None, None), Answer::Later { .. }),
                "{status}"
            );
        }
        assert_eq!(
            classify(503, "busy\nnow", Some(Duration::from_secs(5)), None),
            Answer::Later {
                reason: "HTTP 503 Service Unavailable: busy now".into(),
                after: Some(Duration::from_secs(5))
            }
        );
    }

    #[test]
    fn tokens_are_trimmed_checked_and_never_shown() {
        let token = Token::parse("  atk_0123abcd\n").unwrap();
        assert_eq!(token.bearer(), "Bearer atk_0123abcd");
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        assert_eq!(Token::parse(" \n").unwrap_err(), "is empty");
        assert!(Token::parse("atk_1 2").is_err());
        assert!(Token::parse("atk_1\r\nX-Evil: 1").is_err());
    }

    #[test]
    fn plain_http_is_for_this_machine_only() {
        let t = Duration::from_secs(1);
        for ok in [
            "https://attest.example.com",
            "https://attest.example.com/base/",
            "http://127.0.0.1:8080",
            "http://localhost:8080/",
            "http://[::1]:8080",
        ] {
            assert!(Server::new(ok, false, t, None).is_ok(), "{ok}");
        }
        assert_eq!(
            Server::new("https://attest.example.com/base/", false, t, None)
                .unwrap()
                .endpoint(),
            "https://attest.example.com/base/api/v1/reports"
        );
        let err = Server::new("http://attest.example.com", false, t, None)
            .err()
            .unwrap();
        assert!(err.to_string().contains("unencrypted"), "{err}");
        assert!(Server::new("http://attest.example.com", true, t, None).is_ok());
        for bad in [
            "attest.example.com",
            "ftp://x",
            "https://",
            "https://x/?a=1",
        ] {
            assert!(Server::new(bad, false, t, None).is_err(), "{bad}");
        }
    }
}
