//! Data-driven check tests: `tests.yaml` beside each family of checks.
//!
//! ```yaml
//! - name: root login refused
//!   facts: {ssh: {installed: true, effective: {permitrootlogin: "no"}}}
//!   expect:
//!     host.ssh.root_login_disabled: pass
//!     host.ssh.empty_passwords_refused: {status: pass, resource: sshd, message_contains: "no"}
//! ```
//! Every result of an expected check (only those on `resource`, when given, and there must
//! be one) must have the expected status and contain the message fragment, when given. `attest checks test` and `cargo test` run them all.

use std::collections::BTreeMap;
use std::path::PathBuf;

use attest_diagnostics::{Code, Diagnostic, SourceFile};
use serde::Deserialize;

use crate::CheckEngine;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    facts: serde_json::Value,
    expect: BTreeMap<String, Expectation>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Expectation {
    Status(String),
    Detailed {
        status: String,
        #[serde(default)]
        resource: Option<String>,
        #[serde(default)]
        message_contains: Option<String>,
    },
}

/// The outcome of one test case.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    /// The tests file.
    pub file: PathBuf,
    /// The case name.
    pub name: String,
    /// What did not match; empty when the case passed.
    pub failures: Vec<String>,
}

/// Outcomes of every case, and which checks have a passing and a failing case.
#[derive(Debug, Default)]
pub struct TestReport {
    /// Each case.
    pub cases: Vec<CaseOutcome>,
    /// Files that could not be read as test cases.
    pub diagnostics: Vec<Diagnostic>,
    /// Per check id: (has a case expecting pass, has a case expecting fail), from passing cases.
    pub coverage: BTreeMap<String, (bool, bool)>,
}

impl TestReport {
    /// Number of failed cases.
    pub fn failed(&self) -> usize {
        self.cases.iter().filter(|c| !c.failures.is_empty()).count()
    }
}

/// Runs the test cases in `files` against `engine`.
pub fn run_tests(engine: &CheckEngine, files: &[SourceFile]) -> TestReport {
    let mut report = TestReport::default();
    for check in engine.checks() {
        report.coverage.insert(check.id.clone(), (false, false));
    }
    for file in files {
        let cases: Vec<Case> = match yaml_serde::from_str(&file.text) {
            Ok(cases) => cases,
            Err(e) => {
                let diag = Diagnostic::error(Code::CheckTest, e.to_string());
                let diag = match e.location() {
                    Some(loc) => diag.at(file, loc.index()..loc.index()),
                    None => diag.in_file(file),
                };
                report.diagnostics.push(diag);
                continue;
            }
        };
        for case in cases {
            let results =
                engine.evaluate_only(&case.facts, Some(&case.expect.keys().cloned().collect()));
            let mut failures = Vec::new();
            for (check, expectation) in &case.expect {
                let (status, resource, fragment) = match expectation {
                    Expectation::Status(s) => (s.as_str(), None, None),
                    Expectation::Detailed {
                        status,
                        resource,
                        message_contains,
                    } => (
                        status.as_str(),
                        resource.as_deref(),
                        message_contains.as_deref(),
                    ),
                };
                if engine.checks().iter().all(|c| &c.id != check) {
                    failures.push(format!("{check}: no such check"));
                    continue;
                }
                // With a resource, only that resource's results are judged, and one must exist.
                let of_check: Vec<_> = results
                    .iter()
                    .filter(|r| &r.check == check && resource.is_none_or(|want| r.resource == want))
                    .collect();
                if of_check.is_empty() {
                    failures.push(format!(
                        "{check}: no result on `{}`",
                        resource.unwrap_or_default()
                    ));
                }
                for r in &of_check {
                    let mut wrong = r.status.as_str() != status;
                    wrong |= fragment.is_some_and(|want| !r.message.contains(want));
                    if wrong {
                        failures.push(format!(
                            "{check}: expected {status}{}, got {} on `{}`: {}",
                            resource.map(|r| format!(" on `{r}`")).unwrap_or_default(),
                            r.status,
                            r.resource,
                            r.message
                        ));
                    }
                }
            }
            if failures.is_empty() {
                for (check, expectation) in &case.expect {
                    let status = match expectation {
                        Expectation::Status(s) | Expectation::Detailed { status: s, .. } => {
                            s.as_str()
                        }
                    };
                    if let Some(entry) = report.coverage.get_mut(check) {
                        entry.0 |= status == "pass";
                        entry.1 |= status == "fail";
                    }
                }
            }
            report.cases.push(CaseOutcome {
                file: file.path.clone(),
                name: case.name,
                failures,
            });
        }
    }
    report
}
