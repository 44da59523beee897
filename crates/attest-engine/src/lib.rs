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
//!     severity: Severity::Low, rationale: String::new(), remediation: String::new(), references: vec![], fix: None,
//! };
//! let rego = SourceFile::new("demo.rego", "package attest.host.demo\nimport rego.v1\nimport data.attest.lib\n\
//!     answer contains lib.verdict(input.answer == 42, \"universe\", \"right\", \"wrong\")\n");
//! let (engine, diagnostics) = attest_engine::CheckEngine::compile(&[meta], &[rego]);
//! assert!(diagnostics.is_empty(), "{diagnostics:?}");
//! let results = engine.evaluate(&serde_json::json!({"answer": 42}));
//! assert_eq!(results[0].status, Status::Pass);
//! ```

mod testing;

use std::collections::{BTreeMap, BTreeSet};

use attest_diagnostics::{Code, Diagnostic, Location, SourceFile};
use attest_model::{CheckMeta, CheckResult, Status};
use serde::Deserialize;

pub use testing::{CaseOutcome, TestReport, run_tests};

/// The helper library every check may import as `data.attest.lib`.
pub const LIB_REGO: &str = include_str!("../rego/lib.rego");

/// The path the helper library is compiled under, as errors name it.
const LIB_PATH: &str = "attest/lib.rego";

fn lib_file() -> SourceFile {
    SourceFile::new(LIB_PATH, LIB_REGO)
}

fn position(location: &Location) -> String {
    format!(
        "{}:{}:{}",
        location.file.path.display(),
        location.line,
        location.column
    )
}

/// Compiled checks, ready to evaluate facts.
#[derive(Clone)]
pub struct CheckEngine {
    engine: regorus::Engine,
    checks: Vec<CheckMeta>,
    /// The Rego files that parsed, to point diagnostics into.
    rego: Vec<SourceFile>,
    /// The Rego files that did not parse (each already has a diagnostic).
    rejected: Vec<SourceFile>,
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

/// An error of the Rego engine, split into where it points and what it says.
///
/// regorus reports errors as text: `--> file:line:col`, the source line with a caret, then
/// `error: message`. Errors without that frame are kept whole, without a position.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct EngineError {
    /// `(file, line, column)` as the engine gives them (1-based).
    position: Option<(String, usize, usize)>,
    /// What went wrong, on one line.
    message: String,
}

