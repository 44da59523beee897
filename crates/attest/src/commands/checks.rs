//! `attest checks list|show|test`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use attest_model::CheckMeta;
use attest_workspace::Workspace;
use serde::Serialize;

use crate::args::{ChecksCommand, GlobalArgs};
use crate::context::load_with_engine;
use crate::exit::{ExitStatus, Failure};
use crate::printer::{self, Listing, print_listing};

/// A check with the controls and criteria it evidences, as `checks list|show` print it.
#[derive(Serialize)]
struct CheckRow<'a> {
    #[serde(flatten)]
    meta: &'a CheckMeta,
    controls: Vec<String>,
    criteria: Vec<String>,
}

/// The controls naming `check`, and their criteria.
pub(crate) fn mapping(workspace: &Workspace, check: &str) -> (Vec<String>, Vec<String>) {
    let mut controls = Vec::new();
    let mut criteria = BTreeSet::new();
    for control in workspace.controls_of_check(check) {
        controls.push(control.id.clone());
        criteria.extend(control.criteria.iter().cloned());
    }
    let mut criteria: Vec<String> = criteria.into_iter().collect();
    criteria.sort_by_key(|c| attest_model::Criterion::sort_key(c));
    (controls, criteria)
}

fn row<'a>(workspace: &Workspace, meta: &'a CheckMeta) -> CheckRow<'a> {
    let (controls, criteria) = mapping(workspace, &meta.id);
    CheckRow {
        meta,
        controls,
        criteria,
    }
}

pub(crate) fn run(global: &GlobalArgs, command: &ChecksCommand) -> anyhow::Result<ExitStatus> {
    let compile = matches!(command, ChecksCommand::Test);
    let (workspace, engine) = load_with_engine(global, compile)?;
    match command {
        ChecksCommand::List { source, format } => {
            let rows: Vec<CheckRow<'_>> = workspace
                .checks
                .iter()
                .filter(|c| source.as_ref().is_none_or(|s| &c.source == s))
                .map(|c| row(&workspace, c))
                .collect();
            let mut listing = Listing::new(vec!["id", "severity", "title", "controls"]);
            for r in &rows {
                listing.push(vec![
                    r.meta.id.clone(),
                    r.meta.severity.to_string(),
                    r.meta.title.clone(),
                    r.controls.join(" "),
                ]);
            }
            print_listing(*format, &listing, &rows)?;
        }
        ChecksCommand::Show { id, format } => {
            let Some(meta) = workspace.check(id) else {
                return Err(Failure::input(format!(
                    "unknown check `{id}`; list them with `attest checks list`"
                )));
            };
            let r = row(&workspace, meta);
            let mut listing = Listing::new(vec!["field", "value"]);
            for (field, value) in [
                ("id", meta.id.clone()),
                ("title", meta.title.clone()),
                ("severity", meta.severity.to_string()),
                ("rationale", meta.rationale.clone()),
                ("remediation", meta.remediation.clone()),
                ("references", meta.references.join("; ")),
                (
                    "fix",
                    meta.fix.as_ref().map_or_else(String::new, |fix| {
                        let settings: Vec<String> = fix
                            .settings
                            .iter()
                            .map(|(k, v)| format!("{k} = {v}"))
                            .collect();
                        format!(
                            "{}: {} (attest remediate {})",
                            fix.kind,
                            settings.join(", "),
                            meta.id
                        )
                    }),
                ),
                ("controls", r.controls.join(" ")),
                ("criteria", r.criteria.join(" ")),
                ("rule", meta.rule_path()),
            ] {
                listing.push(vec![field.to_owned(), value]);
            }
            print_listing(*format, &listing, &r)?;
        }
        ChecksCommand::Test => {
            let Some((engine, sources)) = engine else {
                return Err(Failure::input("the checks did not compile"));
            };
            let missing = engine.rule_diagnostics(&workspace.check_locations);
            printer::print_diagnostics(&missing, global.color);
            let report = attest_engine::run_tests(&engine, &sources.tests);
            printer::print_diagnostics(&report.diagnostics, global.color);
            let mut out = String::new();
            for case in &report.cases {
                if case.failures.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "FAIL {} — {}", case.file.display(), case.name);
                for failure in &case.failures {
                    let _ = writeln!(out, "     {failure}");
                }
            }
            let uncovered: Vec<&String> = report
                .coverage
                .iter()
                .filter(|(_, (p, f))| !p || !f)
                .map(|(id, _)| id)
                .collect();
            for id in &uncovered {
                let _ = writeln!(
                    out,
                    "MISSING {id}: needs a test case expecting pass and one expecting fail"
                );
            }
            let failed = report.failed();
            let _ = writeln!(
                out,
                "{} passed, {} failed ({} checks, {} without both a passing and a failing case)",
                report.cases.len() - failed,
                failed,
                report.coverage.len(),
                uncovered.len()
            );
            printer::print_text(&out)?;
            if failed > 0
                || !uncovered.is_empty()
                || !report.diagnostics.is_empty()
                || !missing.is_empty()
            {
                return Ok(ExitStatus::Findings);
            }
        }
    }
    Ok(ExitStatus::Success)
}
