//! `attest validate`: every problem in the workspace, with file, line and column.

use attest_diagnostics::has_errors;

use crate::args::{DiagnosticFormat, GlobalArgs, ValidateArgs};
use crate::context::workspace_root;
use crate::exit::ExitStatus;
use crate::printer;

pub(crate) fn run(global: &GlobalArgs, args: &ValidateArgs) -> anyhow::Result<ExitStatus> {
    let root = workspace_root(global)?;
    let (workspace, sources, mut diagnostics) = attest_catalog::load_with_checks(root.as_deref());
    // Rego that does not compile, and checks without a rule, are workspace errors too.
    let (engine, rego) = attest_engine::CheckEngine::compile(&workspace.checks, &sources.rego);
    diagnostics.extend(rego);
    diagnostics.extend(engine.rule_diagnostics(&workspace.check_locations));
    match args.format {
        DiagnosticFormat::Json => printer::print_json(&attest_diagnostics::to_json(&diagnostics))?,
        DiagnosticFormat::Human => printer::print_diagnostics(&diagnostics, global.color),
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let what = match &root {
        Some(root) => format!("workspace {}", root.display()),
        None => "built-in library (no workspace found)".to_owned(),
    };
    if has_errors(&diagnostics) {
        printer::note(&format!("{what}: {errors} error(s), {warnings} warning(s)"));
        return Ok(ExitStatus::Error);
    }
    printer::note(&format!(
        "{what}: valid — {} criteria, {} controls in {} families{}",
        workspace.criteria.len(),
        workspace.controls.len(),
        workspace.families.len(),
        if warnings > 0 {
            format!(", {warnings} warning(s)")
        } else {
            String::new()
        }
    ));
    Ok(ExitStatus::Success)
}
