//! `attest export package` and `attest verify PACKAGE.zip`: the auditor package
//! (`docs/formats/package.md`).
//!
//! The package holds the period's reports, the control matrix, the evidence files, the
//! ledger segment of the period with its checkpoints (anchored at the last checkpoint before
//! the period, so the segment verifies on its own), the public key, the standalone verifier,
//! and a manifest of every file's SHA-256 signed with the organisation's key.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, Read as _, Write};
use std::ops::ControlFlow;
use std::path::Path;

use anyhow::Context as _;
use attest_ledger::{Checkpoint, Entry, GENESIS, Hash, PublicKey, Verifier, payload_hash};
use attest_model::{EvidenceRecord, Freshness, Period};
use attest_report::ReportFormat;
use attest_store::Store as _;
use attest_store::payload::{EVIDENCE_ADDED, evidence_added};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use zip::write::SimpleFileOptions;

use crate::args::{ExportCommand, GlobalArgs};
use crate::commands::report::{period, random_seed, type2_report};
use crate::commands::verify::public_key;
use crate::context::{load_workspace, open_store, signing_key, store_dir};
use crate::exit::{ExitStatus, Failure};
use crate::printer;

/// The manifest format this Attest writes and reads.
const FORMAT: &str = "attest-package-v1";

const VERIFIER: &str = include_str!("../../resources/verify.py");

/// `manifest.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    organisation: String,
    period: PeriodText,
    created_at: String,
    attest_version: String,
    sample_seed: u64,
    public_key: String,
    ledger: LedgerSegment,
    files: Vec<FileEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodText {
    start: String,
    end: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerSegment {
    first_seq: u64,
    last_seq: u64,
    /// Checkpoints in `ledger/checkpoints.jsonl`, including the anchor.
    checkpoints: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    path: String,
    sha256: String,
    size: u64,
}

/// One line of `ledger/entries.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryLine {
    seq: u64,
    time: i64,
    kind: String,
    payload: String,
    payload_sha256: String,
    prev: String,
}

/// One line of `ledger/checkpoints.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointLine {
    seq: u64,
    head: String,
    time: i64,
    signature: String,
}

/// One record of `evidence/evidence.json`.
#[derive(Debug, Serialize, Deserialize)]
struct EvidenceLine {
    path: String,
    id: i64,
    control: String,
    file_name: String,
    sha256: String,
    size: u64,
    note: Option<String>,
    effective_date: String,
    added_at: String,
    added_by: String,
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

struct PackageWriter<W: Write + std::io::Seek> {
    zip: zip::ZipWriter<W>,
    files: Vec<FileEntry>,
}

/// How every file of a package is stored: deflated, zip64-ready, mode 0644.
fn file_options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true)
        .unix_permissions(0o644)
}

