//! What each kind of channel receives: the generic webhook's documented JSON, a Slack
//! message, a Microsoft Teams Adaptive Card, and an e-mail's subject and bodies.
//!
//! Formats are specified in `docs/formats/notifications.md`; the generic JSON has a committed
//! schema (`schemas/notification.schema.json`).

use std::fmt::Write as _;

use attest_model::Severity;
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

use crate::Notification;

/// Version of the generic webhook payload; raised on any change that is not an addition.
pub const SCHEMA_VERSION: u32 = 1;

/// Slack caps a header at 150 characters.
const SLACK_HEADER_MAX: usize = 150;
/// Slack caps a section's text at 3000 characters.
const SLACK_TEXT_MAX: usize = 3000;
/// Slack takes at most 10 fields in a section; two are the severity and the event.
const DETAIL_FIELDS_MAX: usize = 8;
/// Length of one detail value in a message.
const DETAIL_VALUE_MAX: usize = 500;
/// Links rendered in a message.
const LINKS_MAX: usize = 5;

/// The body of a generic webhook request (`kind = "webhook"`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(
    title = "Attest notification",
    description = "The JSON body Attest POSTs to a generic webhook"
)]
pub struct WebhookPayload {
    /// Version of this format (1).
    pub schema_version: u32,
    /// Always `attest`.
    pub source: String,
    /// What happened, e.g. `finding.opened`, `finding.fixed`, `finding.overdue`,
    /// `finding.closed`, `drift`, `monitor.failed`, or `notify.test`.
    pub event: String,
    /// One line.
    pub title: String,
    /// A few sentences.
    pub summary: String,
    /// How much it matters.
    pub severity: Severity,
    /// When it happened (RFC 3339, UTC).
    pub at: Timestamp,
    /// Structured details: control ids, target, checks, finding id, `links`.
    pub details: Value,
}

impl WebhookPayload {
    /// The payload of `notification`.
    pub fn new(notification: &Notification) -> Self {
        WebhookPayload {
            schema_version: SCHEMA_VERSION,
            source: "attest".to_owned(),
            event: notification.event.clone(),
            title: notification.title.clone(),
            summary: notification.summary.clone(),
            severity: notification.severity,
            at: notification.at,
            details: notification.details.clone(),
        }
    }
}

/// The generic webhook's JSON body for `notification`.
pub fn webhook(notification: &Notification) -> Value {
    serde_json::to_value(WebhookPayload::new(notification)).unwrap_or(Value::Null)
}

/// A Slack incoming-webhook message: `text` (the fallback shown in notifications) and
/// `blocks` (header, summary, severity, event and details as fields, links, time).
pub fn slack(notification: &Notification) -> Value {
    let n = notification;
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": truncate(&n.title, SLACK_HEADER_MAX) },
    })];
    if !n.summary.trim().is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": truncate(&slack_escape(&n.summary), SLACK_TEXT_MAX) },
        }));
    }
    let mut fields = vec![
        slack_field("Severity", n.severity.as_str()),
        slack_field("Event", &n.event),
    ];
    fields.extend(
        details(&n.details)
            .iter()
            .map(|(key, value)| slack_field(key, value)),
    );
    blocks.push(json!({ "type": "section", "fields": fields }));
    let links = links(&n.details);
    if !links.is_empty() {
        let text: Vec<String> = links
            .iter()
            .map(|(label, url)| format!("<{}|{}>", slack_escape(url), slack_escape(label)))
            .collect();
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": truncate(&text.join(" · "), SLACK_TEXT_MAX) },
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": format!("Attest · {}", rfc3339(n.at)) }],
    }));
    json!({ "text": slack_escape(&fallback_line(n)), "blocks": blocks })
}

fn slack_field(name: &str, value: &str) -> Value {
    json!({
        "type": "mrkdwn",
        "text": format!("*{}*\n{}", slack_escape(name), slack_escape(value)),
    })
}

