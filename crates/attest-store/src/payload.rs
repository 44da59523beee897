//! Canonical JSON payloads of ledger entries (`docs/ledger.md`, "Payloads").
//!
//! A payload is JSON with object keys sorted by their UTF-8 bytes, no insignificant white
//! space, strings escaped as `serde_json` escapes them, integers in decimal. Every store renders
//! payloads with these functions, so the same event always hashes the same.

use std::fmt::Write as _;

use attest_model::{CheckResult, EvidenceRecord};
use serde::Deserialize;

/// Kind of the entry recording one run of a source on a target (the monitoring heartbeat).
pub const SCAN_RUN: &str = "scan.run";
/// Kind of the entry recording a result that opened an interval (new, back, or changed).
pub const RESULT_CHANGED: &str = "result.changed";
/// Kind of the entry recording a series its target's run no longer observed.
pub const RESULT_GONE: &str = "result.gone";
/// Kind of the entry recording manual evidence.
pub const EVIDENCE_ADDED: &str = "evidence.added";
/// Kind of the entry recording a change of the workspace's configuration.
pub const CONFIG_CHANGED: &str = "config.changed";
/// Prefix of the kinds recording a finding's changes (`finding.opened`, `finding.closed`, ...).
pub const FINDING_PREFIX: &str = "finding.";

/// The fields of a `finding.*` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingPayload {
    /// Finding id.
    pub finding: i64,
    /// Who changed it.
    pub by: String,
    /// Free text given with the change.
    pub note: Option<String>,
    /// The finding after the change.
    pub state: attest_model::Finding,
}

/// The canonical `finding.*` payload.
pub fn finding_changed(
    finding: &attest_model::Finding,
    by: &str,
    note: Option<&str>,
) -> Result<String, serde_json::Error> {
    Ok(canonical(&serde_json::json!({
        "finding": finding.id,
        "by": by,
        "note": note,
        "state": serde_json::to_value(finding)?,
    })))
}
/// Kinds of the entries recording changes to users and agent hosts.
pub mod account {
    /// A user was added.
    pub const USER_ADDED: &str = "user.added";
    /// A user's password was changed.
    pub const USER_PASSWORD_CHANGED: &str = "user.password_changed";
    /// A user was disabled.
    pub const USER_DISABLED: &str = "user.disabled";
    /// A user was enabled again.
    pub const USER_ENABLED: &str = "user.enabled";
    /// A host was added.
    pub const HOST_ADDED: &str = "host.added";
    /// A host was given a new token.
    pub const HOST_TOKEN_ROTATED: &str = "host.token_rotated";
    /// A host's token was revoked.
    pub const HOST_REVOKED: &str = "host.revoked";
}

/// The canonical payload of a user or host change: whose account, its role (for users), and
/// who changed it. It never holds a password hash or a token.
pub fn account_changed(name: &str, role: Option<&str>, by: &str) -> String {
    let mut value = serde_json::json!({ "name": name, "by": by });
    if let Some(role) = role {
        value["role"] = serde_json::Value::from(role);
    }
    canonical(&value)
}

/// Kind of the entry recording a drop-in file `attest remediate --apply` wrote.
pub const REMEDIATION_APPLIED: &str = "remediation.applied";

/// The fields of a `scan.run` payload (`S` is `String` when read, `&str` when rendered).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRun<S = String> {
    /// Run id: the entry's own sequence number.
    pub run: i64,
    /// Source of the facts.
    pub source: S,
    /// Target observed.
    pub target: S,
    /// Unix seconds of the observation.
    pub observed_at: i64,
    /// Longest silence (seconds) that still counts as continuous monitoring.
    pub max_gap: i64,
    /// Results observed.
    pub results: u64,
    /// Results that opened an interval (each has a `result.changed` entry).
    pub changed: u64,
    /// Series no longer observed (each has a `result.gone` entry).
    pub gone: u64,
    /// `results - changed`.
    pub unchanged: u64,
}

impl<S: AsRef<str>> ScanRun<S> {
    /// Appends the canonical payload to `out` (allocation-free apart from growing `out`).
    pub fn write(&self, out: &mut String) {
        let _ = write!(
            out,
            "{{\"changed\":{},\"gone\":{},\"max_gap\":{},\"observed_at\":{},\"results\":{},\"run\":{},\"source\":",
            self.changed, self.gone, self.max_gap, self.observed_at, self.results, self.run
        );
        push_json_string(out, self.source.as_ref());
        out.push_str(",\"target\":");
        push_json_string(out, self.target.as_ref());
        let _ = write!(out, ",\"unchanged\":{}}}", self.unchanged);
    }

