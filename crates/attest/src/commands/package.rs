//! `attest export package` and `attest verify PACKAGE.zip`: the auditor package
//! (`docs/formats/package.md`), written and checked by `attest-package`.

use std::path::Path;

use anyhow::Context as _;
use attest_package::{ExportInput, Package, VerifyOutcome};
use jiff::Timestamp;

use crate::args::{ExportCommand, GlobalArgs};
use crate::commands::report::{period, random_seed};
use crate::commands::verify::public_key;
use crate::context::{load_workspace, open_store, signing_key, store_dir};
use crate::exit::ExitStatus;
use crate::printer;

pub(crate) fn export(global: &GlobalArgs, command: &ExportCommand) -> anyhow::Result<ExitStatus> {
    let ExportCommand::Package(args) = command;
    let started = std::time::Instant::now();
    let workspace = load_workspace(global)?;
    let period = period(args.sampling.period, &workspace)?;
    let store = open_store(global, &workspace)?;
    let dir = store_dir(global, &workspace)?;
    let key = signing_key(&dir)?;
    let public = key.public();
    let seed = match args.sampling.seed {
        Some(seed) => seed,
        None => random_seed()?,
    };

    let output = &args.output;
    let out_dir = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let tmp = tempfile::NamedTempFile::new_in(out_dir)
        .with_context(|| format!("cannot write in {}", out_dir.display()))?;
    let mut writer = std::io::BufWriter::new(tmp.reopen()?);
    let summary = attest_package::export(
        ExportInput {
            workspace: &workspace,
            store: &store,
            key: &key,
            period,
            seed,
            generated_at: Timestamp::now(),
        },
        &mut writer,
    )?;
    writer
        .into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write the package: {}", e.error()))?
        .sync_all()?;
    tmp.as_file()
        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    tmp.persist(output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    printer::note(&format!(
        "Wrote {}: Type 2 and Type 1 reports, control matrix, {} evidence file(s), ledger entries {} to {} with {} checkpoint(s), public key {}, signed manifest and verify.py ({:.1} s). Samples drawn with seed {seed}.",
        output.display(),
        summary.evidence_files,
        summary.first_seq,
        summary.last_seq,
        summary.checkpoints,
        public.to_hex(),
        started.elapsed().as_secs_f64()
    ));
    Ok(ExitStatus::Success)
}

/// `attest verify PACKAGE.zip`.
pub(crate) fn verify(path: &Path, public_key_arg: Option<&str>) -> anyhow::Result<ExitStatus> {
    let started = std::time::Instant::now();
    let file = fs_err::File::open(path)?;
    let package = Package::open(std::io::BufReader::new(file), &path.display().to_string())?;
    let key = match public_key_arg {
        Some(given) => Some(public_key(Some(given), None)?),
        None => None,
    };
    let intact = match package.verify(key.as_ref())? {
        VerifyOutcome::Intact(intact) => intact,
        VerifyOutcome::Tampered { reason } => {
            printer::note(&format!("package: TAMPERED — {reason}"));
            return Ok(ExitStatus::Findings);
        }
    };
    printer::note(&format!(
        "package: intact — manifest signed by {}, {} files match their SHA-256, ledger entries {} to {} chained from their anchor with {} checkpoint signature(s), {} evidence file(s) ({:.1} s)",
        intact.public_key.to_hex(),
        intact.files,
        intact.first_seq,
        intact.last_seq,
        intact.checkpoints,
        intact.evidence_files,
        started.elapsed().as_secs_f64()
    ));
    for note in &intact.notes {
        printer::note(&format!("note: {note}"));
    }
    Ok(ExitStatus::Success)
}
