//! Every built-in check compiles, passes its table-driven tests, and has at least one case
//! that expects `pass` and one that expects `fail`.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

use std::fmt::Write as _;

#[test]
fn builtin_checks_pass_their_tests_and_each_has_a_pass_and_a_fail_case() {
    let layer = attest_catalog::builtin_layer();
    let (workspace, diagnostics) = attest_catalog::load(None);
    assert!(
        diagnostics.is_empty(),
        "{}",
        attest_diagnostics::render_human(&diagnostics, false)
    );
    let (engine, diagnostics) = attest_engine::CheckEngine::compile(&workspace.checks, &layer.rego);
    assert!(
        diagnostics.is_empty(),
        "{}",
        attest_diagnostics::render_human(&diagnostics, false)
    );
    assert_eq!(engine.checks().len(), workspace.checks.len());
    let missing = engine.rule_diagnostics(&workspace.check_locations);
    assert!(
        missing.is_empty(),
        "{}",
        attest_diagnostics::render_human(&missing, false)
    );
    let report = attest_engine::run_tests(&engine, &layer.check_tests);
    assert!(
        report.diagnostics.is_empty(),
        "{}",
        attest_diagnostics::render_human(&report.diagnostics, false)
    );
    let mut problems = String::new();
    for case in report.cases.iter().filter(|c| !c.failures.is_empty()) {
        let _ = writeln!(
            problems,
            "{} / {}:\n  {}",
            case.file.display(),
            case.name,
            case.failures.join("\n  ")
        );
    }
    for (check, (has_pass, has_fail)) in &report.coverage {
        if !has_pass || !has_fail {
            let _ = writeln!(
                problems,
                "{check}: needs a passing case ({has_pass}) and a failing case ({has_fail})"
            );
        }
    }
    assert!(problems.is_empty(), "{problems}");
    assert!(report.cases.len() >= engine.checks().len());
}

/// A check that no control names carries no criteria, so its results count for nothing in
/// the readiness report.
#[test]
fn every_builtin_check_is_mapped_to_a_control() {
    let (workspace, _) = attest_catalog::load(None);
    let mapped: std::collections::BTreeSet<&str> = workspace
        .controls
        .iter()
        .flat_map(|c| c.checks.iter().map(String::as_str))
        .collect();
    let unmapped: Vec<&str> = workspace
        .checks
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| !mapped.contains(id))
        .collect();
    assert!(unmapped.is_empty(), "checks no control names: {unmapped:?}");
}
