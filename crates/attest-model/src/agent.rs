//! What an agent sends the server, and who may do what there.
//!
//! An [`AgentReport`] is one run of the host checks on one host, pushed by `attest agent` to
//! `POST /api/v1/reports`. Its `report_id` makes the push idempotent: the server records a
//! report id once, however often it is delivered.

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{CheckResult, Severity, Status, named_enum};

/// Version of the [`AgentReport`] format.
pub const AGENT_REPORT_VERSION: u32 = 1;

/// Largest report body the server accepts, in bytes.
pub const MAX_REPORT_BYTES: usize = 4 * 1024 * 1024;

/// Most results one report may carry.
pub const MAX_REPORT_RESULTS: usize = 10_000;

/// Longest check id, resource or host name, in bytes.
pub const MAX_NAME_BYTES: usize = 512;

/// Longest result message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// One run of the host checks on one host, as an agent pushes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentReport {
    /// Format version; 1.
    pub schema_version: u32,
    /// Unique id the agent gave this report (8 to 64 characters of `A-Z a-z 0-9 - _`);
    /// a report id is recorded once, however often it is pushed.
    pub report_id: String,
    /// The host the results are about; must be the host the agent token belongs to.
    pub host: String,
    /// When the agent observed the results (RFC 3339).
    #[schemars(with = "String")]
    pub observed_at: Timestamp,
    /// Version of the agent that sent it.
    pub agent_version: String,
    /// Every result of the run.
    pub results: Vec<ReportResult>,
}

/// One result in an [`AgentReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportResult {
    /// Check id.
    pub check: String,
    /// Resource id.
    pub resource: String,
    /// Outcome.
    pub status: Status,
    /// Severity of the check.
    pub severity: Severity,
    /// What was found, in a sentence.
    pub message: String,
}

impl From<&CheckResult> for ReportResult {
    fn from(result: &CheckResult) -> Self {
        ReportResult {
            check: result.check.clone(),
            resource: result.resource.clone(),
            status: result.status,
            severity: result.severity,
            message: result.message.clone(),
        }
    }
}

impl From<ReportResult> for CheckResult {
    fn from(result: ReportResult) -> Self {
        CheckResult {
            check: result.check,
            resource: result.resource,
            status: result.status,
            severity: result.severity,
            message: result.message,
        }
    }
}

/// Why an [`AgentReport`] is not acceptable, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {problem}")]
pub struct ReportProblem {
    /// Path of the offending field, e.g. `results[3].check`.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl AgentReport {
    /// Checks the report's shape and limits (not its host or checks, which the server knows).
    pub fn validate(&self) -> Result<(), ReportProblem> {
        let problem = |field: String, problem: String| Err(ReportProblem { field, problem });
        if self.schema_version != AGENT_REPORT_VERSION {
            return problem(
                "schema_version".into(),
                format!(
                    "version {} is not supported; this server reads version {AGENT_REPORT_VERSION}",
                    self.schema_version
                ),
            );
        }
        if !is_report_id(&self.report_id) {
            return problem(
                "report_id".into(),
                "must be 8 to 64 characters of A-Z, a-z, 0-9, `-` and `_`".into(),
            );
        }
        check_name("host", &self.host)?;
        if self.agent_version.len() > 64 {
            return problem("agent_version".into(), "longer than 64 bytes".into());
        }
        if self.results.len() > MAX_REPORT_RESULTS {
            return problem(
                "results".into(),
                format!(
                    "{} results; a report carries at most {MAX_REPORT_RESULTS}",
                    self.results.len()
                ),
            );
        }
        let mut seen = std::collections::HashSet::with_capacity(self.results.len());
        for (i, result) in self.results.iter().enumerate() {
            check_name(&format!("results[{i}].check"), &result.check)?;
            check_name(&format!("results[{i}].resource"), &result.resource)?;
            if result.message.len() > MAX_MESSAGE_BYTES {
                return problem(
                    format!("results[{i}].message"),
                    format!("longer than {MAX_MESSAGE_BYTES} bytes"),
                );
            }
            if !seen.insert((result.check.as_str(), result.resource.as_str())) {
                return problem(
                    format!("results[{i}]"),
                    format!(
                        "a second result for check `{}` on resource `{}`",
                        result.check, result.resource
                    ),
                );
            }
        }
        Ok(())
    }
}

fn check_name(field: &str, value: &str) -> Result<(), ReportProblem> {
    let problem = if value.trim().is_empty() {
        "is empty"
    } else if value.len() > MAX_NAME_BYTES {
        "is longer than 512 bytes"
    } else if value.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(ReportProblem {
        field: field.to_owned(),
        problem: problem.to_owned(),
    })
}

/// Whether `id` is a well-formed report id.
pub fn is_report_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

named_enum! {
    /// What a caller of the server may do.
    pub enum Role("role") {
        /// Everything, including users and hosts.
        Admin => "admin",
        /// Owns controls and findings: reads everything, uploads evidence, changes findings.
        Editor => "editor",
        /// Reads everything in scope and exports; changes nothing.
        Auditor => "auditor",
        /// A host's agent: pushes results for its own host only.
        Agent => "agent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> AgentReport {
        AgentReport {
            schema_version: 1,
            report_id: "0123456789abcdef".into(),
            host: "web-1".into(),
            observed_at: Timestamp::from_second(1_700_000_000).unwrap(),
            agent_version: "0.1.0".into(),
            results: vec![ReportResult {
                check: "host.ssh.root_login_disabled".into(),
                resource: "sshd".into(),
                status: Status::Pass,
                severity: Severity::High,
                message: "ok".into(),
            }],
        }
    }

    #[test]
    fn a_good_report_is_valid_and_round_trips() {
        let report = report();
        assert_eq!(report.validate(), Ok(()));
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(serde_json::from_str::<AgentReport>(&json).unwrap(), report);
    }

    #[test]
    fn problems_name_their_field() {
        let mut bad = report();
        bad.results.push(bad.results[0].clone());
        assert_eq!(bad.validate().unwrap_err().field, "results[1]");
        let mut bad = report();
        bad.report_id = "short".into();
        assert_eq!(bad.validate().unwrap_err().field, "report_id");
        let mut bad = report();
        bad.results[0].check = "a\nb".into();
        assert_eq!(bad.validate().unwrap_err().field, "results[0].check");
        let mut bad = report();
        bad.schema_version = 2;
        assert_eq!(bad.validate().unwrap_err().field, "schema_version");
        let mut bad = report();
        bad.host = " ".into();
        assert_eq!(bad.validate().unwrap_err().field, "host");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut json = serde_json::to_value(report()).unwrap();
        json["extra"] = serde_json::json!(1);
        let err = serde_json::from_value::<AgentReport>(json).unwrap_err();
        assert!(err.to_string().contains("extra"), "{err}");
    }
}
