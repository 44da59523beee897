//! `attest scan`: collect, evaluate, record, print by control.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use attest_collect::RootFs;
use attest_collect::host::HostFacts;
use attest_model::{CheckResult, RunRecord, Severity, Status};
use attest_report::results::{ScanReport, scan_report, to_junit, to_sarif};
use attest_store::{RunOutcome, Store as _};
use attest_workspace::Workspace;
use jiff::Timestamp;

use crate::args::{FailOn, GlobalArgs, ScanArgs, ScanFormat};
use crate::commands::checks::mapping;
use crate::commands::collect::host_root;
use crate::context::{load_with_engine, open_store};
use crate::exit::{ExitStatus, Failure};
use crate::printer;

/// A finished scan: the report, what recording it did, and how long each phase took.
pub(crate) struct Scan {
    pub(crate) report: ScanReport,
    pub(crate) outcome: RunOutcome,
    /// Findings the run opened, fixed, updated or made recur.
    pub(crate) findings: Vec<(attest_model::Finding, &'static str)>,
    /// The facts the run evaluated.
    pub(crate) facts: serde_json::Value,
    /// The store the run was recorded in.
    pub(crate) store: attest_store_sqlite::SqliteStore,
    pub(crate) collect_ms: f64,
    pub(crate) evaluate_ms: f64,
}

/// Host facts collected under a root, with when and how long it took.
pub(crate) struct Collected {
    pub(crate) fs: RootFs,
    pub(crate) facts: HostFacts,
    pub(crate) observed_at: Timestamp,
    pub(crate) collect_ms: f64,
}

/// Collects the host facts of `fs`.
pub(crate) fn collect_host(fs: RootFs) -> Collected {
    let started = Instant::now();
    let observed_at = Timestamp::now();
    let facts = attest_collect::host::collect(&fs, observed_at);
    Collected {
        fs,
        facts,
        observed_at,
        collect_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}

/// The host checks evaluated over collected facts.
pub(crate) struct Evaluated {
    /// The ids of the host checks.
    pub(crate) host_checks: BTreeSet<String>,
    pub(crate) results: Vec<CheckResult>,
    /// The facts the checks read.
    pub(crate) facts: serde_json::Value,
    pub(crate) evaluate_ms: f64,
}

/// Evaluates every host check of `engine` over `collected`: what `attest scan` and
/// `attest agent` both do with a host's facts.
pub(crate) fn evaluate_host(
    engine: &attest_engine::CheckEngine,
    collected: &Collected,
) -> anyhow::Result<Evaluated> {
    let facts =
        serde_json::to_value(&collected.facts).context("cannot serialise the host facts")?;
    let started = Instant::now();
    let host_checks: BTreeSet<String> = engine
        .checks()
        .iter()
        .filter(|c| c.source == "host")
        .map(|c| c.id.clone())
        .collect();
    let results = engine.evaluate_only(&facts, Some(&host_checks));
    Ok(Evaluated {
        host_checks,
        results,
        facts,
        evaluate_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// Collects host facts under `root` while the workspace loads and its checks compile (on the
/// other core), then evaluates the host checks and records the run.
pub(crate) fn scan_host(
    global: &GlobalArgs,
    root: &std::path::Path,
) -> anyhow::Result<(Workspace, attest_engine::CheckEngine, Scan)> {
    let fs = host_root(root)?;
    let (collected, loaded) = std::thread::scope(|scope| {
        let collector = scope.spawn(|| collect_host(fs));
        let loaded = load_with_engine(global, true);
        (collector.join(), loaded)
    });
    let (workspace, engine) = loaded?;
    let Some((engine, _)) = engine else {
        return Err(Failure::input("the checks did not compile"));
    };
    let collected =
        collected.map_err(|_| anyhow::anyhow!("the host collector stopped unexpectedly"))?;
    let Evaluated {
        host_checks,
        results,
        facts: facts_json,
        evaluate_ms,
    } = evaluate_host(&engine, &collected)?;
    let Collected {
        fs,
        facts,
        observed_at,
        collect_ms,
    } = collected;
    let started = Instant::now();
    let store = open_store(global, &workspace)?;
    let outcome = store
        .record_run(
            &RunRecord {
                source: "host".into(),
                target: facts.hostname.clone(),
                observed_at,
                max_gap: workspace.monitoring.max_gap,
            },
            &results,
        )
        .context("cannot record the results")?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "results recorded"
    );
    let mapping: BTreeMap<String, (Vec<String>, Vec<String>)> = host_checks
        .iter()
        .map(|id| (id.clone(), mapping(&workspace, id)))
        .collect();
    let report = scan_report(
        "host",
        &facts.hostname,
        &fs.root().display().to_string(),
        observed_at,
        host_checks.len(),
        &results,
        &mapping,
    );
    let findings = crate::context::update_findings(&store, &workspace, observed_at)?;
    let scan = Scan {
        report,
        outcome,
        findings,
        facts: facts_json,
        store,
        collect_ms,
        evaluate_ms,
    };
    Ok((workspace, engine, scan))
}

fn threshold(fail_on: FailOn) -> Option<Severity> {
    match fail_on {
        FailOn::None => None,
        FailOn::Info => Some(Severity::Info),
        FailOn::Low => Some(Severity::Low),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::High => Some(Severity::High),
        FailOn::Critical => Some(Severity::Critical),
    }
}

/// One summary line of a scan.
pub(crate) fn summary_line(scan: &Scan) -> String {
    let r = &scan.report;
    format!(
        "Scanned {} ({}) in {:.1} ms ({:.1} ms collecting, {:.1} ms evaluating): {} checks, {} results — {} pass, {} fail, {} error, {} not applicable",
        r.target,
        r.root,
        scan.collect_ms + scan.evaluate_ms,
        scan.collect_ms,
        scan.evaluate_ms,
        r.checks,
        r.results.len(),
        r.summary.pass,
        r.summary.fail,
        r.summary.error,
        r.summary.not_applicable
    )
}

fn table(scan: &Scan, workspace: &Workspace, all: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", summary_line(scan));
    let o = &scan.outcome;
    let mut recorded = format!(
        "Recorded as run {}: {} result(s) changed since the last run, {} unchanged",
        o.run_id, o.opened, o.extended
    );
    if o.resumed > 0 {
        let _ = write!(
            recorded,
            ", {} unchanged after a gap in monitoring",
            o.resumed
        );
    }
    if o.gone > 0 {
        let _ = write!(recorded, ", {} no longer observed", o.gone);
    }
    let _ = writeln!(out, "{recorded}.\n");
    let mut by_control: BTreeMap<String, Vec<&attest_report::results::ScanResult>> =
        BTreeMap::new();
    for result in &scan.report.results {
        if !all && matches!(result.status, Status::Pass | Status::NotApplicable) {
            continue;
        }
        if result.controls.is_empty() {
            by_control.entry(String::new()).or_default().push(result);
        }
        for control in &result.controls {
            by_control.entry(control.clone()).or_default().push(result);
        }
    }
    for (control, mut results) in by_control {
        results.sort_by(|a, b| {
            b.status
                .cmp(&a.status)
                .then(b.severity.cmp(&a.severity))
                .then(a.check.cmp(&b.check))
        });
        let heading = match workspace.control(&control) {
            Some(c) => format!("{} {} [{}]", c.id, c.title, c.criteria.join(" ")),
            None => "Not mapped to a control".to_owned(),
        };
        let _ = writeln!(out, "{heading}");
        for r in results {
            let mark = match r.status {
                Status::Pass => "pass ",
                Status::Fail => "FAIL ",
                Status::Error => "ERROR",
                Status::NotApplicable => "n/a  ",
            };
            let _ = writeln!(
                out,
                "  {mark} {:<8} {:<44} {:<24} {}",
                r.severity.as_str(),
                r.check,
                r.resource,
                r.message
            );
        }
        out.push('\n');
    }
    if scan.report.summary.fail + scan.report.summary.error == 0 && !all {
        out.push_str("Every check passed or does not apply. Show them with --all.\n");
    }
    out
}

/// One line per finding a run changed.
pub(crate) fn finding_lines(changed: &[(attest_model::Finding, &'static str)]) -> Vec<String> {
    changed
        .iter()
        .map(|(f, event)| {
            format!(
                "Finding {} {event}: {} ({}, {}, due {})",
                f.id,
                f.title,
                f.severity,
                f.status,
                f.due_at.strftime("%Y-%m-%d")
            )
        })
        .collect()
}

pub(crate) fn run(global: &GlobalArgs, args: &ScanArgs) -> anyhow::Result<ExitStatus> {
    let (workspace, engine, scan) = scan_host(global, &args.root.path)?;
    for line in finding_lines(&scan.findings) {
        printer::note(&line);
    }
    match args.format {
        ScanFormat::Table => printer::print_text(&table(&scan, &workspace, args.all))?,
        ScanFormat::Json => printer::print_json(&scan.report)?,
        ScanFormat::Sarif => printer::print_json(&to_sarif(&scan.report, engine.checks()))?,
        ScanFormat::Junit => printer::print_text(&to_junit(&scan.report))?,
    }
    if let Some(min) = threshold(args.fail_on) {
        let failing = scan
            .report
            .results
            .iter()
            .filter(|r| r.status == Status::Fail && r.severity >= min)
            .count();
        if failing > 0 {
            printer::note(&format!(
                "{failing} failing result(s) at or above {min} severity (--fail-on {min})"
            ));
            return Ok(ExitStatus::Findings);
        }
    }
    Ok(ExitStatus::Success)
}
