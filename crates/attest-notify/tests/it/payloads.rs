//! The exact payload of each channel kind for one notification (`docs/formats/notifications.md`
//! shows the same examples).

use attest_notify::{Notification, payload};
use serde_json::json;

use crate::finding;

#[test]
fn generic_webhook_json() {
    assert_eq!(
        payload::webhook(&finding()),
        json!({
            "schema_version": 1,
            "source": "attest",
            "event": "finding.opened",
            "title": "Root can log in over SSH on web-1",
            "summary": "PermitRootLogin is yes on web-1 <sshd> & must be no.",
            "severity": "high",
            "at": "2026-03-01T10:00:00Z",
            "details": {
                "finding": "F-0007",
                "controls": ["AC-05", "AC-07"],
                "target": "web-1",
                "checks": ["host.ssh.root_login_disabled"],
                "links": [{"title": "Finding F-0007", "url": "https://attest.example.com/findings/F-0007"}]
            }
        })
    );
}

#[test]
fn slack_message_with_blocks() {
    assert_eq!(
        payload::slack(&finding()),
        json!({
            "text": "HIGH finding.opened: Root can log in over SSH on web-1",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "Root can log in over SSH on web-1"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "PermitRootLogin is yes on web-1 &lt;sshd&gt; &amp; must be no."}},
                {"type": "section", "fields": [
                    {"type": "mrkdwn", "text": "*Severity*\nhigh"},
                    {"type": "mrkdwn", "text": "*Event*\nfinding.opened"},
                    {"type": "mrkdwn", "text": "*checks*\nhost.ssh.root_login_disabled"},
                    {"type": "mrkdwn", "text": "*controls*\nAC-05, AC-07"},
                    {"type": "mrkdwn", "text": "*finding*\nF-0007"},
                    {"type": "mrkdwn", "text": "*target*\nweb-1"}
                ]},
                {"type": "section", "text": {"type": "mrkdwn", "text": "<https://attest.example.com/findings/F-0007|Finding F-0007>"}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "Attest · 2026-03-01T10:00:00Z"}]}
            ]
        })
    );
}

#[test]
fn teams_adaptive_card() {
    assert_eq!(
        payload::teams(&finding()),
        json!({
            "type": "message",
            "summary": "HIGH finding.opened: Root can log in over SSH on web-1",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "msteams": {"width": "Full"},
                    "body": [
                        {"type": "TextBlock", "text": "Root can log in over SSH on web-1", "weight": "Bolder", "size": "Medium", "color": "Attention", "wrap": true},
                        {"type": "TextBlock", "text": "PermitRootLogin is yes on web-1 <sshd> & must be no.", "wrap": true},
                        {"type": "FactSet", "facts": [
                            {"title": "Severity", "value": "high"},
                            {"title": "Event", "value": "finding.opened"},
                            {"title": "Time", "value": "2026-03-01T10:00:00Z"},
                            {"title": "checks", "value": "host.ssh.root_login_disabled"},
                            {"title": "controls", "value": "AC-05, AC-07"},
                            {"title": "finding", "value": "F-0007"},
                            {"title": "target", "value": "web-1"}
                        ]}
                    ],
                    "actions": [{"type": "Action.OpenUrl", "title": "Finding F-0007", "url": "https://attest.example.com/findings/F-0007"}]
                }
            }]
        })
    );
}

#[test]
fn email_subject_and_bodies() {
    let n = finding();
    assert_eq!(
        payload::email_subject(&n),
        "[Attest] HIGH finding.opened: Root can log in over SSH on web-1"
    );
    assert_eq!(
        payload::email_text(&n, "soc-mail"),
        "Root can log in over SSH on web-1

PermitRootLogin is yes on web-1 <sshd> & must be no.

Event:    finding.opened
Severity: high
Time:     2026-03-01T10:00:00Z
checks:   host.ssh.root_login_disabled
controls: AC-05, AC-07
finding:  F-0007
target:   web-1

Links:
  Finding F-0007: https://attest.example.com/findings/F-0007

-- \nSent by Attest through notification channel `soc-mail`.
"
    );
    let html = payload::email_html(&n, "soc-mail");
    assert!(
        html.contains("<h2>Root can log in over SSH on web-1</h2>"),
        "{html}"
    );
    assert!(
        html.contains("<p>PermitRootLogin is yes on web-1 &lt;sshd&gt; &amp; must be no.</p>"),
        "{html}"
    );
    assert!(
        html.contains("<tr><th align=\"left\">controls</th><td>AC-05, AC-07</td></tr>"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"https://attest.example.com/findings/F-0007\">Finding F-0007</a>"),
        "{html}"
    );
}

#[test]
fn a_minimal_notification_renders_without_summary_details_or_links() {
    let n = Notification {
        summary: String::new(),
        details: serde_json::Value::Null,
        title: "Line one\nline two".to_owned(),
        ..finding()
    };
    let slack = payload::slack(&n);
    let blocks = slack["blocks"].as_array().unwrap();
    let kinds: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["header", "section", "context"]);
    assert_eq!(blocks[1]["fields"].as_array().unwrap().len(), 2);
    let teams = payload::teams(&n);
    assert!(teams["attachments"][0]["content"].get("actions").is_none());
    assert_eq!(
        payload::email_subject(&n),
        "[Attest] HIGH finding.opened: Line one line two"
    );
}

#[test]
fn long_values_stay_within_slack_limits() {
    let n = Notification {
        title: "t".repeat(400),
        summary: "s".repeat(5000),
        details: serde_json::Value::Object(
            (0..20)
                .map(|i| (format!("k{i:02}"), serde_json::Value::from("v".repeat(900))))
                .collect(),
        ),
        ..finding()
    };
    let slack = payload::slack(&n);
    let blocks = slack["blocks"].as_array().unwrap();
    assert_eq!(
        blocks[0]["text"]["text"].as_str().unwrap().chars().count(),
        150
    );
    assert_eq!(
        blocks[1]["text"]["text"].as_str().unwrap().chars().count(),
        3000
    );
    let fields = blocks[2]["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 10, "Slack takes at most 10 fields");
    assert!(
        fields
            .iter()
            .all(|f| f["text"].as_str().unwrap().chars().count() <= 2000)
    );
}
