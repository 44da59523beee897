//! `attest notify test` against real servers on 127.0.0.1: every channel gets the test
//! notification, failures exit 1, a bad channel configuration exits 2, and no secret is
//! printed.

use std::fmt::Write as _;

use attest_notify::testing::{Reply, SmtpServer, SmtpTls, WebhookServer};

use crate::{Sandbox, assert_contains_all, stderr};

const SECRET_PATH: &str = "/services/T0CLISECRET/B0CLISECRET/cliSECRETtoken42";

/// A workspace with a generic webhook (URL in an environment variable) and a Slack channel
/// (URL in a file) that only wants critical drift.
fn workspace_with_channels(slack_url: &str) -> Sandbox {
    let sandbox = Sandbox::with_workspace();
    sandbox.write("secrets/slack-url", &format!("{slack_url}\n"));
    let mut config = fs_err::read_to_string(sandbox.path().join("attest.toml")).unwrap();
    config.push_str(
        r#"
[[notify]]
name = "siem"
kind = "webhook"
url_env = "ATTEST_TEST_SIEM_WEBHOOK"

[[notify]]
name = "security-slack"
kind = "slack"
url_file = "secrets/slack-url"
events = ["drift"]
min_severity = "critical"
"#,
    );
    sandbox.write("attest.toml", &config);
    sandbox
}

fn assert_no_secret(output: &std::process::Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(output)
    );
    for part in ["T0CLISECRET", "B0CLISECRET", "cliSECRETtoken42"] {
        assert!(!all.contains(part), "{part} printed:\n{all}");
    }
}

#[test]
fn every_channel_gets_the_test_notification_whatever_its_filters() {
    let server = WebhookServer::start(&[]).unwrap();
    let sandbox = workspace_with_channels(&server.url(SECRET_PATH));
    let output = sandbox
        .attest(&["notify", "test", "--format", "json"])
        .env("ATTEST_TEST_SIEM_WEBHOOK", server.url(SECRET_PATH))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_no_secret(&output);
    let deliveries: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let deliveries = deliveries.as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    for (delivery, (channel, kind)) in deliveries
        .iter()
        .zip([("siem", "webhook"), ("security-slack", "slack")])
    {
        assert_eq!(delivery["channel"], channel);
        assert_eq!(delivery["kind"], kind);
        assert_eq!(delivery["status"], "delivered");
        assert_eq!(delivery["event"], "notify.test");
        assert_eq!(delivery["destination"], "127.0.0.1");
        assert_eq!(delivery["schema_version"], 1);
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let generic: serde_json::Value = serde_json::from_str(&requests[0].body).unwrap();
    assert_eq!(generic["event"], "notify.test");
    assert_eq!(generic["schema_version"], 1);
    let slack: serde_json::Value = serde_json::from_str(&requests[1].body).unwrap();
    assert!(slack["blocks"].is_array(), "{slack}");
    assert!(stderr(&output).contains("test notification: 2 of 2 channel(s) delivered"));

    // One channel by name.
    let output = sandbox
        .attest(&["notify", "test", "--channel", "security-slack"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(server.requests().len(), 3);
    assert_contains_all(
        &String::from_utf8_lossy(&output.stdout),
        &["security-slack", "slack", "127.0.0.1", "delivered"],
    );
}

#[test]
fn a_failed_delivery_exits_1_with_its_reason_and_no_secret() {
    let server = WebhookServer::start(&[Reply::Echo(404)]).unwrap();
    let sandbox = workspace_with_channels(&server.url(SECRET_PATH));
    // The generic webhook's variable is not set; the Slack server answers 404.
    let output = sandbox
        .attest(&["notify", "test", "--format", "json"])
        .env_remove("ATTEST_TEST_SIEM_WEBHOOK")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_no_secret(&output);
    let deliveries: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(deliveries[0]["status"], "failed");
    assert_eq!(deliveries[0]["attempts"], 0);
    assert_eq!(
        deliveries[0]["reason"],
        "no webhook URL: environment variable `ATTEST_TEST_SIEM_WEBHOOK` is not set"
    );
    assert_eq!(deliveries[1]["status"], "failed");
    assert_eq!(deliveries[1]["attempts"], 1, "a 404 is not retried");
    assert!(
        deliveries[1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("HTTP 404 Not Found from 127.0.0.1"),
        "{}",
        deliveries[1]
    );
    assert!(stderr(&output).contains("test notification: 0 of 2 channel(s) delivered"));

    let output = sandbox
        .attest(&["notify", "test", "--channel", "pager"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output)
            .contains("no notification channel `pager`; the channels are: siem, security-slack"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_email_channel_reaches_the_smtp_server() {
    let server = SmtpServer::start(&SmtpTls::None, None).unwrap();
    let sandbox = Sandbox::with_workspace();
    let mut config = fs_err::read_to_string(sandbox.path().join("attest.toml")).unwrap();
    write!(
        config,
        r#"
[[notify]]
name = "soc-mail"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = {}
security = "none"
from = "Attest <attest@example.com>"
to = ["security@example.com"]
"#,
        server.port()
    )
    .unwrap();
    sandbox.write("attest.toml", &config);
    let output = sandbox.attest(&["notify", "test"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let mail = server.mail();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, ["security@example.com"]);
    assert_contains_all(
        &mail[0].data,
        &[
            "Subject: [Attest] INFO notify.test: Test notification from Attest",
            "Sent by Attest through notification channel `soc-mail`.",
        ],
    );
}

#[test]
fn a_bad_channel_configuration_or_none_exits_2() {
    let sandbox = Sandbox::with_workspace();
    let output = sandbox.attest(&["notify", "test"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no notification channel is configured"),
        "{}",
        stderr(&output)
    );

    let mut config = fs_err::read_to_string(sandbox.path().join("attest.toml")).unwrap();
    let line = config.lines().count() + 4;
    config.push_str("\n[[notify]]\nname = \"pager\"\nkind = \"pagerduty\"\n");
    sandbox.write("attest.toml", &config);
    let output = sandbox.attest(&["notify", "test"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_contains_all(
        &stderr(&output),
        &[
            "invalid channel kind: `pagerduty`",
            &format!("attest.toml:{line}:8"),
            "use one of: webhook, slack, teams, email",
        ],
    );
}
