//! Scan results: the documented JSON, SARIF 2.1.0 and JUnit XML.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use attest_model::{CheckMeta, CheckResult, Severity, Status};
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::Serialize;

/// Version of the scan JSON schema.
pub const SCAN_SCHEMA_VERSION: u32 = 1;

/// One result with the controls and criteria it evidences.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ScanResult {
    /// Check id.
    pub check: String,
    /// Resource the result is about.
    pub resource: String,
    /// `pass`, `fail`, `error` or `not_applicable`.
    pub status: Status,
    /// Severity of the check.
    pub severity: Severity,
    /// Controls that name the check.
    pub controls: Vec<String>,
    /// Criteria of those controls.
    pub criteria: Vec<String>,
    /// What was found.
    pub message: String,
}

/// Counts of results by status.
#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq, Eq)]
pub struct StatusCounts {
    /// Passing results.
    pub pass: usize,
    /// Failing results.
    pub fail: usize,
    /// Undecided results.
    pub error: usize,
    /// Results that do not apply.
    pub not_applicable: usize,
}

/// The output of `attest scan --format json` (schema `schemas/scan.schema.json`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ScanReport {
    /// Schema version of this document.
    pub schema_version: u32,
    /// The source scanned, e.g. `host`.
    pub source: String,
    /// The system scanned, e.g. the host name.
    pub target: String,
    /// The root that was read.
    pub root: String,
    /// When the facts were collected (RFC 3339).
    #[schemars(with = "String")]
    pub observed_at: Timestamp,
    /// Number of checks evaluated.
    pub checks: usize,
    /// Result counts.
    pub summary: StatusCounts,
    /// Every result.
    pub results: Vec<ScanResult>,
}

impl StatusCounts {
    /// Counts `results`.
    pub fn of<'a>(results: impl Iterator<Item = &'a Status>) -> Self {
        let mut counts = StatusCounts::default();
        for status in results {
            match status {
                Status::Pass => counts.pass += 1,
                Status::Fail => counts.fail += 1,
                Status::Error => counts.error += 1,
                Status::NotApplicable => counts.not_applicable += 1,
            }
        }
        counts
    }
}

/// Builds the report from raw results and a check → (controls, criteria) map.
pub fn scan_report(
    source: &str,
    target: &str,
    root: &str,
    observed_at: Timestamp,
    checks: usize,
    results: &[CheckResult],
    mapping: &BTreeMap<String, (Vec<String>, Vec<String>)>,
) -> ScanReport {
    let results: Vec<ScanResult> = results
        .iter()
        .map(|r| {
            let (controls, criteria) = mapping.get(&r.check).cloned().unwrap_or_default();
            ScanResult {
                check: r.check.clone(),
                resource: r.resource.clone(),
                status: r.status,
                severity: r.severity,
                controls,
                criteria,
                message: r.message.clone(),
            }
        })
        .collect();
    ScanReport {
        schema_version: SCAN_SCHEMA_VERSION,
        source: source.to_owned(),
        target: target.to_owned(),
        root: root.to_owned(),
        observed_at,
        checks,
        summary: StatusCounts::of(results.iter().map(|r| &r.status)),
        results,
    }
}

fn sarif_level(result: &ScanResult) -> &'static str {
    match (result.status, result.severity) {
        (Status::Fail, Severity::Critical | Severity::High) => "error",
        (Status::Fail, Severity::Medium) | (Status::Error, _) => "warning",
        (Status::Fail, _) => "note",
        _ => "none",
    }
}