impl EngineError {
    fn parse(text: &str) -> Self {
        let mut lines = text.lines().map(str::trim);
        let position = lines
            .by_ref()
            .find_map(|l| l.strip_prefix("-->"))
            .and_then(|p| {
                let mut parts = p.trim().rsplitn(3, ':');
                let column = parts.next()?.trim().parse::<usize>().ok()?;
                let line = parts.next()?.trim().parse::<usize>().ok()?;
                Some((parts.next()?.to_owned(), line, column))
            });
        let message = if position.is_some() {
            // After the frame: `error: message`, possibly over several lines.
            let rest: Vec<&str> = lines
                .skip_while(|l| !l.starts_with("error:"))
                .filter(|l| !l.is_empty())
                .collect();
            rest.join(" ")
                .strip_prefix("error:")
                .map(|m| m.trim().to_owned())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let message = if message.is_empty() {
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        } else {
            message
        };
        EngineError { position, message }
    }

    /// `message (file:line:column)`, for a result's message.
    fn one_line(&self) -> String {
        match &self.position {
            Some((file, line, column)) => format!("{} ({file}:{line}:{column})", self.message),
            None => self.message.clone(),
        }
    }
}

/// The byte span of the character at 1-based `line` and `column` of `file` (empty at the end
/// of a line), clamped to the file.
fn span_at(file: &SourceFile, line: usize, column: usize) -> std::ops::Range<usize> {
    let text = &file.text;
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = text.get(line_start..).unwrap_or_default();
    let rest = rest.split('\n').next().unwrap_or_default();
    let mut chars = rest.char_indices().skip(column.saturating_sub(1));
    if let Some((offset, c)) = chars.next() {
        let start = line_start.saturating_add(offset);
        start..start.saturating_add(c.len_utf8())
    } else {
        let end = line_start.saturating_add(rest.len());
        end..end
    }
}

/// Where a Rego file declares its package: `(package name, span of the statement)`.
fn package_of(file: &SourceFile) -> Option<(String, std::ops::Range<usize>)> {
    let mut offset = 0usize;
    for line in file.text.split_inclusive('\n') {
        let start = offset;
        offset = offset.saturating_add(line.len());
        let code = line.split('#').next().unwrap_or_default();
        let trimmed = code.trim_start();
        if trimmed.is_empty() {
            continue;
        }
        let indent = code.len().saturating_sub(trimmed.len());
        let name = trimmed.strip_prefix("package")?.trim();
        if name.is_empty() {
            return None;
        }
        let statement_start = start.saturating_add(indent);
        let statement_len = trimmed.trim_end().len();
        return Some((
            name.to_owned(),
            statement_start..statement_start.saturating_add(statement_len),
        ));
    }
    None
}

/// A diagnostic for a file the Rego parser rejects.
fn parse_diagnostic(file: &SourceFile, text: &str) -> Diagnostic {
    let error = EngineError::parse(text);
    let diag = Diagnostic::error(Code::Rego, format!("invalid Rego: {}", error.message))
        .with_help(rego_help(&error.message));
    match error.position {
        Some((_, line, column)) => diag
            .at(file, span_at(file, line, column))
            .with_label("the Rego parser stopped here"),
        None => diag.in_file(file),
    }
}

/// Advice for a Rego error: the common Rego v1 mistakes, else where checks are described.
fn rego_help(message: &str) -> String {
    if message.contains("`if` keyword is required") {
        "checks use Rego v1: write `if` before a rule body, e.g. `name contains result if { ... }`"
            .to_owned()
    } else if message.contains("`contains` keyword is required") {
        "checks use Rego v1: a set rule is `name contains result if { ... }`".to_owned()
    } else if message.contains("Missing package declaration") {
        "a check's Rego file starts with `package attest.<source>.<family>`".to_owned()
    } else {
        "see docs/checks.md for how a check's Rego is written".to_owned()
    }
}

impl CheckEngine {
    /// Compiles the Rego of `rego` (plus [`LIB_REGO`]) for `checks`. Files that do not compile
    /// become diagnostics and are left out.
    pub fn compile(checks: &[CheckMeta], rego: &[SourceFile]) -> (CheckEngine, Vec<Diagnostic>) {
        let mut diagnostics = Vec::new();
        let mut engine = regorus::Engine::new();
        engine.set_strict_builtin_errors(false);
        if let Err(e) = engine.add_policy(LIB_PATH.to_owned(), LIB_REGO.to_owned()) {
            diagnostics.push(parse_diagnostic(&lib_file(), &e.to_string()));
        }
        let (mut compiled, mut rejected) = (Vec::new(), Vec::new());
        for file in rego {
            // A file that does not parse is not added, so one broken file hides no other.
            match engine.add_policy(file.path.display().to_string(), file.text.to_string()) {
                Ok(_) => compiled.push(file.clone()),
                Err(e) => {
                    diagnostics.push(parse_diagnostic(file, &e.to_string()));
                    rejected.push(file.clone());
                }
            }
        }
        (
            CheckEngine {
                engine,
                checks: checks.to_vec(),
                rego: compiled,
                rejected,
            },
            diagnostics,
        )
    }

    /// Diagnostics for checks whose Rego rule does not exist or does not compile. Such checks
    /// yield an `error` result when evaluated; `attest validate` and `attest checks test`
    /// report them up front.
    ///
    /// `defined_at` gives, per check id, where the id is written in its metadata file: a check
    /// without any Rego file is reported there. Otherwise the diagnostic points into the
    /// check's Rego file: at its `package` statement, or at the engine's position.
    pub fn rule_diagnostics(&self, defined_at: &BTreeMap<String, Location>) -> Vec<Diagnostic> {
        let mut probe = self.engine.clone();
        probe.set_input(regorus::Value::new_object());
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for check in &self.checks {
            let Err(e) = probe.eval_rule(check.rule_path()) else {
                continue;
            };
            let text = e.to_string();
            let error = EngineError::parse(&text);
            if error.position.is_none()
                && (text.contains("not a valid rule path") || text.contains("not found"))
            {
                out.extend(self.missing_rule(check, defined_at.get(&check.id)));
            } else if seen.insert(error.clone()) {
                out.push(self.compile_diagnostic(check, &error));
            }
        }
        out
    }

