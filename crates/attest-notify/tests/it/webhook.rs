//! Webhook deliveries against a real HTTP server on 127.0.0.1: what arrives, when it is
//! retried, how long it waits, and when it gives up.

use std::time::{Duration, Instant};

use attest_model::{NotifyTarget, SecretSource};
use attest_notify::testing::Reply;
use attest_notify::{Outcome, RetryPolicy, deliver, payload};

use crate::{SECRET_PATH, channel, finding, hook, quick, secret_file};

fn failed_reason(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Failed { reason } => reason,
        Outcome::Delivered => panic!("expected a failure"),
    }
}

#[test]
fn each_kind_posts_its_payload_as_json() {
    let (server, url, _dir) = hook(&[]);
    let kinds = [
        (
            NotifyTarget::Webhook(url.clone()),
            payload::webhook(&finding()),
        ),
        (NotifyTarget::Slack(url.clone()), payload::slack(&finding())),
        (NotifyTarget::Teams(url), payload::teams(&finding())),
    ];
    for (i, (target, expected)) in kinds.into_iter().enumerate() {
        let delivery = deliver(&channel("hook", target), &finding(), &quick(1));
        assert_eq!(delivery.outcome, Outcome::Delivered);
        assert_eq!(delivery.attempts, 1);
        assert_eq!(delivery.destination.as_deref(), Some("127.0.0.1"));
        let request = &server.requests()[i];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, SECRET_PATH);
        assert_eq!(request.content_type.as_deref(), Some("application/json"));
        let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(body, expected);
    }
}

#[test]
fn server_errors_are_retried_with_exponential_backoff_until_delivered() {
    let (server, url, _dir) = hook(&[Reply::Status(503), Reply::Status(502), Reply::Status(200)]);
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(100),
        ..quick(5)
    };
    let started = Instant::now();
    let delivery = deliver(
        &channel("hook", NotifyTarget::Webhook(url)),
        &finding(),
        &policy,
    );
    let elapsed = started.elapsed();
    assert_eq!(delivery.outcome, Outcome::Delivered);
    assert_eq!(delivery.attempts, 3);
    assert_eq!(server.requests().len(), 3);
    // 100 ms before the second attempt, 200 ms before the third.
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn it_gives_up_after_the_last_attempt() {
    let (server, url, _dir) = hook(&[Reply::Status(500)]);
    let delivery = deliver(
        &channel("hook", NotifyTarget::Slack(url)),
        &finding(),
        &quick(3),
    );
    assert_eq!(delivery.attempts, 3);
    assert_eq!(server.requests().len(), 3);
    assert_eq!(
        failed_reason(&delivery.outcome),
        "HTTP 500 Internal Server Error from 127.0.0.1: scripted failure (gave up after 3 attempts)"
    );
}

#[test]
fn client_errors_and_redirects_are_not_retried() {
    for (status, reason) in [
        (400, "HTTP 400 Bad Request from 127.0.0.1: scripted failure"),
        (404, "HTTP 404 Not Found from 127.0.0.1: scripted failure"),
        (302, "HTTP 302 Found from 127.0.0.1: scripted failure"),
    ] {
        let (server, url, _dir) = hook(&[Reply::Status(status)]);
        let delivery = deliver(
            &channel("hook", NotifyTarget::Teams(url)),
            &finding(),
            &quick(4),
        );
        assert_eq!(delivery.attempts, 1, "{status}");
        assert_eq!(server.requests().len(), 1, "{status}");
        assert_eq!(failed_reason(&delivery.outcome), reason);
    }
}

#[test]
fn too_many_requests_waits_as_long_as_the_server_asks() {
    let (server, url, _dir) = hook(&[Reply::RetryAfter(429, 1), Reply::Status(204)]);
    let started = Instant::now();
    let delivery = deliver(
        &channel("hook", NotifyTarget::Webhook(url)),
        &finding(),
        &quick(3),
    );
    let elapsed = started.elapsed();
    assert_eq!(delivery.outcome, Outcome::Delivered);
    assert_eq!(delivery.attempts, 2);
    assert_eq!(server.requests().len(), 2);
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
}

#[test]
fn a_slow_server_times_out_each_attempt() {
    let (server, url, _dir) = hook(&[Reply::Slow(Duration::from_secs(4))]);
    let policy = RetryPolicy {
        timeout: Duration::from_millis(300),
        ..quick(2)
    };
    let started = Instant::now();
    let delivery = deliver(
        &channel("hook", NotifyTarget::Slack(url)),
        &finding(),
        &policy,
    );
    let elapsed = started.elapsed();
    assert_eq!(delivery.attempts, 2);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        failed_reason(&delivery.outcome),
        "no answer from 127.0.0.1 within 0.3 s (gave up after 2 attempts)"
    );
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn a_refused_connection_is_retried() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let url = secret_file(
        dir.path(),
        "url",
        &format!("http://127.0.0.1:{port}{SECRET_PATH}"),
    );
    let delivery = deliver(
        &channel("hook", NotifyTarget::Webhook(url)),
        &finding(),
        &quick(2),
    );
    assert_eq!(delivery.attempts, 2);
    let reason = failed_reason(&delivery.outcome);
    assert!(
        reason.starts_with("connection to 127.0.0.1 failed"),
        "{reason}"
    );
    assert!(reason.ends_with("(gave up after 2 attempts)"), "{reason}");
}

#[test]
fn a_missing_or_malformed_url_is_not_attempted() {
    let variable = "ATTEST_NOTIFY_IT_WEBHOOK_NEVER_SET";
    let delivery = deliver(
        &channel(
            "hook",
            NotifyTarget::Slack(SecretSource::Env(variable.into())),
        ),
        &finding(),
        &quick(3),
    );
    assert_eq!(delivery.attempts, 0);
    assert_eq!(delivery.destination, None);
    assert_eq!(
        failed_reason(&delivery.outcome),
        "no webhook URL: environment variable `ATTEST_NOTIFY_IT_WEBHOOK_NEVER_SET` is not set"
    );

    let dir = tempfile::tempdir().unwrap();
    let source = secret_file(dir.path(), "url", "hooks.example.com/T0SECRET1/q8ZxSECRET");
    let delivery = deliver(
        &channel("hook", NotifyTarget::Webhook(source.clone())),
        &finding(),
        &quick(3),
    );
    assert_eq!(delivery.attempts, 0);
    assert_eq!(
        failed_reason(&delivery.outcome),
        format!("the webhook URL in {source} is not an http(s) URL")
    );
}
