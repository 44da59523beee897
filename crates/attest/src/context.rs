//! Finding the workspace and the store, and loading them for a command.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use attest_catalog::CheckSources;
use attest_diagnostics::has_errors;
use attest_engine::CheckEngine;
use attest_ledger::SigningKey;
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

/// Opens the store for `workspace`, with the organisation's ledger key (created on first use).
pub(crate) fn open_store(
    global: &GlobalArgs,
    workspace: &Workspace,
) -> anyhow::Result<SqliteStore> {
    let dir = store_dir(global, workspace)?;
    let store = SqliteStore::open(&dir)
        .with_context(|| format!("cannot open the store in {}", dir.display()))?
        .with_signing_key(signing_key(&dir)?);
    record_configuration(&store, workspace)?;
    Ok(store)
}

/// The files that configure a workspace: `attest.toml`, `controls/`, `checks/`, `policies/`
/// and `criteria/`, as (path relative to the workspace, SHA-256), sorted.
fn configuration_files(root: &Path) -> anyhow::Result<Vec<(String, String)>> {
    use sha2::Digest as _;
    let mut files = Vec::new();
    let mut pending = vec![root.join(attest_workspace::CONFIG_FILE)];
    for dir in ["controls", "checks", "policies", "criteria"] {
        pending.push(root.join(dir));
    }
    while let Some(path) = pending.pop() {
        let Ok(meta) = fs_err::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            for entry in fs_err::read_dir(&path)? {
                pending.push(entry?.path());
            }
        } else if meta.is_file() {
            let content = fs_err::read(&path)?;
            let relative = path.strip_prefix(root).unwrap_or(&path);
            files.push((
                relative.display().to_string(),
                hex::encode(sha2::Sha256::digest(&content)),
            ));
        }
    }
    files.sort();
    Ok(files)
}

/// Appends a `config.changed` ledger entry when the workspace's configuration files differ
/// from those the ledger last recorded, so the ledger shows when controls and checks changed.
fn record_configuration(store: &SqliteStore, workspace: &Workspace) -> anyhow::Result<()> {
    use attest_store::Store as _;
    let Some(root) = &workspace.root else {
        return Ok(());
    };
    let files: serde_json::Map<String, serde_json::Value> = configuration_files(root)?
        .into_iter()
        .map(|(path, sha256)| (path, serde_json::Value::String(sha256)))
        .collect();
    let payload = serde_json::json!({ "files": files });
    let canonical = attest_store::payload::canonical(&payload);
    let kind = attest_store::payload::CONFIG_CHANGED;
    if store
        .latest_event(kind)?
        .is_some_and(|(_, last)| last == canonical)
    {
        return Ok(());
    }
    store
        .append_event(jiff::Timestamp::now(), kind, &payload)
        .context("cannot record the configuration in the ledger")?;
    Ok(())
}

/// Path of the ledger signing key in a store folder; the public key is beside it (`.pub`).
pub(crate) fn key_path(store_dir: &Path) -> PathBuf {
    store_dir.join("keys").join("ledger.key")
}

/// Loads the ledger signing key of `store_dir`, creating it (mode 0600) if there is none.
pub(crate) fn signing_key(store_dir: &Path) -> anyhow::Result<SigningKey> {
    signing_key_file(&key_path(store_dir))
}

/// Loads the ledger signing key in `path`, creating it (mode 0600, public key beside it as
/// `.pub`) if there is none.
pub(crate) fn signing_key_file(path: &Path) -> anyhow::Result<SigningKey> {
    use fs_err::os::unix::fs::OpenOptionsExt as _;
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;
    let path = path.to_path_buf();
    match fs_err::metadata(&path) {
        Ok(meta) => {
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(Failure::input(format!(
                    "{} is readable by others (mode {:04o}); run `chmod 600 {}`",
                    path.display(),
                    meta.permissions().mode() & 0o7777,
                    path.display()
                )));
            }
            let text = fs_err::read_to_string(&path)?;
            let seed: [u8; 32] = hex::decode(text.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    Failure::input(format!(
                        "{} is not a ledger key (64 hex digits)",
                        path.display()
                    ))
                })?;
            Ok(SigningKey::from_seed(seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate()?;
            let dir = path.parent().unwrap_or(Path::new("."));
            fs_err::create_dir_all(dir)?;
            fs_err::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            let mut file = fs_err::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?;
            file.write_all(hex::encode(key.to_seed()).as_bytes())?;
            file.sync_all()?;
            fs_err::write(
                path.with_extension("pub"),
                format!("{}\n", key.public().to_hex()),
            )?;
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}

/// Today in the local time zone.
pub(crate) fn today() -> Date {
    Zoned::now().date()
}

/// Who is acting: `given`, else `$ATTEST_USER`, else `$USER`, else `unknown`.
pub(crate) fn user(given: Option<&String>) -> String {
    given
        .cloned()
        .or_else(|| std::env::var("ATTEST_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The current failing results of the checks of `controls`, as `check on resource of target`.
pub(crate) fn failing_results(
    store: &dyn attest_store::Store,
    workspace: &Workspace,
    controls: &[String],
) -> anyhow::Result<Vec<String>> {
    let checks: Vec<&String> = controls
        .iter()
        .filter_map(|id| workspace.control(id))
        .flat_map(|c| c.checks.iter())
        .collect();
    Ok(store
        .current_results()?
        .into_iter()
        .filter(|r| r.status == attest_model::Status::Fail && checks.contains(&&r.check))
        .map(|r| format!("{} on {} of {}", r.check, r.resource, r.target))
        .collect())
}

/// Applies the findings lifecycle to the store's current failing results at `now`: opens findings
/// for controls failing past their grace period, records fixes and recurrences. Returns the
/// findings changed, with their event.
pub(crate) fn update_findings(
    store: &dyn attest_store::Store,
    workspace: &Workspace,
    now: jiff::Timestamp,
) -> anyhow::Result<Vec<(attest_model::Finding, &'static str)>> {
    // Findings keep whole seconds, as the ledger does.
    let now = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
    let current = store.failing_results()?;
    let findings = store.findings()?;
    let mut changed = Vec::new();
    for action in attest_findings::plan(workspace, &workspace.findings, &current, &findings, now) {
        let saved = store
            .save_finding(
                &action.finding,
                &attest_store::FindingChange {
                    event: action.event,
                    by: "attest",
                    note: None,
                    at: now,
                },
            )
            .context("cannot record a finding")?;
        changed.push((saved, action.event));
    }
    Ok(changed)
}
