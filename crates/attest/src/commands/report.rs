//! `attest report readiness`.

use anyhow::Context as _;
use attest_report::{ReadinessInput, ReadinessReport, ReportFormat};
use attest_store::Store as _;
use attest_workspace::Workspace;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::args::{GlobalArgs, PeriodArg, ReportCommand, ReportFormatArg};
use crate::context::{load_workspace, store_dir, today};
use crate::exit::{ExitStatus, Failure};
use crate::printer;

/// Assesses readiness of `workspace` on `as_of` (default today) from the store's evidence and results.
pub(crate) fn assess(
    global: &GlobalArgs,
    workspace: &Workspace,
    as_of: Option<Date>,
) -> anyhow::Result<ReadinessReport> {
    let store = read_store(global, workspace)?;
    let evidence = store.list_evidence(None)?;
    let results = store.current_results()?;
    let findings = store.findings()?;
    Ok(attest_report::assess(ReadinessInput {
        findings: &findings,
        workspace,
        evidence: &evidence,
        results: &results,
        today: as_of.unwrap_or_else(today),
        generated_at: Timestamp::now(),
    }))
}

/// The report format of a command-line choice.
pub(crate) fn report_format(format: ReportFormatArg) -> ReportFormat {
    match format {
        ReportFormatArg::Html => ReportFormat::Html,
        ReportFormatArg::Md => ReportFormat::Markdown,
        ReportFormatArg::Json => ReportFormat::Json,
        ReportFormatArg::Csv => ReportFormat::Csv,
    }
}

/// Opens the store of `workspace` to read it (no key is created or used).
pub(crate) fn read_store(
    global: &GlobalArgs,
    workspace: &Workspace,
) -> anyhow::Result<attest_store_sqlite::SqliteStore> {
    let dir = store_dir(global, workspace)?;
    attest_store_sqlite::SqliteStore::open(&dir)
        .with_context(|| format!("cannot open the store in {}", dir.display()))
}

/// The period of `--period`, else the workspace's.
pub(crate) fn period(
    given: Option<PeriodArg>,
    workspace: &Workspace,
) -> anyhow::Result<attest_model::Period> {
    given
        .map(|p| p.0)
        .or(workspace.scope.period)
        .ok_or_else(|| {
            Failure::input(
                "no audit period: pass --period START..END or set scope.period in attest.toml",
            )
        })
}

/// A seed for sample draws from the operating system's random source.
pub(crate) fn random_seed() -> anyhow::Result<u64> {
    let mut bytes = [0_u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("cannot read random bytes: {e}"))?;
    // Keep seeds short enough to read aloud and type: 12 decimal digits.
    Ok(u64::from_le_bytes(bytes) % 1_000_000_000_000)
}

/// Computes the Type 2 report of `period`.
pub(crate) fn type2_report(
    workspace: &Workspace,
    store: &dyn attest_store::Store,
    period: attest_model::Period,
    seed: u64,
) -> anyhow::Result<attest_report::type2::Type2Report> {
    let started = std::time::Instant::now();
    let report = attest_report::type2::type2(attest_report::type2::Type2Input {
        workspace,
        store,
        period,
        seed,
        generated_at: Timestamp::now(),
    })
    .context("cannot read the history for the Type 2 report")?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        intervals = report.summary.intervals,
        "type 2 report computed"
    );
    Ok(report)
}

fn emit(output: Option<&std::path::Path>, text: &str, summary: &str) -> anyhow::Result<()> {
    if let Some(path) = output {
        write_atomically(path, text.as_bytes())?;
        printer::note(&format!("Wrote {} ({summary}).", path.display()));
    } else {
        printer::print_text(text)?;
        printer::note(summary);
    }
    Ok(())
}

pub(crate) fn run(global: &GlobalArgs, command: &ReportCommand) -> anyhow::Result<ExitStatus> {
    let args = match command {
        ReportCommand::Readiness(args) => args,
        ReportCommand::Type1(args) => {
            let workspace = load_workspace(global)?;
            let store = read_store(global, &workspace)?;
            let as_of = args.as_of.unwrap_or_else(today);
            let report = attest_report::type1::type1(&workspace, &store, as_of, Timestamp::now())?;
            let text = attest_report::render_type1(&report, report_format(args.format))?;
            let s = &report.summary;
            emit(
                args.output.as_deref(),
                &text,
                &format!(
                    "Type 1 as of {as_of}: {} of {} controls implemented, {} not implemented, {} not evaluated",
                    s.implemented, s.controls, s.not_implemented, s.not_evaluated
                ),
            )?;
            return Ok(ExitStatus::Success);
        }
        ReportCommand::Type2(args) => {
            let workspace = load_workspace(global)?;
            let period = period(args.sampling.period, &workspace)?;
            let store = read_store(global, &workspace)?;
            let seed = match args.sampling.seed {
                Some(seed) => seed,
                None => random_seed()?,
            };
            let report = type2_report(&workspace, &store, period, seed)?;
            let text = attest_report::render_type2(&report, report_format(args.format))?;
            let s = &report.summary;
            emit(
                args.output.as_deref(),
                &text,
                &format!(
                    "Type 2 for {} to {}: {} of {} controls with no exceptions, {} with exceptions noted, {} not tested; samples drawn with seed {seed} (pass --seed {seed} to draw them again)",
                    period.start,
                    period.end,
                    s.no_exceptions,
                    s.controls,
                    s.exceptions_noted,
                    s.not_tested
                ),
            )?;
            return Ok(ExitStatus::Success);
        }
    };
    let workspace = load_workspace(global)?;
    let report = assess(global, &workspace, args.as_of)?;
    let text = attest_report::render(&report, report_format(args.format))?;
    match &args.output {
        Some(path) => {
            write_atomically(path, text.as_bytes())?;
            printer::note(&format!(
                "Wrote the readiness report to {} (overall readiness {}%, {} gap(s), {} remediation item(s)).",
                path.display(),
                report.summary.readiness_percent,
                report.gaps.len(),
                report.remediation.len()
            ));
        }
        None => printer::print_text(&text)?,
    }
    Ok(ExitStatus::Success)
}

/// Writes `content` to `path` through a temporary file and a rename: whole or not at all.
pub(crate) fn write_atomically(path: &std::path::Path, content: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(content)?;
    // A report is a document to share: readable like any file the user creates, not 0600.
    tmp.as_file()
        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
