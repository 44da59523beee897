//! The check engine: compiles Rego checks once and evaluates them over facts.
//!
//! Checks never read the system: their only input is a facts document. Each check
//! `<source>.<family>.<name>` is the Rego rule `data.attest.<source>.<family>.<name>`, a set of
//! objects `{status, resource, message}`. A check that yields nothing, or fails at run time,
//! gives an `error` result: a check that cannot decide must say so.
//!
//! ```
//! use attest_diagnostics::SourceFile;
//! use attest_model::{CheckMeta, Severity, Status};
//! let meta = CheckMeta {
//!     id: "host.demo.answer".into(), source: "host".into(), title: "t".into(),
//!     severity: Severity::Low, rationale: String::new(), remediation: String::new(), references: vec![],
//! };
//! let rego = SourceFile::new("demo.rego", "package attest.host.demo\nimport rego.v1\nimport data.attest.lib\n\
//!     answer contains lib.verdict(input.answer == 42, \"universe\", \"right\", \"wrong\")\n");
//! let (engine, diagnostics) = attest_engine::CheckEngine::compile(&[meta], &[rego]);
//! assert!(diagnostics.is_empty(), "{diagnostics:?}");
//! let results = engine.evaluate(&serde_json::json!({"answer": 42}));
//! assert_eq!(results[0].status, Status::Pass);
//! ```

mod testing;

use std::collections::BTreeSet;

use attest_diagnostics::{Code, Diagnostic, SourceFile};
use attest_model::{CheckMeta, CheckResult, Status};
use serde::Deserialize;

pub use testing::{CaseOutcome, TestReport, run_tests};

/// The helper library every check may import as `data.attest.lib`.
pub const LIB_REGO: &str = include_str!("../rego/lib.rego");

/// Compiled checks, ready to evaluate facts.
#[derive(Clone)]
pub struct CheckEngine {
    engine: regorus::Engine,
    checks: Vec<CheckMeta>,
}

impl std::fmt::Debug for CheckEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckEngine")
            .field("checks", &self.checks.len())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct RawResult {
    status: String,
    resource: String,
    #[serde(default)]
    message: String,
}

/// Points a regorus error message (`file:line:col: ...`) at its file when it names one.
fn rego_diagnostic(file: &SourceFile, message: &str) -> Diagnostic {
    let text = message.trim().to_owned();
    let position = text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("-->")
                .map(str::trim)
                .or_else(|| l.split_once(": error").map(|(p, _)| p))
        })
        .and_then(|p| {
            let mut parts = p.rsplitn(3, ':');
            let col = parts.next()?.trim().parse::<usize>().ok()?;
            let line = parts.next()?.trim().parse::<usize>().ok()?;
            Some((line, col))
        });
    let diag = Diagnostic::error(Code::Rego, text);
    match position {
        Some((line, col)) => {
            let offset = file
                .text
                .split_inclusive('\n')
                .take(line.saturating_sub(1))
                .map(str::len)
                .sum::<usize>()
                .saturating_add(col.saturating_sub(1));
            diag.at(file, offset..offset)
        }
        None => diag.in_file(file),
    }
}

impl CheckEngine {
    /// Compiles the Rego of `rego` (plus [`LIB_REGO`]) for `checks`. Files that do not compile
    /// become diagnostics and are left out.
    pub fn compile(checks: &[CheckMeta], rego: &[SourceFile]) -> (CheckEngine, Vec<Diagnostic>) {
        let mut diagnostics = Vec::new();
        let mut engine = regorus::Engine::new();
        engine.set_strict_builtin_errors(false);
        if let Err(e) = engine.add_policy("attest/lib.rego".to_owned(), LIB_REGO.to_owned()) {
            diagnostics.push(Diagnostic::error(
                Code::Rego,
                format!("the built-in Rego library does not compile: {e}"),
            ));
        }
        for file in rego {
            // A file that does not parse is not added, so one broken file hides no other.
            if let Err(e) =
                engine.add_policy(file.path.display().to_string(), file.text.to_string())
            {
                diagnostics.push(rego_diagnostic(file, &e.to_string()));
            }
        }
        (
            CheckEngine {
                engine,
                checks: checks.to_vec(),
            },
            diagnostics,
        )
    }

    /// Diagnostics for checks whose Rego rule does not exist. Such checks yield an `error`
    /// result when evaluated; `attest validate` and `attest checks test` report them up front.
    pub fn missing_rules(&self) -> Vec<Diagnostic> {
        let mut probe = self.engine.clone();
        probe.set_input(regorus::Value::new_object());
        self.checks
            .iter()
            .filter(|check| {
                probe.eval_rule(check.rule_path()).is_err_and(|e| {
                    let e = e.to_string();
                    e.contains("not a valid rule path") || e.contains("not found")
                })
            })
            .map(|check| {
                Diagnostic::error(
                    Code::Rego,
                    format!(
                        "check `{}` has no Rego rule `{}`",
                        check.id,
                        check.rule_path()
                    ),
                )
            })
            .collect()
    }

    /// The checks this engine evaluates.
    pub fn checks(&self) -> &[CheckMeta] {
        &self.checks
    }

    /// Evaluates every check over `facts`.
    pub fn evaluate(&self, facts: &serde_json::Value) -> Vec<CheckResult> {
        self.evaluate_only(facts, None)
    }

    /// Evaluates the checks whose id is in `only` (all when `None`) over `facts`.
    pub fn evaluate_only(
        &self,
        facts: &serde_json::Value,
        only: Option<&BTreeSet<String>>,
    ) -> Vec<CheckResult> {
        let mut engine = self.engine.clone();
        let input = serde_json::from_value::<regorus::Value>(facts.clone())
            .unwrap_or_else(|_| regorus::Value::new_object());
        engine.set_input(input);
        let mut out = Vec::new();
        for check in &self.checks {
            if only.is_some_and(|ids| !ids.contains(&check.id)) {
                continue;
            }
            let error = |message: String| CheckResult {
                check: check.id.clone(),
                resource: check.source.clone(),
                status: Status::Error,
                severity: check.severity,
                message,
            };
            let value = match engine.eval_rule(check.rule_path()) {
                Ok(value) => value,
                Err(e) => {
                    out.push(error(format!("the check failed to evaluate: {e}")));
                    continue;
                }
            };
            let items: Vec<RawResult> =
                match serde_json::to_value(&value).map(serde_json::from_value::<Vec<RawResult>>) {
                    Ok(Ok(items)) => items,
                    _ if value == regorus::Value::Undefined => Vec::new(),
                    _ => {
                        out.push(error(
                            "the check returned something other than a set of results".to_owned(),
                        ));
                        continue;
                    }
                };
            if items.is_empty() {
                out.push(error(
                    "the check produced no result: the facts it needs are missing".to_owned(),
                ));
                continue;
            }
            for item in items {
                match item.status.parse::<Status>() {
                    Ok(status) => out.push(CheckResult {
                        check: check.id.clone(),
                        resource: item.resource,
                        status,
                        severity: check.severity,
                        message: item.message,
                    }),
                    Err(e) => out.push(error(format!("the check returned an invalid status: {e}"))),
                }
            }
        }
        out
    }
}
