//! `attest report readiness`.

use anyhow::Context as _;
use attest_report::{ReadinessInput, ReadinessReport, ReportFormat};
use attest_store::Store as _;
use attest_workspace::Workspace;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::args::{GlobalArgs, ReportCommand, ReportFormatArg};
use crate::context::{load_workspace, open_store, today};
use crate::exit::ExitStatus;
use crate::printer;

/// Assesses readiness of `workspace` on `as_of` (default today) from the store's evidence and results.
pub(crate) fn assess(
    global: &GlobalArgs,
    workspace: &Workspace,
    as_of: Option<Date>,
) -> anyhow::Result<ReadinessReport> {
    let store = open_store(global, workspace)?;
    let evidence = store.list_evidence(None)?;
    let results = store.current_results()?;
    Ok(attest_report::assess(ReadinessInput {
        workspace,
        evidence: &evidence,
        results: &results,
        today: as_of.unwrap_or_else(today),
        generated_at: Timestamp::now(),
    }))
}

pub(crate) fn run(global: &GlobalArgs, command: &ReportCommand) -> anyhow::Result<ExitStatus> {
    let ReportCommand::Readiness(args) = command;
    let workspace = load_workspace(global)?;
    let report = assess(global, &workspace, args.as_of)?;
    let format = match args.format {
        ReportFormatArg::Html => ReportFormat::Html,
        ReportFormatArg::Md => ReportFormat::Markdown,
        ReportFormatArg::Json => ReportFormat::Json,
    };
    let text = attest_report::render(&report, format)?;
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