    /// The Rego file with display path `path`, or the built-in library.
    fn rego_file(&self, path: &str) -> Option<SourceFile> {
        if path == LIB_PATH {
            return Some(lib_file());
        }
        self.rego
            .iter()
            .find(|f| f.path.display().to_string() == path)
            .cloned()
    }

    fn compile_diagnostic(&self, check: &CheckMeta, error: &EngineError) -> Diagnostic {
        let diag = Diagnostic::error(
            Code::Rego,
            format!(
                "the Rego of check `{}` does not compile: {}",
                check.id, error.message
            ),
        )
        .with_help(format!(
            "until it is fixed, every scan reports `error` for `{}`; {}",
            check.id,
            rego_help(&error.message)
        ));
        let file = error
            .position
            .as_ref()
            .and_then(|(path, line, column)| Some((self.rego_file(path)?, *line, *column)));
        match file {
            Some((file, line, column)) => diag
                .at(&file, span_at(&file, line, column))
                .with_label(error.message.clone()),
            None => diag,
        }
    }

    /// Points a check without a rule at the Rego file that should hold it; nothing when that
    /// file did not parse (its parse error is the diagnostic).
    fn missing_rule(&self, check: &CheckMeta, defined_at: Option<&Location>) -> Option<Diagnostic> {
        let (package, rule) = check
            .id
            .rsplit_once('.')
            .map_or((check.id.as_str(), ""), |(p, r)| (p, r));
        let package = format!("attest.{package}");
        let folder = defined_at.and_then(|l| l.file.path.parent());
        let in_folder = |f: &&SourceFile| folder.is_some_and(|d| f.path.parent() == Some(d));
        if self
            .rejected
            .iter()
            .any(|f| in_folder(&f) || package_of(f).is_some_and(|(name, _)| name == package))
        {
            return None;
        }
        let declaring: Vec<(&SourceFile, String, std::ops::Range<usize>)> = self
            .rego
            .iter()
            .filter_map(|f| package_of(f).map(|(name, span)| (f, name, span)))
            .collect();
        let same_package = declaring
            .iter()
            .filter(|(_, name, _)| *name == package)
            .min_by_key(|(f, _, _)| !in_folder(f));
        if let Some((file, _, span)) = same_package {
            return Some(Diagnostic::error(
                Code::Rego,
                format!(
                    "check `{}` has no rule `{rule}` in package `{package}`",
                    check.id
                ),
            )
            .at(file, span.clone())
            .with_label(format!("the package of check `{}`", check.id))
            .with_help(format!(
                "define the rule here, e.g. `{rule} contains result if {{ ... }}`, or correct the check's id{}",
                defined_at.map(|l| format!(" at {}", position(l))).unwrap_or_default()
            )));
        }
        let beside = self.rego.iter().find(|f| in_folder(f));
        if let Some(file) = beside {
            let declared = package_of(file);
            let diag = Diagnostic::error(
                Code::Rego,
                format!(
                    "check `{}` has no Rego rule: no Rego file declares package `{package}`",
                    check.id
                ),
            )
            .with_help(format!(
                "the rule of check `{}` is `{rule}` in package `{package}`; rename the package or the check",
                check.id
            ));
            return Some(match declared {
                Some((name, span)) => diag
                    .at(file, span)
                    .with_label(format!("this file declares package `{name}`")),
                None => diag.in_file(file),
            });
        }
        let diag = Diagnostic::error(
            Code::Rego,
            format!("check `{}` has no Rego file", check.id),
        )
        .with_help(format!(
            "put a `.rego` file beside its metadata that starts with `package {package}` and defines `{rule}`"
        ));
        Some(match defined_at {
            Some(l) => diag
                .at(&l.file, l.span.clone())
                .with_label("no Rego rule defines this check"),
            None => diag,
        })
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
                    let e = EngineError::parse(&e.to_string());
                    out.push(error(format!(
                        "the check failed to evaluate: {}",
                        e.one_line()
                    )));
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

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use attest_model::Severity;

    fn meta(id: &str) -> CheckMeta {
        CheckMeta {
            id: id.to_owned(),
            source: "host".to_owned(),
            title: "t".to_owned(),
            severity: Severity::Low,
            rationale: String::new(),
            remediation: String::new(),
            references: vec![],
            fix: None,
        }
    }

    /// Where each check's id is written, as the workspace loader reports it.
    fn metadata(path: &str, ids: &[&str]) -> BTreeMap<String, Location> {
        let mut text = String::new();
        for id in ids {
            writeln!(text, "[[check]]\nid = \"{id}\"").unwrap();
        }
        let file = SourceFile::new(path, text);
        ids.iter()
            .map(|id| {
                let start = file.text.find(&format!("\"{id}\"")).unwrap();
                let span = start..start + id.len() + 2;
                ((*id).to_owned(), Location::new(&file, span))
            })
            .collect()
    }

    const FOO: &str = "package attest.host.x\nimport rego.v1\nimport data.attest.lib\n\
        foo contains lib.pass(\"r\", \"ok\") if { true }\n";

    #[test]
    fn engine_errors_split_into_position_and_message() {
        let text = "\n--> checks/a b.rego:4:5\n  |\n4 |   x := 1 +\n  |     ^\nerror: expecting `}` while parsing set";
        assert_eq!(
            EngineError::parse(text),
            EngineError {
                position: Some(("checks/a b.rego".to_owned(), 4, 5)),
                message: "expecting `}` while parsing set".to_owned(),
            }
        );
        let plain = EngineError::parse("not a valid rule path");
        assert_eq!(plain.position, None);
        assert_eq!(plain.message, "not a valid rule path");
        assert_eq!(plain.one_line(), "not a valid rule path");
    }

    #[test]
    fn spans_clamp_to_the_file() {
        let file = SourceFile::new("a.rego", "ab\ncé\n");
        assert_eq!(span_at(&file, 2, 2), 4..6);
        assert_eq!(span_at(&file, 2, 9), 6..6);
        assert_eq!(span_at(&file, 99, 1), 7..7);
        assert_eq!(span_at(&file, 0, 0), 0..1);
    }

    #[test]
    fn a_parse_error_is_a_plain_diagnostic_at_its_file_line_and_column() {
        let broken = SourceFile::new(
            "ws/checks/host/x/checks.rego",
            "package attest.host.x\nimport rego.v1\nfoo contains x if {\n  x := 1 +\n}\n",
        );
        let (_, diagnostics) = CheckEngine::compile(&[meta("host.x.foo")], &[broken]);
        assert_eq!(diagnostics.len(), 1);
        let d = &diagnostics[0];
        assert_eq!(d.code, Code::Rego);
        assert_eq!(d.position(), "ws/checks/host/x/checks.rego:4:5");
        assert_eq!(d.message, "invalid Rego: expecting `}` while parsing set");
        assert_eq!(d.label.as_deref(), Some("the Rego parser stopped here"));
        assert_eq!(
            d.help.as_deref(),
            Some("see docs/checks.md for how a check's Rego is written")
        );
        let old_style = SourceFile::new(
            "ws/checks/host/x/old.rego",
            "package attest.host.x\nfoo[x] { x := 1 }\n",
        );
        let (_, diagnostics) = CheckEngine::compile(&[], &[old_style]);
        assert_eq!(diagnostics[0].position(), "ws/checks/host/x/old.rego:2:8");
        assert!(
            diagnostics[0]
                .help
                .as_deref()
                .unwrap()
                .contains("write `if` before a rule body"),
            "{:?}",
            diagnostics[0].help
        );
    }

    #[test]
    fn a_missing_rule_points_at_the_package_statement_of_its_rego_file() {
        let rego = SourceFile::new(
            "ws/checks/host/x/checks.rego",
            format!("# Checks of x.\n\n{FOO}"),
        );
        let (engine, diagnostics) =
            CheckEngine::compile(&[meta("host.x.foo"), meta("host.x.bar")], &[rego]);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let defined = metadata(
            "ws/checks/host/x/checks.toml",
            &["host.x.foo", "host.x.bar"],
        );
        let found = engine.rule_diagnostics(&defined);
        assert_eq!(found.len(), 1, "{found:?}");
        let d = &found[0];
        assert_eq!(d.code, Code::Rego);
        assert_eq!(d.position(), "ws/checks/host/x/checks.rego:3:1");
        assert_eq!(
            d.message,
            "check `host.x.bar` has no rule `bar` in package `attest.host.x`"
        );
        let location = d.location.as_ref().unwrap();
        assert_eq!(
            location.file.text.get(location.span.clone()),
            Some("package attest.host.x")
        );
        assert_eq!(
            d.help.as_deref(),
            Some(
                "define the rule here, e.g. `bar contains result if { ... }`, or correct the check's id at ws/checks/host/x/checks.toml:4:6"
            )
        );
    }

    #[test]
    fn a_check_whose_package_is_not_declared_points_at_the_rego_beside_it() {
        let rego = SourceFile::new(
            "ws/checks/host/x/checks.rego",
            FOO.replace("attest.host.x", "attest.host.y"),
        );
        let (engine, _) = CheckEngine::compile(&[meta("host.x.foo")], &[rego]);
        let found =
            engine.rule_diagnostics(&metadata("ws/checks/host/x/checks.toml", &["host.x.foo"]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].position(), "ws/checks/host/x/checks.rego:1:1");
        assert_eq!(
            found[0].message,
            "check `host.x.foo` has no Rego rule: no Rego file declares package `attest.host.x`"
        );
        assert_eq!(
            found[0].label.as_deref(),
            Some("this file declares package `attest.host.y`")
        );
    }

    #[test]
    fn a_check_without_any_rego_points_at_its_metadata() {
        let (engine, _) = CheckEngine::compile(&[meta("host.x.foo")], &[]);
        let found =
            engine.rule_diagnostics(&metadata("ws/checks/host/x/checks.toml", &["host.x.foo"]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].position(), "ws/checks/host/x/checks.toml:2:6");
        assert_eq!(found[0].message, "check `host.x.foo` has no Rego file");
        assert!(
            found[0]
                .help
                .as_deref()
                .unwrap()
                .contains("package attest.host.x")
        );
    }

    #[test]
    fn errors_found_when_a_rule_is_first_evaluated_are_diagnostics_too() {
        let rego = SourceFile::new(
            "ws/checks/host/x/checks.rego",
            "package attest.host.x\nimport rego.v1\nfoo contains x if {\n  x := nofunc(1)\n}\n",
        );
        let (engine, diagnostics) = CheckEngine::compile(&[meta("host.x.foo")], &[rego]);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let found =
            engine.rule_diagnostics(&metadata("ws/checks/host/x/checks.toml", &["host.x.foo"]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].position(), "ws/checks/host/x/checks.rego:4:14");
        assert_eq!(
            found[0].message,
            "the Rego of check `host.x.foo` does not compile: could not find function nofunc"
        );
        // A scan reports the check as an error, in one plain line.
        let results = engine.evaluate(&serde_json::json!({}));
        assert_eq!(results[0].status, Status::Error);
        assert_eq!(
            results[0].message,
            "the check failed to evaluate: could not find function nofunc (ws/checks/host/x/checks.rego:4:14)"
        );
    }

    #[test]
    fn package_statements_are_found_after_comments_and_blank_lines() {
        let file = SourceFile::new(
            "a.rego",
            "# c\n\n  package attest.host.x # why\nimport rego.v1\n",
        );
        let (name, span) = package_of(&file).unwrap();
        assert_eq!(name, "attest.host.x");
        assert_eq!(file.text.get(span), Some("package attest.host.x"));
        assert_eq!(
            package_of(&SourceFile::new("b.rego", "import rego.v1\n")),
            None
        );
    }
}
