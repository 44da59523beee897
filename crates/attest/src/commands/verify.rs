//! `attest verify`: the ledger's chain, checkpoints and payloads, every evidence file, and the
//! history replayed from the ledger.

use attest_ledger::PublicKey;
use attest_store::verify::{HistoryCheck, StoreReport, verify_store};

use crate::args::{GlobalArgs, VerifyArgs};
use crate::context::{key_path, load_workspace, store_dir};
use crate::exit::{ExitStatus, Failure};
use crate::printer;

/// The public key to verify with: `--public-key` (hex or a file), else the store's own.
pub(crate) fn public_key(
    given: Option<&str>,
    store_dir: Option<&std::path::Path>,
) -> anyhow::Result<PublicKey> {
    let text = match (given, store_dir) {
        (Some(value), _) if std::path::Path::new(value).is_file() => fs_err::read_to_string(value)?,
        (Some(value), _) => value.to_owned(),
        (None, Some(dir)) => {
            let path = key_path(dir).with_extension("pub");
            fs_err::read_to_string(&path).map_err(|e| {
                Failure::input(format!(
                    "no public key to verify with ({e}); pass --public-key"
                ))
            })?
        }
        (None, None) => {
            return Err(Failure::input(
                "no public key to verify with; pass --public-key",
            ));
        }
    };
    PublicKey::from_hex(&text).map_err(|e| {
        Failure::input(format!(
            "{e}: {}",
            text.trim().chars().take(80).collect::<String>()
        ))
    })
}

pub(crate) fn run(global: &GlobalArgs, args: &VerifyArgs) -> anyhow::Result<ExitStatus> {
    if let Some(package) = &args.package {
        return crate::commands::package::verify(package, args.public_key.as_deref());
    }
    let workspace = load_workspace(global)?;
    let dir = store_dir(global, &workspace)?;
    // Opened without the signing key: verifying never writes or signs.
    let store: Box<dyn attest_store::Store> = match args.database.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Box::new(
                attest_store_postgres::PostgresStore::connect(url).map_err(|e| {
                    Failure::input(format!("cannot open the PostgreSQL store: {e}"))
                })?,
            )
        }
        Some(other) => Box::new(
            attest_store_sqlite::SqliteStore::open(std::path::Path::new(
                other.strip_prefix("sqlite:").unwrap_or(other),
            ))
            .map_err(|e| Failure::input(format!("cannot open the store in {other}: {e}")))?,
        ),
        None => Box::new(crate::commands::report::read_store(global, &workspace)?),
    };
    let key = public_key(args.public_key.as_deref(), Some(&dir))?;
    let started = std::time::Instant::now();
    let report = verify_store(store.as_ref(), &key)?;
    let seconds = started.elapsed().as_secs_f64();
    print_report(&report, &key, seconds);
    Ok(if report.is_intact() {
        ExitStatus::Success
    } else {
        ExitStatus::Findings
    })
}

fn print_report(report: &StoreReport, key: &PublicKey, seconds: f64) {
    match &report.ledger {
        Ok(verified) => {
            let tail = if verified.unsigned_tail == 0 {
                String::new()
            } else {
                format!(
                    "; {} entries after the last checkpoint are not signed yet",
                    verified.unsigned_tail
                )
            };
            #[allow(clippy::cast_precision_loss, reason = "a rate for people to read")]
            let rate = verified.entries as f64 / seconds.max(1e-9);
            printer::note(&format!(
                "ledger: {} entries, {} checkpoints, signed through entry {}{tail}; chain, signatures and payloads verified with key {} ({seconds:.2} s, {rate:.0} entries/s)",
                verified.entries,
                verified.checkpoints,
                verified.signed_through,
                key.to_hex()
            ));
        }
        Err(broken) => printer::note(&format!("ledger: TAMPERED — {broken}")),
    }
    if report.evidence_problems.is_empty() {
        printer::note(&format!(
            "evidence: {} records match the ledger and their files their SHA-256",
            report.evidence_checked
        ));
    } else {
        for problem in &report.evidence_problems {
            printer::note(&format!("evidence: TAMPERED — {problem}"));
        }
    }
    match &report.history {
        HistoryCheck::Matches { runs, intervals } => printer::note(&format!(
            "history: {intervals} intervals are exactly what the ledger's {runs} runs determine"
        )),
        HistoryCheck::Differs { differences, count } => {
            printer::note(&format!(
                "history: TAMPERED — {count} difference(s) from what the ledger records"
            ));
            for difference in differences {
                printer::note(&format!("  {difference}"));
            }
        }
        HistoryCheck::NotReplayed(reason) => {
            printer::note(&format!("history: not compared with the ledger: {reason}"));
        }
    }
}
