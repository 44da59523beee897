//! No secret reaches a `Debug` print, a reason, an error or a ledger payload, whatever fails.

use attest_model::NotifyTarget;
use attest_notify::testing::{Reply, WebhookServer};
use attest_notify::{Delivery, LEDGER_DELIVERED, LEDGER_FAILED, REDACTED, deliver, resolve};

use crate::{SECRET_PATH, channel, finding, hook, quick, secret_file};

/// The secret parts of the test URLs: any of them in output is a leak.
const SECRET_PARTS: [&str; 3] = ["T0SECRET1", "B0SECRET2", "q8ZxSECRETtokenY3"];

fn assert_no_secret(delivery: &Delivery) {
    let texts = [
        format!("{delivery:?}"),
        delivery.ledger_payload().to_string(),
        serde_json::to_string(delivery).unwrap(),
    ];
    for text in texts {
        for part in SECRET_PARTS {
            assert!(!text.contains(part), "{part} leaked in {text}");
        }
    }
}

#[test]
fn the_ledger_payload_holds_the_host_only_and_no_secret() {
    let server = WebhookServer::start(&[]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = server.url(&format!("{SECRET_PATH}?token=q8ZxSECRETtokenY3"));
    let source = secret_file(dir.path(), "url", &url);
    let delivery = deliver(
        &channel("security-slack", NotifyTarget::Slack(source)),
        &finding(),
        &quick(1),
    );
    assert_no_secret(&delivery);
    assert_eq!(delivery.ledger_kind(), LEDGER_DELIVERED);
    let mut payload = delivery.ledger_payload();
    assert!(payload["at"].is_string());
    payload["at"] = serde_json::Value::Null;
    assert_eq!(
        payload,
        serde_json::json!({
            "schema_version": 1,
            "channel": "security-slack",
            "kind": "slack",
            "destination": "127.0.0.1",
            "recipients": [],
            "event": "finding.opened",
            "title": "Root can log in over SSH on web-1",
            "severity": "high",
            "attempts": 1,
            "status": "delivered",
            "at": null
        })
    );
}

#[test]
fn a_server_echoing_the_url_cannot_put_it_in_the_record() {
    let (_server, source, _dir) = hook(&[Reply::Echo(404)]);
    let delivery = deliver(
        &channel("hook", NotifyTarget::Teams(source)),
        &finding(),
        &quick(2),
    );
    assert_eq!(delivery.ledger_kind(), LEDGER_FAILED);
    assert_no_secret(&delivery);
    let payload = delivery.ledger_payload();
    assert_eq!(payload["status"], "failed");
    assert_eq!(
        payload["reason"],
        format!(
            "HTTP 404 Not Found from 127.0.0.1: no route for /{REDACTED}/{REDACTED}/{REDACTED}/{REDACTED}"
        )
    );
}

#[test]
fn failures_before_and_during_sending_name_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    // Not a URL, a refused connection, a server error: none may show the URL.
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}{SECRET_PATH}", listener.local_addr().unwrap())
    };
    let server = WebhookServer::start(&[Reply::Status(503)]).unwrap();
    for (i, url) in [
        format!("ftp://example.com{SECRET_PATH}"),
        format!("example.com{SECRET_PATH}"),
        refused,
        server.url(SECRET_PATH),
    ]
    .into_iter()
    .enumerate()
    {
        let source = secret_file(dir.path(), &format!("url{i}"), &url);
        let err_or_secret = format!("{:?}", resolve(&source));
        assert!(err_or_secret.contains(REDACTED), "{err_or_secret}");
        for kind in [
            NotifyTarget::Webhook(source.clone()),
            NotifyTarget::Slack(source),
        ] {
            let delivery = deliver(&channel("hook", kind), &finding(), &quick(2));
            assert!(!delivery.is_delivered());
            assert_no_secret(&delivery);
            assert!(
                !format!("{delivery:?}").contains("/services/"),
                "{delivery:?}"
            );
        }
    }
}
