//! The `Store` trait: where Attest keeps evidence objects, evidence records and result history.
//!
//! Implementations (SQLite now, PostgreSQL for the server) are held to one shared
//! [`conformance`] suite (feature `conformance`), so callers never depend on a backend.
//!
//! Every write also appends entries to the evidence ledger (`docs/ledger.md`) in the same
//! transaction — `evidence.added`, `scan.run`, `result.changed` — and, when the store has the
//! organisation's signing key, ends with a signed checkpoint.
//!
//! History is kept as state intervals: a [`ResultInterval`] opens when a check's status on a
//! resource changes, and identical observations only extend its `last_seen`. A year of hourly
//! runs then costs what the changes cost, not what the observations cost.

use attest_ledger::{Checkpoint, Entry};
use attest_model::{CheckResult, EvidenceRecord, NewEvidence, ResultInterval, RunRecord};
use sha2::{Digest, Sha256};

#[cfg(feature = "conformance")]
pub mod conformance;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file of the store could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(String),
    /// An object's content no longer matches its address.
    #[error("object {address} is corrupt: its content hashes to {actual}")]
    Corrupt {
        /// The address (expected SHA-256).
        address: String,
        /// The SHA-256 of what is stored.
        actual: String,
    },
    /// No object has this address.
    #[error("no object {0} in the store")]
    MissingObject(String),
    /// The database was written by a newer Attest.
    #[error(
        "the store is at schema version {found}, newer than this Attest supports ({supported}); upgrade Attest"
    )]
    TooNew {
        /// Version found in the database.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
}

/// What recording one run did to the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOutcome {
    /// Id of the run.
    pub run_id: i64,
    /// Results whose status changed (or were seen for the first time): intervals opened.
    pub opened: usize,
    /// Results identical to the open interval: intervals extended.
    pub extended: usize,
}

/// Where Attest keeps evidence and history.
pub trait Store: Send + Sync {
    /// Stores `content` under its SHA-256 and returns the address (lowercase hex).
    /// Storing the same content twice keeps one copy.
    fn put_object(&self, content: &[u8]) -> Result<String, StoreError>;

    /// The content stored under `address`, verified against it.
    fn read_object(&self, address: &str) -> Result<Vec<u8>, StoreError>;

    /// Records a piece of evidence whose content was stored with [`Store::put_object`].
    fn add_evidence(&self, evidence: &NewEvidence) -> Result<EvidenceRecord, StoreError>;

    /// Evidence records, oldest first; only those of `control` if given.
    fn list_evidence(&self, control: Option<&str>) -> Result<Vec<EvidenceRecord>, StoreError>;

    /// Records one run's results, opening or extending intervals, atomically.
    fn record_run(
        &self,
        run: &RunRecord,
        results: &[CheckResult],
    ) -> Result<RunOutcome, StoreError>;

    /// The intervals observed by the latest run of each source on each target.
    fn current_results(&self) -> Result<Vec<ResultInterval>, StoreError>;

    /// Every interval of one check on one resource of a target, oldest first.
    fn history(
        &self,
        target: &str,
        check: &str,
        resource: &str,
    ) -> Result<Vec<ResultInterval>, StoreError>;

    /// Every ledger entry with its payload, in order, and every checkpoint.
    fn ledger(&self) -> Result<(Vec<LedgerRecord>, Vec<Checkpoint>), StoreError>;
}

/// A ledger entry and the canonical JSON payload it hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRecord {
    /// The entry.
    pub entry: Entry,
    /// Its payload: canonical JSON (sorted keys, no spaces).
    pub payload: String,
}

/// SHA-256 of `content`, lowercase hex: the address of an object.
pub fn object_address(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

/// Whether `address` is a well-formed object address (64 lowercase hex digits).
pub fn is_address(address: &str) -> bool {
    address.len() == 64
        && address
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_sha256_hex() {
        assert_eq!(
            object_address(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_address(&object_address(b"")));
        assert!(!is_address("../../etc/passwd"));
        assert!(!is_address(&object_address(b"x").to_uppercase()));
    }
}
