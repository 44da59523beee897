//! Writing a package: [`export`] from a workspace, a store and the ledger key.

use std::collections::HashMap;
use std::io::{Seek, Write};
use std::ops::ControlFlow;

use attest_ledger::{Checkpoint, GENESIS, Hash, SigningKey, payload_hash};
use attest_model::{EvidenceRecord, Freshness, Period};
use attest_report::ReportFormat;
use attest_store::Store;
use attest_workspace::Workspace;
use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use crate::PackageError;
use crate::format::{
    CheckpointLine, EntryLine, EvidenceLine, FORMAT, FileEntry, LedgerSegment, Manifest,
    PeriodText, VERIFIER, file_options,
};

/// What a package is made of.
#[derive(Clone, Copy)]
pub struct ExportInput<'a> {
    /// The workspace: organisation, controls and their evidence requirements.
    pub workspace: &'a Workspace,
    /// The store holding the history, the evidence and the ledger.
    pub store: &'a dyn Store,
    /// The organisation's ledger key, which signs the manifest.
    pub key: &'a SigningKey,
    /// The audit period.
    pub period: Period,
    /// The seed the Type 2 samples are drawn with.
    pub seed: u64,
    /// When the package is made: the reports' generation time and the manifest's `created_at`.
    pub generated_at: Timestamp,
}

/// What a written package holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportSummary {
    /// Evidence files in `evidence/`.
    pub evidence_files: usize,
    /// The first ledger entry of the segment.
    pub first_seq: u64,
    /// The last ledger entry of the segment.
    pub last_seq: u64,
    /// Checkpoints in `ledger/checkpoints.jsonl`, including the anchor.
    pub checkpoints: u64,
}

/// Hashes what passes through to the zip.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        self.size = self.size.saturating_add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct PackageWriter<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    files: Vec<FileEntry>,
}

impl<W: Write + Seek> PackageWriter<W> {
    /// Writes a file whose content `write` produces, recording its hash in the manifest.
    fn file(
        &mut self,
        path: &str,
        write: impl FnOnce(&mut dyn Write) -> Result<(), PackageError>,
    ) -> Result<(), PackageError> {
        self.zip.start_file(path, file_options())?;
        let mut hashing = Hashing {
            inner: &mut self.zip,
            hasher: Sha256::new(),
            size: 0,
        };
        write(&mut hashing)?;
        let sha256 = hex::encode(hashing.hasher.finalize());
        self.files.push(FileEntry {
            path: path.to_owned(),
            sha256,
            size: hashing.size,
        });
        Ok(())
    }

    fn bytes(&mut self, path: &str, content: &[u8]) -> Result<(), PackageError> {
        self.file(path, |w| Ok(w.write_all(content)?))
    }
}

/// A file name safe inside a zip: no directories, no control characters.
pub(crate) fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    if trimmed.is_empty() {
        "file".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Evidence that speaks for the period: effective by its end, and current at some day of it.
pub(crate) fn evidence_of_period<'a>(
    workspace: &Workspace,
    evidence: &'a [EvidenceRecord],
    period: Period,
) -> Vec<&'a EvidenceRecord> {
    evidence
        .iter()
        .filter(|e| {
            if e.effective_date > period.end {
                return false;
            }
            match workspace
                .control(&e.control)
                .and_then(|c| c.evidence.as_ref())
            {
                Some(requirement) => {
                    Freshness::expires_on(e.effective_date, requirement) >= period.start
                }
                None => e.effective_date >= period.start,
            }
        })
        .collect()
}

/// The ledger segment of a period: entries `first_seq..=last_seq`, the checkpoint just before
/// them (its anchor, if any) and the checkpoints signing them.
struct SegmentPlan {
    first_seq: u64,
    last_seq: u64,
    anchor: Option<Checkpoint>,
    checkpoints: Vec<Checkpoint>,
}