/// Slack's mrkdwn escapes: `&`, `<` and `>` are control characters there.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Microsoft Teams message with one Adaptive Card (version 1.4), the payload Teams
/// incoming webhooks (Workflows and the older connectors) accept.
pub fn teams(notification: &Notification) -> Value {
    let n = notification;
    let mut facts = vec![
        json!({ "title": "Severity", "value": n.severity.as_str() }),
        json!({ "title": "Event", "value": n.event }),
        json!({ "title": "Time", "value": rfc3339(n.at) }),
    ];
    facts.extend(
        details(&n.details)
            .into_iter()
            .map(|(key, value)| json!({ "title": key, "value": value })),
    );
    let color = match n.severity {
        Severity::Critical | Severity::High => "Attention",
        Severity::Medium => "Warning",
        Severity::Low | Severity::Info => "Default",
    };
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": n.title,
        "weight": "Bolder",
        "size": "Medium",
        "color": color,
        "wrap": true,
    })];
    if !n.summary.trim().is_empty() {
        body.push(json!({ "type": "TextBlock", "text": n.summary, "wrap": true }));
    }
    body.push(json!({ "type": "FactSet", "facts": facts }));
    let actions: Vec<Value> = links(&n.details)
        .into_iter()
        .map(|(label, url)| json!({ "type": "Action.OpenUrl", "title": label, "url": url }))
        .collect();
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": { "width": "Full" },
        "body": body,
    });
    if !actions.is_empty()
        && let Some(card) = card.as_object_mut()
    {
        card.insert("actions".to_owned(), Value::Array(actions));
    }
    json!({
        "type": "message",
        "summary": fallback_line(n),
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

/// The subject of the e-mail for `notification`, e.g. `[Attest] HIGH finding.opened: ...`.
pub fn email_subject(notification: &Notification) -> String {
    one_line(&format!("[Attest] {}", fallback_line(notification)))
}

/// The plain-text body of the e-mail for `notification`, sent through channel `channel`.
pub fn email_text(notification: &Notification, channel: &str) -> String {
    let n = notification;
    let mut out = format!("{}\n\n", n.title);
    if !n.summary.trim().is_empty() {
        let _ = write!(out, "{}\n\n", n.summary.trim());
    }
    let mut rows = vec![
        ("Event".to_owned(), n.event.clone()),
        ("Severity".to_owned(), n.severity.as_str().to_owned()),
        ("Time".to_owned(), rfc3339(n.at)),
    ];
    rows.extend(details(&n.details));
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (key, value) in &rows {
        let pad = width.saturating_sub(key.chars().count());
        let _ = writeln!(out, "{key}:{} {value}", " ".repeat(pad));
    }
    let links = links(&n.details);
    if !links.is_empty() {
        out.push_str("\nLinks:\n");
        for (label, url) in &links {
            let _ = writeln!(out, "  {label}: {url}");
        }
    }
    let _ = write!(
        out,
        "\n-- \nSent by Attest through notification channel `{channel}`.\n"
    );
    out
}

/// The HTML alternative of the e-mail for `notification`: the same content, short.
pub fn email_html(notification: &Notification, channel: &str) -> String {
    let n = notification;
    let mut out = String::from("<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n");
    let _ = writeln!(out, "<h2>{}</h2>", html_escape(&n.title));
    if !n.summary.trim().is_empty() {
        let _ = writeln!(out, "<p>{}</p>", html_escape(n.summary.trim()));
    }
    out.push_str("<table>\n");
    let mut rows = vec![
        ("Event".to_owned(), n.event.clone()),
        ("Severity".to_owned(), n.severity.as_str().to_owned()),
        ("Time".to_owned(), rfc3339(n.at)),
    ];
    rows.extend(details(&n.details));
    for (key, value) in &rows {
        let _ = writeln!(
            out,
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
            html_escape(key),
            html_escape(value)
        );
    }
    out.push_str("</table>\n");
    let links = links(&n.details);
    if !links.is_empty() {
        out.push_str("<p>");
        let items: Vec<String> = links
            .iter()
            .map(|(label, url)| {
                format!(
                    "<a href=\"{}\">{}</a>",
                    html_escape(url),
                    html_escape(label)
                )
            })
            .collect();
        out.push_str(&items.join(" · "));
        out.push_str("</p>\n");
    }
    let _ = write!(
        out,
        "<p style=\"color: #666\">Sent by Attest through notification channel <code>{}</code>.</p>\n</body></html>\n",
        html_escape(channel)
    );
    out
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `HIGH finding.opened: <title>`: the one line for notifications and subjects.
fn fallback_line(n: &Notification) -> String {
    format!(
        "{} {}: {}",
        n.severity.as_str().to_uppercase(),
        n.event,
        n.title
    )
}

/// `text` on one line (line breaks become spaces).
fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn rfc3339(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// At most `max` characters of `text`, with `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The details other than `links`, as `(key, text)` in key order: strings as they are,
/// arrays of scalars joined with `, `, anything else as compact JSON.
fn details(details: &Value) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = match details {
        Value::Object(map) => map
            .iter()
            .filter(|(key, _)| key.as_str() != "links")
            .map(|(key, value)| (key.clone(), value_text(value)))
            .collect(),
        Value::Null => Vec::new(),
        other => vec![("details".to_owned(), value_text(other))],
    };
    // In key order whatever the map's own order (it depends on `serde_json` features).
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
        .into_iter()
        .take(DETAIL_FIELDS_MAX)
        .map(|(key, value)| (truncate(&key, 100), truncate(&value, DETAIL_VALUE_MAX)))
        .collect()
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|v| !v.is_array() && !v.is_object()) => {
            items.iter().map(value_text).collect::<Vec<_>>().join(", ")
        }
        Value::Null => "none".to_owned(),
        other => other.to_string(),
    }
}

/// The `links` of the details as `(label, url)`: an array of URLs or of objects with `url`
/// and `title` (or `label`). Only http(s) URLs are kept.
fn links(details: &Value) -> Vec<(String, String)> {
    let Some(Value::Array(items)) = details.get("links") else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item {
            Value::String(url) => Some((url.clone(), url.clone())),
            Value::Object(map) => {
                let url = map.get("url")?.as_str()?.to_owned();
                let label = map
                    .get("title")
                    .or_else(|| map.get("label"))
                    .and_then(Value::as_str)
                    .map_or_else(|| url.clone(), str::to_owned);
                Some((label, url))
            }
            _ => None,
        })
        .filter(|(_, url)| url.starts_with("https://") || url.starts_with("http://"))
        .take(LINKS_MAX)
        .map(|(label, url)| (truncate(&one_line(&label), 100), url))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_characters() {
        assert_eq!(truncate("ééééé", 3), "éé…");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(one_line("a\r\nb\nc"), "a b c");
    }

    #[test]
    fn details_render_as_text_and_links_are_http_only() {
        let details = json!({
            "controls": ["AC-01", "AC-02"],
            "target": "web-1",
            "count": 3,
            "nested": {"a": 1},
            "links": [
                "https://attest.example.com/f/1",
                {"title": "Runbook", "url": "http://wiki.example.com/r"},
                "javascript:alert(1)",
                {"url": "ftp://x"}
            ]
        });
        assert_eq!(
            super::details(&details),
            vec![
                ("controls".to_owned(), "AC-01, AC-02".to_owned()),
                ("count".to_owned(), "3".to_owned()),
                ("nested".to_owned(), "{\"a\":1}".to_owned()),
                ("target".to_owned(), "web-1".to_owned()),
            ]
        );
        assert_eq!(
            links(&details),
            vec![
                (
                    "https://attest.example.com/f/1".to_owned(),
                    "https://attest.example.com/f/1".to_owned()
                ),
                ("Runbook".to_owned(), "http://wiki.example.com/r".to_owned()),
            ]
        );
    }
}
