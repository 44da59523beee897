//! `attest verify`: the ledger's chain, checkpoints and payloads, and every evidence file.

use anyhow::Context as _;
use attest_ledger::{PublicKey, check_payload, verify};
use attest_store::Store as _;
use attest_store_sqlite::SqliteStore;

use crate::args::{GlobalArgs, VerifyArgs};
use crate::context::{key_path, load_workspace, store_dir};
use crate::exit::{ExitStatus, Failure};
use crate::printer;

fn public_key(args: &VerifyArgs, store_dir: &std::path::Path) -> anyhow::Result<PublicKey> {
    let text = match &args.public_key {
        Some(value) if std::path::Path::new(value).is_file() => fs_err::read_to_string(value)?,
        Some(value) => value.clone(),
        None => {
            let path = key_path(store_dir).with_extension("pub");
            fs_err::read_to_string(&path).map_err(|e| {
                Failure::input(format!(
                    "no public key to verify with ({e}); pass --public-key"
                ))
            })?
        }
    };
    PublicKey::from_hex(&text).map_err(|e| Failure::input(e.to_string()))
}

pub(crate) fn run(global: &GlobalArgs, args: &VerifyArgs) -> anyhow::Result<ExitStatus> {
    let workspace = load_workspace(global)?;
    let dir = store_dir(global, &workspace)?;
    // Opened without the signing key: verifying never writes or signs.
    let store = SqliteStore::open(&dir)
        .with_context(|| format!("cannot open the store in {}", dir.display()))?;
    let key = public_key(args, &dir)?;
    let (records, checkpoints) = store.ledger()?;
    let entries: Vec<_> = records.iter().map(|r| r.entry.clone()).collect();
    let verified = match verify(&entries, &checkpoints, &key) {
        Ok(verified) => verified,
        Err(broken) => {
            printer::note(&format!("ledger: TAMPERED — {broken}"));
            return Ok(ExitStatus::Findings);
        }
    };
    for record in &records {
        if let Err(broken) = check_payload(&record.entry, record.payload.as_bytes()) {
            printer::note(&format!("ledger: TAMPERED — {broken}"));
            return Ok(ExitStatus::Findings);
        }
    }
    let mut bad_objects = Vec::new();
    let evidence = store.list_evidence(None)?;
    for record in &evidence {
        if let Err(e) = store.read_object(&record.sha256) {
            bad_objects.push(format!(
                "evidence #{} ({}, {}): {e}",
                record.id, record.control, record.file_name
            ));
        }
    }
    let tail = if verified.unsigned_tail == 0 {
        String::new()
    } else {
        format!(
            "; {} entries after the last checkpoint are not signed yet",
            verified.unsigned_tail
        )
    };
    printer::note(&format!(
        "ledger: {} entries, {} checkpoints, signed through entry {}{tail}; chain, signatures and payloads verified with key {}",
        verified.entries,
        verified.checkpoints,
        verified.signed_through,
        key.to_hex()
    ));
    if !bad_objects.is_empty() {
        for line in &bad_objects {
            printer::note(&format!("evidence: TAMPERED — {line}"));
        }
        return Ok(ExitStatus::Findings);
    }
    printer::note(&format!(
        "evidence: {} files verified against their SHA-256",
        evidence.len()
    ));
    Ok(ExitStatus::Success)
}