/// Every entry timed in `start..end`, widened to signed checkpoints: from just after the last
/// checkpoint before the first such entry (its anchor) to the first checkpoint at or after
/// the last one.
fn plan_segment(store: &dyn Store, start: i64, end: i64) -> Result<SegmentPlan, PackageError> {
    let checkpoints = store.checkpoints()?;
    let (mut first_in, mut last_in, mut last_any) = (None::<u64>, 0_u64, 0_u64);
    store.visit_ledger(1, &mut |e| {
        if (start..end).contains(&e.time) {
            first_in.get_or_insert(e.seq);
            last_in = e.seq;
        }
        last_any = e.seq;
        ControlFlow::Continue(())
    })?;
    let first_in = first_in.unwrap_or(last_any.saturating_add(1));
    let anchor = checkpoints.iter().rev().find(|c| c.seq < first_in).cloned();
    let first_seq = anchor.as_ref().map_or(1, |c| c.seq.saturating_add(1));
    let last_seq = checkpoints
        .iter()
        .find(|c| c.seq >= last_in.max(first_seq))
        .map_or(last_any, |c| c.seq);
    let has_anchor = anchor.is_some();
    let checkpoints = checkpoints
        .into_iter()
        .filter(|c| c.seq >= first_seq.saturating_sub(1) && c.seq <= last_seq)
        .filter(|c| has_anchor || c.seq >= first_seq)
        .collect();
    Ok(SegmentPlan {
        first_seq,
        last_seq,
        anchor,
        checkpoints,
    })
}

/// Writes the auditor package of `input.period` into `out`, which is flushed but not synced.
///
/// The ledger segment is checked against the store's checkpoints as it is written: a store
/// whose ledger was altered is refused ([`PackageError::CheckpointMismatch`]).
pub fn export<W: Write + Seek>(
    input: ExportInput<'_>,
    out: W,
) -> Result<ExportSummary, PackageError> {
    let ExportInput {
        workspace,
        store,
        key,
        period,
        seed,
        generated_at,
    } = input;
    let public = key.public();
    let start = attest_report::type2::day_start(period.start);
    let end = period
        .end
        .tomorrow()
        .map_or(i64::MAX, attest_report::type2::day_start);
    let segment = plan_segment(store, start, end)?;

    let report = type2_report(input)?;
    let type1 = attest_report::type1::type1(workspace, store, period.end, generated_at)?;
    let evidence = store.list_evidence(None)?;
    let evidence = evidence_of_period(workspace, &evidence, period);

    let mut package = PackageWriter {
        zip: zip::ZipWriter::new(out),
        files: Vec::new(),
    };
    package.bytes(
        "README.txt",
        readme(&workspace.organisation, period).as_bytes(),
    )?;
    package.bytes(
        "public-key.txt",
        format!("{}\n", public.to_hex()).as_bytes(),
    )?;
    package.bytes("verify.py", VERIFIER.as_bytes())?;
    for (format, name) in [
        (ReportFormat::Html, "reports/type2.html"),
        (ReportFormat::Json, "reports/type2.json"),
        (ReportFormat::Markdown, "reports/type2.md"),
    ] {
        package.bytes(
            name,
            attest_report::render_type2(&report, format)?.as_bytes(),
        )?;
    }
    for (format, name) in [
        (ReportFormat::Html, "reports/type1.html"),
        (ReportFormat::Json, "reports/type1.json"),
    ] {
        package.bytes(
            name,
            attest_report::render_type1(&type1, format)?.as_bytes(),
        )?;
    }
    package.bytes(
        "control-matrix.csv",
        attest_report::type2_matrix_csv(&report).as_bytes(),
    )?;
    package.bytes(
        "exceptions.csv",
        attest_report::type2_exceptions_csv(&report).as_bytes(),
    )?;
    let mut lines = Vec::new();
    for record in &evidence {
        let path = format!("evidence/{}-{}", record.id, safe_name(&record.file_name));
        let content =
            store
                .read_object(&record.sha256)
                .map_err(|source| PackageError::Evidence {
                    id: record.id,
                    file_name: record.file_name.clone(),
                    source,
                })?;
        package.bytes(&path, &content)?;
        lines.push(EvidenceLine {
            path,
            id: record.id,
            control: record.control.clone(),
            file_name: record.file_name.clone(),
            sha256: record.sha256.clone(),
            size: record.size,
            note: record.note.clone(),
            effective_date: record.effective_date.to_string(),
            added_at: record.added_at.to_string(),
            added_by: record.added_by.clone(),
        });
    }
    package.bytes(
        "evidence/evidence.json",
        serde_json::to_string_pretty(&lines)?.as_bytes(),
    )?;
    let entries = package_entries(&mut package, store, &segment)?;
    package.file("ledger/checkpoints.jsonl", |w| {
        for c in &segment.checkpoints {
            serde_json::to_writer(
                &mut *w,
                &CheckpointLine {
                    seq: c.seq,
                    head: hex::encode(c.head),
                    time: c.time,
                    signature: hex::encode(c.signature),
                },
            )?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })?;
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        organisation: workspace.organisation.clone(),
        period: PeriodText {
            start: period.start.to_string(),
            end: period.end.to_string(),
        },
        created_at: generated_at.to_string(),
        attest_version: env!("CARGO_PKG_VERSION").to_owned(),
        sample_seed: seed,
        public_key: public.to_hex(),
        ledger: LedgerSegment {
            first_seq: segment.first_seq,
            last_seq: segment.first_seq.saturating_add(entries).saturating_sub(1),
            checkpoints: segment.checkpoints.len() as u64,
        },
        files: std::mem::take(&mut package.files),
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest)?;
    package.zip.start_file("manifest.json", file_options())?;
    package.zip.write_all(&manifest_bytes)?;
    package.zip.start_file("manifest.sig", file_options())?;
    package
        .zip
        .write_all(format!("{}\n", hex::encode(key.sign_bytes(&manifest_bytes))).as_bytes())?;
    package.zip.finish()?.flush()?;
    Ok(ExportSummary {
        evidence_files: evidence.len(),
        first_seq: manifest.ledger.first_seq,
        last_seq: manifest.ledger.last_seq,
        checkpoints: manifest.ledger.checkpoints,
    })
}