/// SARIF 2.1.0, one rule per check, one result per check result (`kind` pass/fail/...).
pub fn to_sarif(report: &ScanReport, checks: &[CheckMeta]) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = checks
        .iter()
        .map(|c| {
            let score = match c.severity {
                Severity::Critical => "9.5",
                Severity::High => "8.0",
                Severity::Medium => "5.5",
                Severity::Low => "3.0",
                Severity::Info => "0.0",
            };
            serde_json::json!({
                "id": c.id,
                "name": c.id.rsplit('.').next().unwrap_or(&c.id),
                "shortDescription": {"text": c.title},
                "fullDescription": {"text": c.rationale},
                "help": {"text": c.remediation},
                "properties": {"security-severity": score, "tags": ["security", c.source.as_str()], "references": c.references},
            })
        })
        .collect();
    let index: BTreeMap<&str, usize> = checks
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let results: Vec<serde_json::Value> = report
        .results
        .iter()
        .map(|r| {
            let kind = match r.status {
                Status::Pass => "pass",
                Status::Fail => "fail",
                Status::Error => "review",
                Status::NotApplicable => "notApplicable",
            };
            let location = if r.resource.starts_with('/') {
                serde_json::json!({"physicalLocation": {"artifactLocation": {"uri": format!("file://{}", r.resource.split(':').next().unwrap_or_default())}}, "logicalLocations": [{"name": r.resource, "kind": "resource"}]})
            } else {
                serde_json::json!({"logicalLocations": [{"name": r.resource, "kind": "resource"}]})
            };
            let mut value = serde_json::json!({
                "ruleId": r.check,
                "kind": kind,
                "level": sarif_level(r),
                "message": {"text": r.message},
                "locations": [location],
                "properties": {"target": report.target, "controls": r.controls, "criteria": r.criteria, "severity": r.severity},
            });
            if let Some(i) = index.get(r.check.as_str()) {
                value["ruleIndex"] = (*i).into();
            }
            value
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "attest", "version": env!("CARGO_PKG_VERSION"), "informationUri": "https://github.com/attest-compliance/attest", "rules": rules}},
            "invocations": [{"executionSuccessful": true, "endTimeUtc": report.observed_at.to_string()}],
            "results": results,
        }],
    })
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one test suite per check family, one test case per result.
pub fn to_junit(report: &ScanReport) -> String {
    let mut suites: BTreeMap<String, Vec<&ScanResult>> = BTreeMap::new();
    for r in &report.results {
        let family = r
            .check
            .rsplit_once('.')
            .map_or(r.check.as_str(), |(f, _)| f)
            .to_owned();
        suites.entry(family).or_default().push(r);
    }
    let total = StatusCounts::of(report.results.iter().map(|r| &r.status));
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"attest {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" timestamp=\"{}\">",
        xml_escape(&report.target),
        report.results.len(),
        total.fail,
        total.error,
        total.not_applicable,
        report.observed_at
    );
    for (family, results) in suites {
        let counts = StatusCounts::of(results.iter().map(|r| &r.status));
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
            xml_escape(&family),
            results.len(),
            counts.fail,
            counts.error,
            counts.not_applicable
        );
        for r in results {
            let _ = write!(
                xml,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml_escape(&r.check),
                xml_escape(&r.resource)
            );
            match r.status {
                Status::Pass => xml.push_str("/>\n"),
                Status::Fail => {
                    let _ = writeln!(
                        xml,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                        xml_escape(&r.message),
                        r.severity,
                        xml_escape(&format!("controls: {}", r.controls.join(", ")))
                    );
                }
                Status::Error => {
                    let _ = writeln!(
                        xml,
                        ">\n      <error message=\"{}\" type=\"unknown\"/>\n    </testcase>",
                        xml_escape(&r.message)
                    );
                }
                Status::NotApplicable => {
                    let _ = writeln!(
                        xml,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml_escape(&r.message)
                    );
                }
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// The JSON Schema of the scan report.
pub fn scan_schema() -> serde_json::Value {
    schemars::schema_for!(ScanReport).to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> ScanReport {
        let results = vec![
            CheckResult {
                check: "host.ssh.root_login_disabled".into(),
                resource: "sshd".into(),
                status: Status::Fail,
                severity: Severity::High,
                message: "PermitRootLogin is <yes> & \"bad\"".into(),
            },
            CheckResult {
                check: "host.ssh.x11_forwarding_disabled".into(),
                resource: "sshd".into(),
                status: Status::Pass,
                severity: Severity::Low,
                message: "ok".into(),
            },
            CheckResult {
                check: "host.files.shadow_protected".into(),
                resource: "/etc/shadow".into(),
                status: Status::Error,
                severity: Severity::Critical,
                message: "permission denied".into(),
            },
            CheckResult {
                check: "host.files.bootloader_config_protected".into(),
                resource: "/boot".into(),
                status: Status::NotApplicable,
                severity: Severity::Medium,
                message: "no grub\u{1}".into(),
            },
        ];
        let mapping = [(
            "host.ssh.root_login_disabled".to_owned(),
            (vec!["AC-07".to_owned()], vec!["CC6.1".to_owned()]),
        )]
        .into();
        scan_report(
            "host",
            "web-1",
            "/",
            Timestamp::from_second(1_767_225_600).unwrap(),
            4,
            &results,
            &mapping,
        )
    }

    #[test]
    fn the_report_maps_results_to_controls_and_counts_them() {
        let r = report();
        assert_eq!(
            r.summary,
            StatusCounts {
                pass: 1,
                fail: 1,
                error: 1,
                not_applicable: 1
            }
        );
        assert_eq!(r.results[0].controls, ["AC-07"]);
        assert_eq!(r.results[0].criteria, ["CC6.1"]);
        assert!(r.results[1].controls.is_empty());
    }

    #[test]
    fn junit_escapes_and_counts() {
        let xml = to_junit(&report());
        assert!(xml.contains("<testsuites name=\"attest web-1\" tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\""));
        assert!(xml.contains(
            "<testsuite name=\"host.ssh\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\">"
        ));
        assert!(xml.contains("message=\"PermitRootLogin is &lt;yes&gt; &amp; &quot;bad&quot;\""));
        assert!(xml.contains("<skipped message=\"no grub\u{FFFD}\"/>"));
        assert!(!xml.contains('\u{1}'));
    }

    #[test]
    fn sarif_has_rules_levels_and_kinds() {
        let meta = vec![CheckMeta {
            id: "host.ssh.root_login_disabled".into(),
            source: "host".into(),
            title: "Root cannot log in".into(),
            severity: Severity::High,
            rationale: "r".into(),
            remediation: "PermitRootLogin no".into(),
            references: vec!["CIS 5.1.20".into()],
            fix: None,
        }];
        let sarif = to_sarif(&report(), &meta);
        assert_eq!(sarif["version"], "2.1.0");
        let run = &sarif["runs"][0];
        assert_eq!(
            run["tool"]["driver"]["rules"][0]["id"],
            "host.ssh.root_login_disabled"
        );
        assert_eq!(
            run["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
            "8.0"
        );
        assert_eq!(run["results"][0]["level"], "error");
        assert_eq!(run["results"][0]["kind"], "fail");
        assert_eq!(run["results"][0]["ruleIndex"], 0);
        assert_eq!(run["results"][1]["kind"], "pass");
        assert_eq!(run["results"][2]["kind"], "review");
        assert_eq!(
            run["results"][2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "file:///etc/shadow"
        );
        assert_eq!(run["results"][3]["kind"], "notApplicable");
    }
}
