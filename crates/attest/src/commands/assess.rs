//! `attest assess`: scan this host, then assess readiness and write the report.

use attest_report::ReportFormat;

use crate::args::{AssessArgs, GlobalArgs};
use crate::commands::report::write_atomically;
use crate::commands::scan::{scan_host, summary_line};
use crate::exit::ExitStatus;
use crate::printer;

pub(crate) fn run(global: &GlobalArgs, args: &AssessArgs) -> anyhow::Result<ExitStatus> {
    let (workspace, _, scan) = scan_host(global, &args.root.path)?;
    printer::note(&summary_line(&scan));
    let report = crate::commands::report::assess(global, &workspace, None)?;
    let html = attest_report::render(&report, ReportFormat::Html)?;
    write_atomically(&args.output, html.as_bytes())?;
    crate::commands::status::print_status(&report)?;
    printer::note(&format!(
        "Wrote the readiness report to {}. See failing checks with `attest scan`.",
        args.output.display()
    ));
    Ok(ExitStatus::Success)
}