/// Computes the Type 2 report of the period.
fn type2_report(input: ExportInput<'_>) -> Result<attest_report::type2::Type2Report, PackageError> {
    let started = std::time::Instant::now();
    let report = attest_report::type2::type2(attest_report::type2::Type2Input {
        workspace: input.workspace,
        store: input.store,
        period: input.period,
        seed: input.seed,
        generated_at: input.generated_at,
    })
    .map_err(PackageError::History)?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        intervals = report.summary.intervals,
        "type 2 report computed"
    );
    Ok(report)
}

/// Writes `ledger/entries.jsonl`, chaining every entry of the segment from its anchor and
/// checking the chain against the store's checkpoints; returns the number of entries.
fn package_entries<W: Write + Seek>(
    package: &mut PackageWriter<W>,
    store: &dyn Store,
    segment: &SegmentPlan,
) -> Result<u64, PackageError> {
    let signed: HashMap<u64, Hash> = segment
        .checkpoints
        .iter()
        .map(|c| (c.seq, c.head))
        .collect();
    let mut entries = 0_u64;
    package.file("ledger/entries.jsonl", |w| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, w);
        let mut prev = segment.anchor.as_ref().map_or(GENESIS, |c| c.head);
        let mut failure: Option<PackageError> = None;
        store.visit_ledger(segment.first_seq, &mut |stored| {
            if stored.seq > segment.last_seq {
                return ControlFlow::Break(());
            }
            let payload_sha256 = payload_hash(stored.payload.as_bytes());
            let hash = attest_ledger::entry_hash(
                stored.seq,
                stored.time,
                stored.kind,
                &payload_sha256,
                &prev,
            );
            if signed.get(&stored.seq).is_some_and(|head| *head != hash) {
                failure = Some(PackageError::CheckpointMismatch { seq: stored.seq });
                return ControlFlow::Break(());
            }
            let record = EntryLine {
                seq: stored.seq,
                time: stored.time,
                kind: stored.kind.to_owned(),
                payload: stored.payload.to_owned(),
                payload_sha256: hex::encode(payload_sha256),
                prev: hex::encode(prev),
            };
            if let Err(e) = serde_json::to_writer(&mut w, &record)
                .and_then(|()| w.write_all(b"\n").map_err(serde_json::Error::io))
            {
                failure = Some(e.into());
                return ControlFlow::Break(());
            }
            prev = hash;
            entries = entries.saturating_add(1);
            ControlFlow::Continue(())
        })?;
        if let Some(failure) = failure {
            return Err(failure);
        }
        w.flush()?;
        Ok(())
    })?;
    Ok(entries)
}

fn readme(organisation: &str, period: Period) -> String {
    format!(
        "Attest auditor package — {organisation}, period {} to {}\n\n\
         reports/type2.html   operating effectiveness over the period (also .json, .md)\n\
         reports/type1.html   control design as of the last day of the period (also .json)\n\
         control-matrix.csv   one row per control: criteria, owner, conclusion, figures\n\
         exceptions.csv       every exception and gap in monitoring\n\
         evidence/            the evidence files, and evidence.json describing them\n\
         ledger/              the ledger entries of the period, anchored at a signed\n\
                              checkpoint, and the checkpoints signing them\n\
         public-key.txt       the organisation's Ed25519 public key\n\
         manifest.json        the SHA-256 of every file; manifest.sig signs it\n\
         verify.py            an independent verifier (Python 3, standard library only)\n\n\
         Verify: python3 verify.py THIS.zip --public-key <the key the organisation published>\n\
         or:     attest verify THIS.zip --public-key <key>\n\
         The ledger format is documented so that you can write your own verifier.\n",
        period.start, period.end
    )
}