impl<W: Write + std::io::Seek> PackageWriter<W> {
    /// Writes a file whose content `write` produces, recording its hash in the manifest.
    fn file(
        &mut self,
        path: &str,
        write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
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

    fn bytes(&mut self, path: &str, content: &[u8]) -> anyhow::Result<()> {
        self.file(path, |w| Ok(w.write_all(content)?))
    }
}

/// A file name safe inside a zip: no directories, no control characters.
fn safe_name(name: &str) -> String {
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
fn evidence_of_period<'a>(
    workspace: &attest_workspace::Workspace,
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
    let start = attest_report::type2::day_start(period.start);
    let end = period
        .end
        .tomorrow()
        .map_or(i64::MAX, attest_report::type2::day_start);

    // The ledger segment: every entry timed in the period, widened to signed checkpoints —
    // from just after the last checkpoint before the first such entry (its anchor) to the
    // first checkpoint at or after the last one.
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
    let segment_checkpoints: Vec<&Checkpoint> = checkpoints
        .iter()
        .filter(|c| c.seq >= first_seq.saturating_sub(1) && c.seq <= last_seq)
        .filter(|c| anchor.is_some() || c.seq >= first_seq)
        .collect();

    let report = type2_report(&workspace, &store, period, seed)?;
    let type1 = attest_report::type1::type1(&workspace, &store, period.end, Timestamp::now())?;
    let evidence = store.list_evidence(None)?;
    let evidence = evidence_of_period(&workspace, &evidence, period);

    let output = &args.output;
    let out_dir = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let tmp = tempfile::NamedTempFile::new_in(out_dir)
        .with_context(|| format!("cannot write in {}", out_dir.display()))?;
    let mut package = PackageWriter {
        zip: zip::ZipWriter::new(std::io::BufWriter::new(tmp.reopen()?)),
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
        let content = store.read_object(&record.sha256).with_context(|| {
            format!(
                "evidence #{} ({}) cannot be read; run `attest verify`",
                record.id, record.file_name
            )
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
    let signed: HashMap<u64, Hash> = segment_checkpoints
        .iter()
        .map(|c| (c.seq, c.head))
        .collect();
    let mut entries = 0_u64;
    package.file("ledger/entries.jsonl", |w| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, w);
        let mut prev = anchor.as_ref().map_or(GENESIS, |c| c.head);
        let mut failure: Option<anyhow::Error> = None;
        store.visit_ledger(first_seq, &mut |stored| {
            if stored.seq > last_seq {
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
                failure = Some(Failure::input(format!(
                    "the store's ledger does not match its checkpoint at entry {}; run `attest verify` before exporting",
                    stored.seq
                )));
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
            if let Err(e) = serde_json::to_writer(&mut w, &record).and_then(|()| {
                w.write_all(b"\n").map_err(serde_json::Error::io)
            }) {
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
    package.file("ledger/checkpoints.jsonl", |w| {
        for c in &segment_checkpoints {
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
        created_at: Timestamp::now().to_string(),
        attest_version: env!("CARGO_PKG_VERSION").to_owned(),
        sample_seed: seed,
        public_key: public.to_hex(),
        ledger: LedgerSegment {
            first_seq,
            last_seq: first_seq.saturating_add(entries).saturating_sub(1),
            checkpoints: segment_checkpoints.len() as u64,
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
    let mut inner = package.zip.finish()?;
    inner.flush()?;
    inner
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
        evidence.len(),
        manifest.ledger.first_seq,
        manifest.ledger.last_seq,
        manifest.ledger.checkpoints,
        public.to_hex(),
        started.elapsed().as_secs_f64()
    ));
    Ok(ExitStatus::Success)
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

/// Why a package is not intact.
#[allow(
    clippy::unnecessary_wraps,
    reason = "shaped for `return tampered(...)` in a function returning a result"
)]
fn tampered(message: &str) -> anyhow::Result<ExitStatus> {
    printer::note(&format!("package: TAMPERED — {message}"));
    Ok(ExitStatus::Findings)
}

/// `attest verify PACKAGE.zip`.
pub(crate) fn verify(path: &Path, public_key_arg: Option<&str>) -> anyhow::Result<ExitStatus> {
    let started = std::time::Instant::now();
    let file = fs_err::File::open(path)?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| Failure::input(format!("{} is not a zip file: {e}", path.display())))?;
    let read = |zip: &mut zip::ZipArchive<_>, name: &str| -> anyhow::Result<Vec<u8>> {
        let mut file = zip
            .by_name(name)
            .map_err(|_| Failure::input(format!("{}: {name} is missing", path.display())))?;
        let mut content = Vec::new();
        file.read_to_end(&mut content)?;
        Ok(content)
    };
    let manifest_bytes = read(&mut zip, "manifest.json")?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| Failure::input(format!("{}: manifest.json: {e}", path.display())))?;
    if manifest.format != FORMAT {
        return Err(Failure::input(format!(
            "{}: not an {FORMAT} package (format `{}`)",
            path.display(),
            manifest.format
        )));
    }
    let mut notes = Vec::new();
    let key = if let Some(given) = public_key_arg {
        public_key(Some(given), None)?
    } else {
        let text = String::from_utf8_lossy(&read(&mut zip, "public-key.txt")?).into_owned();
        let key = PublicKey::from_hex(&text).map_err(|e| Failure::input(e.to_string()))?;
        notes.push(format!(
            "verified with the public key inside the package ({}); compare it with the key the organisation published, or pass --public-key",
            key.to_hex()
        ));
        key
    };
    if manifest.public_key != key.to_hex() {
        return tampered(&format!(
            "the manifest names public key {}, not {}",
            manifest.public_key,
            key.to_hex()
        ));
    }
    let signature: Option<[u8; 64]> =
        hex::decode(String::from_utf8_lossy(&read(&mut zip, "manifest.sig")?).trim())
            .ok()
            .and_then(|b| b.try_into().ok());
    if !signature.is_some_and(|s| key.verifies_bytes(&manifest_bytes, &s)) {
        return tampered(&format!(
            "the manifest's signature does not verify with key {}",
            key.to_hex()
        ));
    }
    // Every file, against the manifest.
    let listed: BTreeMap<&str, &FileEntry> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(std::borrow::Cow::into_owned))
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    for name in &names {
        if name != "manifest.json"
            && name != "manifest.sig"
            && !name.ends_with('/')
            && !listed.contains_key(name.as_str())
        {
            return tampered(&format!("{name} is not in the manifest (a file was added)"));
        }
    }
    for (name, entry) in &listed {
        let Ok(mut file) = zip.by_name(name) else {
            return tampered(&format!(
                "{name} is in the manifest but not in the package (a file was removed)"
            ));
        };
        let mut hasher = Sha256::new();
        let size = std::io::copy(&mut file, &mut hasher)?;
        if hex::encode(hasher.finalize()) != entry.sha256 || size != entry.size {
            return tampered(&format!(
                "{name} does not match its SHA-256 in the manifest (it was changed)"
            ));
        }
    }
    // The ledger segment.
    let mut checkpoints = Vec::new();
    for line in read(&mut zip, "ledger/checkpoints.jsonl")?.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let c: CheckpointLine = serde_json::from_str(&line)
            .map_err(|e| Failure::input(format!("ledger/checkpoints.jsonl: {e}")))?;
        let head: Option<Hash> = hex::decode(&c.head).ok().and_then(|b| b.try_into().ok());
        let signature: Option<[u8; 64]> = hex::decode(&c.signature)
            .ok()
            .and_then(|b| b.try_into().ok());
        let (Some(head), Some(signature)) = (head, signature) else {
            return Err(Failure::input(format!(
                "ledger/checkpoints.jsonl: checkpoint at entry {} is malformed",
                c.seq
            )));
        };
        checkpoints.push(Checkpoint {
            seq: c.seq,
            head,
            time: c.time,
            signature,
        });
    }
    let first = manifest.ledger.first_seq;
    let anchor = if first <= 1 {
        GENESIS
    } else {
        match checkpoints
            .iter()
            .find(|c| c.seq == first.saturating_sub(1))
        {
            Some(c) => c.head,
            None => {
                return tampered(&format!(
                    "no signed checkpoint at entry {} anchors the segment",
                    first.saturating_sub(1)
                ));
            }
        }
    };
    let mut verifier = Verifier::segment(&key, checkpoints, first, anchor);
    let mut evidence_entries: HashMap<i64, (u64, String)> = HashMap::new();
    {
        let entries = zip
            .by_name("ledger/entries.jsonl")
            .map_err(|_| Failure::input("ledger/entries.jsonl is missing"))?;
        for line in std::io::BufReader::with_capacity(1 << 20, entries).lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let e: EntryLine = serde_json::from_str(&line)
                .map_err(|err| Failure::input(format!("ledger/entries.jsonl: {err}")))?;
            let parse = |text: &str| -> Option<Hash> {
                hex::decode(text).ok().and_then(|b| b.try_into().ok())
            };
            let (Some(payload_sha256), Some(prev)) = (parse(&e.payload_sha256), parse(&e.prev))
            else {
                return Err(Failure::input(format!(
                    "ledger/entries.jsonl: entry {} has a malformed hash",
                    e.seq
                )));
            };
            let entry = Entry {
                seq: e.seq,
                time: e.time,
                kind: e.kind,
                payload_sha256,
                prev,
            };
            if let Err(broken) = attest_ledger::check_payload(&entry, e.payload.as_bytes()) {
                return tampered(&broken.to_string());
            }
            if let Err(broken) = verifier.push(&entry) {
                return tampered(&broken.to_string());
            }
            if entry.kind == EVIDENCE_ADDED
                && let Ok(value) = serde_json::from_str::<serde_json::Value>(&e.payload)
                && let Some(id) = value.get("id").and_then(serde_json::Value::as_i64)
            {
                evidence_entries.insert(id, (entry.seq, e.payload));
            }
        }
    }
    let segment = match verifier.finish() {
        Ok(segment) => segment,
        Err(broken) => return tampered(&broken.to_string()),
    };
    let last = first.saturating_add(segment.entries).saturating_sub(1);
    if last != manifest.ledger.last_seq {
        return tampered(&format!(
            "the segment ends at entry {last}, the manifest says {}",
            manifest.ledger.last_seq
        ));
    }
    if segment.unsigned_tail > 0 {
        notes.push(format!(
            "entries {} to {last} are after the last checkpoint: chained but not signed",
            last.saturating_sub(segment.unsigned_tail).saturating_add(1)
        ));
    }
    // Evidence.
    let records: Vec<EvidenceLine> =
        serde_json::from_slice(&read(&mut zip, "evidence/evidence.json")?)
            .map_err(|e| Failure::input(format!("evidence/evidence.json: {e}")))?;
    let mut outside = 0;
    for line in &records {
        let content = read(&mut zip, &line.path)?;
        if hex::encode(Sha256::digest(&content)) != line.sha256 {
            return tampered(&format!(
                "evidence #{} ({}): the file does not match its SHA-256",
                line.id, line.file_name
            ));
        }
        let Some((seq, payload)) = evidence_entries.get(&line.id) else {
            outside += 1;
            continue;
        };
        let record = EvidenceRecord {
            id: line.id,
            control: line.control.clone(),
            file_name: line.file_name.clone(),
            sha256: line.sha256.clone(),
            size: line.size,
            note: line.note.clone(),
            effective_date: line.effective_date.parse().unwrap_or_default(),
            added_at: line.added_at.parse().unwrap_or_default(),
            added_by: line.added_by.clone(),
        };
        if evidence_added(&record) != *payload {
            return tampered(&format!(
                "evidence #{}: the record differs from what ledger entry {seq} recorded",
                line.id
            ));
        }
    }
    if outside > 0 {
        notes.push(format!(
            "{outside} evidence record(s) were added outside this ledger segment (before or after the period); their files match the signed manifest"
        ));
    }
    printer::note(&format!(
        "package: intact — manifest signed by {}, {} files match their SHA-256, ledger entries {first} to {last} chained from their anchor with {} checkpoint signature(s), {} evidence file(s) ({:.1} s)",
        key.to_hex(),
        listed.len(),
        segment.checkpoints,
        records.len(),
        started.elapsed().as_secs_f64()
    ));
    for note in notes {
        printer::note(&format!("note: {note}"));
    }
    Ok(ExitStatus::Success)
}
