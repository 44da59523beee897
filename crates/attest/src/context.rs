//! Finding the workspace and the store, and loading them for a command.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use attest_catalog::CheckSources;
use attest_diagnostics::has_errors;
use attest_engine::CheckEngine;
use attest_store_sqlite::SqliteStore;
use attest_workspace::Workspace;
use jiff::Zoned;
use jiff::civil::Date;

use crate::args::GlobalArgs;
use crate::exit::Failure;
use crate::printer;

/// The workspace root for this invocation: `--workspace`, else found upwards from the
/// current folder.
pub(crate) fn workspace_root(global: &GlobalArgs) -> anyhow::Result<Option<PathBuf>> {
    if let Some(dir) = &global.workspace {
        if !dir.join(attest_workspace::CONFIG_FILE).is_file() {
            return Err(Failure::input(format!(
                "{} is not an Attest workspace (no {}); create one with `attest init {}`",
                dir.display(),
                attest_workspace::CONFIG_FILE,
                dir.display()
            )));
        }
        return Ok(Some(dir.clone()));
    }
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    Ok(attest_workspace::find_root(&cwd).map(|root| relative_to(&root, &cwd)))
}

/// `path` relative to `base` when it lies under it, so diagnostics print short, clickable paths.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    if let Ok(rel) = path.strip_prefix(base) {
        return if rel.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            rel.to_path_buf()
        };
    }
    // The workspace is an ancestor of the current folder: `..`, `../..`, ...
    match base.strip_prefix(path) {
        Ok(up) => up.components().map(|_| "..").collect(),
        Err(_) => path.to_path_buf(),
    }
}

/// Loads the built-ins and the workspace; prints diagnostics; fails (exit 2) on errors.
pub(crate) fn load_workspace(global: &GlobalArgs) -> anyhow::Result<Workspace> {
    Ok(load_with_engine(global, false)?.0)
}

/// Loads the workspace and, when `compile` is set, compiles its checks; fails (exit 2) on
/// errors in either.
pub(crate) fn load_with_engine(
    global: &GlobalArgs,
    compile: bool,
) -> anyhow::Result<(Workspace, Option<(CheckEngine, CheckSources)>)> {
    let root = workspace_root(global)?;
    let started = std::time::Instant::now();
    let (workspace, sources, mut diagnostics) = attest_catalog::load_with_checks(root.as_deref());
    tracing::debug!(
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "workspace loaded"
    );
    let engine = if compile && !has_errors(&diagnostics) {
        let started = std::time::Instant::now();
        let (engine, more) = CheckEngine::compile(&workspace.checks, &sources.rego);
        tracing::debug!(
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "checks compiled"
        );
        diagnostics.extend(more);
        Some((engine, sources))
    } else {
        None
    };
    printer::print_diagnostics(&diagnostics, global.color);
    if has_errors(&diagnostics) {
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        return Err(Failure::input(format!(
            "the workspace has {errors} error(s); fix them (see `attest validate`) and run again"
        )));
    }
    Ok((workspace, engine))
}

/// The store folder: `--store`, else `<workspace>/.attest`, else the user's data folder.
pub(crate) fn store_dir(global: &GlobalArgs, workspace: &Workspace) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &global.store {
        return Ok(dir.clone());
    }
    if let Some(root) = &workspace.root {
        return Ok(root.join(".attest"));
    }
    let dirs = directories::ProjectDirs::from("", "", "attest")
        .context("cannot find a home folder for the store; pass --store DIR")?;
    Ok(dirs.data_dir().to_path_buf())
}

/// Opens the store for `workspace`.
pub(crate) fn open_store(
    global: &GlobalArgs,
    workspace: &Workspace,
) -> anyhow::Result<SqliteStore> {
    let dir = store_dir(global, workspace)?;
    SqliteStore::open(&dir).with_context(|| format!("cannot open the store in {}", dir.display()))
}

/// Today in the local time zone.
pub(crate) fn today() -> Date {
    Zoned::now().date()
}