    /// The canonical payload.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(160);
        self.write(&mut out);
        out
    }
}

/// The fields of a `result.changed` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultChanged {
    /// The run that observed it.
    pub run: i64,
    /// Source of the run.
    pub source: String,
    /// Target of the run.
    pub target: String,
    /// Check id.
    pub check: String,
    /// Resource id.
    pub resource: String,
    /// New status.
    pub status: String,
    /// Severity of the check.
    pub severity: String,
    /// What was found.
    pub message: String,
}

/// The canonical `result.changed` payload of `result` observed by run `run`.
pub fn result_changed(run: i64, source: &str, target: &str, result: &CheckResult) -> String {
    canonical(&serde_json::json!({
        "run": run,
        "source": source,
        "target": target,
        "check": result.check,
        "resource": result.resource,
        "status": result.status.as_str(),
        "severity": result.severity.as_str(),
        "message": result.message,
    }))
}

/// The fields of a `result.gone` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultGone {
    /// The run that no longer observed it.
    pub run: i64,
    /// Source of the run.
    pub source: String,
    /// Target of the run.
    pub target: String,
    /// Check id.
    pub check: String,
    /// Resource id.
    pub resource: String,
}

/// The canonical `result.gone` payload.
pub fn result_gone(run: i64, source: &str, target: &str, check: &str, resource: &str) -> String {
    canonical(&serde_json::json!({
        "run": run,
        "source": source,
        "target": target,
        "check": check,
        "resource": resource,
    }))
}

/// The canonical `evidence.added` payload of `record`.
pub fn evidence_added(record: &EvidenceRecord) -> String {
    canonical(&serde_json::json!({
        "id": record.id,
        "control": record.control,
        "file_name": record.file_name,
        "sha256": record.sha256,
        "size": record.size,
        "note": record.note,
        "effective_date": record.effective_date.to_string(),
        "added_at": record.added_at.to_string(),
        "added_by": record.added_by,
    }))
}

/// `value` as canonical JSON: keys sorted by their UTF-8 bytes at every level, no spaces.
pub fn canonical(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(&mut out, value);
    out
}

fn write_canonical(out: &mut String, value: &serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, key);
                out.push(':');
                if let Some(value) = map.get(key) {
                    write_canonical(out, value);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Appends `text` as a JSON string, escaped as `serde_json` escapes it.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scan_run_payload_has_sorted_keys() {
        let run = ScanRun {
            run: 7,
            source: "host".into(),
            target: "web-1".into(),
            observed_at: 1_767_225_600,
            max_gap: 5400,
            results: 92,
            changed: 2,
            gone: 0,
            unchanged: 90,
        };
        assert_eq!(
            run.render(),
            r#"{"changed":2,"gone":0,"max_gap":5400,"observed_at":1767225600,"results":92,"run":7,"source":"host","target":"web-1","unchanged":90}"#
        );
        let parsed: ScanRun = serde_json::from_str(&run.render()).unwrap();
        assert_eq!(parsed, run);
    }

    #[test]
    fn nested_objects_are_sorted_too() {
        let value = serde_json::json!({"b": {"z": 1, "a": [ {"y": true, "x": null} ]}, "a": "é"});
        assert_eq!(
            canonical(&value),
            r#"{"a":"é","b":{"a":[{"x":null,"y":true}],"z":1}}"#
        );
    }

    proptest! {
        /// The hand-written scan.run renderer is exactly serde_json's canonical output.
        #[test]
        fn scan_run_renders_like_serde_json(source in any::<String>(), target in any::<String>(), run in any::<i64>(), at in any::<i64>(), results in any::<u32>(), changed in any::<u32>()) {
            let payload = ScanRun {
                run,
                source: source.clone(),
                target: target.clone(),
                observed_at: at,
                max_gap: 3600,
                results: u64::from(results),
                changed: u64::from(changed),
                gone: 1,
                unchanged: u64::from(results.saturating_sub(changed)),
            };
            let via_serde = canonical(&serde_json::json!({
                "run": run, "source": source, "target": target, "observed_at": at,
                "max_gap": 3600, "results": results, "changed": changed, "gone": 1,
                "unchanged": results.saturating_sub(changed),
            }));
            prop_assert_eq!(payload.render(), via_serde);
        }
    }
}
