//! The files of a package as written and read: the manifest and the JSON lines of the ledger
//! and of the evidence records.

use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;

/// The manifest format this Attest writes and reads.
pub(crate) const FORMAT: &str = "attest-package-v1";

/// The standalone verifier shipped in every package.
pub(crate) const VERIFIER: &str = include_str!("../resources/verify.py");

/// `manifest.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    pub(crate) format: String,
    pub(crate) organisation: String,
    pub(crate) period: PeriodText,
    pub(crate) created_at: String,
    pub(crate) attest_version: String,
    pub(crate) sample_seed: u64,
    pub(crate) public_key: String,
    pub(crate) ledger: LedgerSegment,
    pub(crate) files: Vec<FileEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeriodText {
    pub(crate) start: String,
    pub(crate) end: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LedgerSegment {
    pub(crate) first_seq: u64,
    pub(crate) last_seq: u64,
    /// Checkpoints in `ledger/checkpoints.jsonl`, including the anchor.
    pub(crate) checkpoints: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileEntry {
    pub(crate) path: String,
    pub(crate) sha256: String,
    pub(crate) size: u64,
}

/// One line of `ledger/entries.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryLine {
    pub(crate) seq: u64,
    pub(crate) time: i64,
    pub(crate) kind: String,
    pub(crate) payload: String,
    pub(crate) payload_sha256: String,
    pub(crate) prev: String,
}

/// One line of `ledger/checkpoints.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckpointLine {
    pub(crate) seq: u64,
    pub(crate) head: String,
    pub(crate) time: i64,
    pub(crate) signature: String,
}

/// One record of `evidence/evidence.json`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct EvidenceLine {
    pub(crate) path: String,
    pub(crate) id: i64,
    pub(crate) control: String,
    pub(crate) file_name: String,
    pub(crate) sha256: String,
    pub(crate) size: u64,
    pub(crate) note: Option<String>,
    pub(crate) effective_date: String,
    pub(crate) added_at: String,
    pub(crate) added_by: String,
}

/// How every file of a package is stored: deflated, zip64-ready, mode 0644.
pub(crate) fn file_options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true)
        .unix_permissions(0o644)
}
