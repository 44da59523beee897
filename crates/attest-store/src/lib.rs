//! The `Store` trait: where Attest keeps evidence objects, evidence records, result history
//! and the evidence ledger.
//!
//! Implementations (SQLite now, PostgreSQL for the server) are held to one shared
//! [`conformance`] suite (feature `conformance`), so callers never depend on a backend.
//!
//! Every write appends entries to the evidence ledger (`docs/ledger.md`) in the same
//! transaction — `scan.run`, `result.changed`, `result.gone`, `evidence.added`, and events
//! such as `config.changed` — and, when the store has the organisation's signing key, signs a
//! checkpoint at the end of the write and every [`CHECKPOINT_EVERY`] entries.
//!
//! History is kept as state intervals, folded by the rules of [`fold`]: an interval opens when
//! a check's status on a resource changes, identical observations only extend it, and a
//! silence longer than the run's `max_gap` ends it, so the silence shows as a gap. The
//! intervals are fully determined by the ledger: [`verify::verify_store`] replays the ledger
//! and compares.

use std::ops::ControlFlow;

use attest_ledger::{Checkpoint, Entry, Hash};
use attest_model::{
    CheckResult, EvidenceRecord, Finding, FindingEvent, NewEvidence, ResultInterval, RunRecord,
    Severity, Status,
};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

pub mod accounts;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod fold;
pub mod payload;
pub mod verify;

/// A checkpoint is signed at least every this many ledger entries within one write.
pub const CHECKPOINT_EVERY: u64 = 10_000;

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
    /// A run is older than the latest run already recorded for its target.
    #[error(
        "the run of `{target}` observed at {observed_at} is older than its latest recorded run (Unix time {latest}); runs of a target must be recorded in order"
    )]
    OutOfOrder {
        /// The target.
        target: String,
        /// When the rejected run observed.
        observed_at: Timestamp,
        /// Unix seconds of the latest recorded run.
        latest: i64,
    },
    /// A run's results contradict themselves or the history.
    #[error("invalid run: {0}")]
    InvalidRun(String),
    /// No finding has this id.
    #[error("there is no finding {0}; list them with `attest findings list`")]
    UnknownFinding(i64),
    /// An entry kind is not one line of text.
    #[error("{0}")]
    Ledger(#[from] attest_ledger::LedgerError),
    /// A user or host of this name already exists.
    #[error("there is already a {what} `{name}`")]
    Exists {
        /// `user` or `host`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// No user or host has this name.
    #[error("there is no {what} `{name}`")]
    Unknown {
        /// `user` or `host`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A value the store cannot accept.
    #[error("{0}")]
    Invalid(String),
}

/// One agent report to record.
#[derive(Debug, Clone, Copy)]
pub struct ReportRun<'a> {
    /// The agent's report id (for the reply and logs).
    pub report_id: &'a str,
    /// The run it carries.
    pub run: RunResults<'a>,
}

/// What recording one agent report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportOutcome {
    /// The report was new and is recorded.
    Recorded(RunOutcome),
    /// The report was recorded before, as run `run_id`; nothing was written.
    Duplicate {
        /// The run the report was first recorded as.
        run_id: i64,
    },
}

impl ReportOutcome {
    /// The run the report is recorded as.
    pub fn run_id(&self) -> i64 {
        match self {
            ReportOutcome::Recorded(outcome) => outcome.run_id,
            ReportOutcome::Duplicate { run_id } => *run_id,
        }
    }
}

/// What recording one run did to the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOutcome {
    /// Id of the run: the sequence number of its `scan.run` ledger entry.
    pub run_id: i64,
    /// Results whose series is new, came back, or changed status: intervals opened.
    pub opened: usize,
    /// Results identical to the open interval: intervals extended.
    pub extended: usize,
    /// Results unchanged but observed after a gap longer than `max_gap`: intervals restarted.
    pub resumed: usize,
    /// Series the previous run observed and this one did not.
    pub gone: usize,
}

/// One run and everything it observed.
#[derive(Debug, Clone, Copy)]
pub struct RunResults<'a> {
    /// The run.
    pub run: &'a RunRecord,
    /// Every result it observed.
    pub results: &'a [CheckResult],
}

/// One run given as what changed since the previous run of its target (for imports and
/// simulation): every series the previous run observed and not named here was observed
/// again, unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDelta {
    /// The run; its observation time is also the time of its ledger entries.
    pub run: RunRecord,
    /// Results whose status may have changed, and new series.
    pub changes: Vec<CheckResult>,
    /// (check, resource) of series no longer observed.
    pub gone: Vec<(String, String)>,
    /// How many results the run observed in all.
    pub observed: u64,
    /// Sign a checkpoint after this run's entries (the end of a batch of runs).
    pub checkpoint: bool,
}

/// What an import wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Runs imported.
    pub runs: u64,
    /// Observations they stand for (results observed, summed over runs).
    pub observations: u64,
    /// Intervals written.
    pub intervals: u64,
    /// Ledger entries appended.
    pub entries: u64,
    /// Checkpoints signed.
    pub checkpoints: u64,
}

/// A system that reported runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRecord {
    /// Backend id.
    pub id: i64,
    /// Source of its facts, e.g. `host`.
    pub source: String,
    /// Name, e.g. a host name.
    pub name: String,
    /// Runs recorded.
    pub runs: u64,
    /// Its first run.
    pub first_seen: Option<Timestamp>,
    /// Its latest run.
    pub last_seen: Option<Timestamp>,
}

/// One check on one resource of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRecord {
    /// Backend id.
    pub id: i64,
    /// Id of its target.
    pub target: i64,
    /// Check id.
    pub check: String,
    /// Resource id.
    pub resource: String,
}

/// One interval of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalRecord {
    /// Id of its series.
    pub series: i64,
    /// Status throughout.
    pub status: Status,
    /// Severity of the check.
    pub severity: Severity,
    /// Message of its first observation.
    pub message: String,
    /// First observation.
    pub first_seen: Timestamp,
    /// Latest observation.
    pub last_seen: Timestamp,
    /// Observations folded into it.
    pub observations: u64,
    /// Whether the latest run of its target observed it (it is still being extended).
    pub open: bool,
}

/// One recorded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunInfo {
    /// Run id (the sequence number of its `scan.run` entry).
    pub id: i64,
    /// Id of its target.
    pub target: i64,
    /// When it observed.
    pub observed_at: Timestamp,
}

/// A ledger entry as the store keeps it: the fields that are hashed, and the first 8 bytes of
/// the entry's hash recorded when it was appended (to name the first changed entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredEntry<'a> {
    /// Sequence number.
    pub seq: u64,
    /// Unix seconds.
    pub time: i64,
    /// Kind.
    pub kind: &'a str,
    /// Canonical JSON payload.
    pub payload: &'a str,
    /// First 8 bytes of the entry's hash at append time.
    pub hash_prefix: [u8; 8],
    /// For a `scan.run` entry whose payload the store rendered from its run row: the fields
    /// it was rendered from (the payload is exactly [`payload::ScanRun`] of them), so readers
    /// need not parse it back.
    pub run: Option<RunFields>,
}

/// The fields of a rendered `scan.run` payload, with the target by id ([`Store::targets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunFields {
    /// Run id (the entry's sequence number).
    pub run: i64,
    /// Target id.
    pub target: i64,
    /// Unix seconds of the observation.
    pub observed_at: i64,
    /// Longest silence, in seconds, that still counts as continuous monitoring.
    pub max_gap: i64,
    /// Results observed.
    pub results: u64,
    /// Results that opened an interval.
    pub changed: u64,
    /// Series no longer observed.
    pub gone: u64,
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

    /// Records one run's results atomically; its ledger entries carry the observation time.
    fn record_run(
        &self,
        run: &RunRecord,
        results: &[CheckResult],
    ) -> Result<RunOutcome, StoreError> {
        let outcomes = self.record_runs(run.observed_at, &[RunResults { run, results }])?;
        outcomes
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Database("recording a run returned no outcome".into()))
    }

    /// Records runs in order in one transaction whose ledger entries are timed `recorded_at`,
    /// with one checkpoint at the end (a batch of agent reports, a spool delivered late).
    fn record_runs(
        &self,
        recorded_at: Timestamp,
        runs: &[RunResults<'_>],
    ) -> Result<Vec<RunOutcome>, StoreError>;

    /// Records agent reports like [`Store::record_runs`] (in order, one transaction, one
    /// checkpoint), except that a report already recorded — its target has a run observed in
    /// the same second, before or earlier in `reports` — is not recorded again: its outcome is
    /// [`ReportOutcome::Duplicate`]. (An agent observes a host at most once a second and
    /// delivers in order, so a redelivered report is always recognised this way, without
    /// keeping every report id.)
    fn record_reports(
        &self,
        recorded_at: Timestamp,
        reports: &[ReportRun<'_>],
    ) -> Result<Vec<ReportOutcome>, StoreError>;

    /// Imports runs given as deltas, in order, in one transaction: the history and ledger are
    /// those [`Store::record_run`] would have written for the same observations.
    fn import_runs(
        &self,
        runs: &mut dyn Iterator<Item = RunDelta>,
    ) -> Result<ImportOutcome, StoreError>;

    /// Appends an event (a configuration change, a finding event) to the ledger; returns its
    /// sequence number.
    fn append_event(
        &self,
        time: Timestamp,
        kind: &str,
        payload: &serde_json::Value,
    ) -> Result<u64, StoreError>;

    /// The payload of the latest ledger entry of `kind`, with its sequence number.
    fn latest_event(&self, kind: &str) -> Result<Option<(u64, String)>, StoreError>;

    /// The intervals observed by the latest run of each target.
    fn current_results(&self) -> Result<Vec<ResultInterval>, StoreError>;

    /// The current results whose status is fail, in the order of [`Store::current_results`].
    fn failing_results(&self) -> Result<Vec<ResultInterval>, StoreError>;

    /// Every interval of one check on one resource of a target, oldest first.
    fn history(
        &self,
        target: &str,
        check: &str,
        resource: &str,
    ) -> Result<Vec<ResultInterval>, StoreError>;

    /// Every target.
    fn targets(&self) -> Result<Vec<TargetRecord>, StoreError>;

    /// Every series.
    fn series(&self) -> Result<Vec<SeriesRecord>, StoreError>;

    /// Visits the intervals that overlap `from..=to`, ordered by series, then first
    /// observation.
    fn visit_intervals(
        &self,
        from: Timestamp,
        to: Timestamp,
        visit: &mut dyn FnMut(IntervalRecord),
    ) -> Result<(), StoreError>;

    /// Number of runs of each target (by id) observed in `from..=to`.
    fn run_counts(&self, from: Timestamp, to: Timestamp) -> Result<Vec<(i64, u64)>, StoreError>;

    /// The `index`-th run (from 0, by observation time) of `target` observed in `from..=to`.
    fn nth_run(
        &self,
        target: i64,
        from: Timestamp,
        to: Timestamp,
        index: u64,
    ) -> Result<Option<RunInfo>, StoreError>;

    /// Visits the ledger in order from entry `from_seq`, until `visit` breaks.
    fn visit_ledger(
        &self,
        from_seq: u64,
        visit: &mut dyn FnMut(&StoredEntry<'_>) -> ControlFlow<()>,
    ) -> Result<(), StoreError>;

    /// Every checkpoint, in order.
    fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError>;

    /// Saves `finding` — a new one when its id is 0 — and appends a `finding.<event>` ledger
    /// entry recording who changed it, why, and its whole new state; returns it with its id.
    fn save_finding(
        &self,
        finding: &Finding,
        change: &FindingChange<'_>,
    ) -> Result<Finding, StoreError>;

    /// Every finding, by id.
    fn findings(&self) -> Result<Vec<Finding>, StoreError>;

    /// The trail of finding `id`: its ledger entries, oldest first.
    fn finding_history(&self, id: i64) -> Result<Vec<FindingEvent>, StoreError>;
}

/// Who changed a finding, how and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindingChange<'a> {
    /// The event, e.g. `opened`, `fixed`, `closed` (the ledger kind is `finding.<event>`).
    pub event: &'a str,
    /// Who: a user, or `attest`.
    pub by: &'a str,
    /// Free text given with the change.
    pub note: Option<&'a str>,
    /// When.
    pub at: Timestamp,
}

/// A ledger entry with its payload, as an auditor's package holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRecord {
    /// The entry.
    pub entry: Entry,
    /// Its payload: canonical JSON (sorted keys, no spaces).
    pub payload: String,
}

/// The ledger entries of `store` from `from_seq` (whose predecessor hashes to `prev`), with
/// their chain recomputed, in order; for small ledgers and tests (memory grows with the
/// ledger).
pub fn ledger_records(
    store: &dyn Store,
    from_seq: u64,
    prev: Hash,
) -> Result<Vec<LedgerRecord>, StoreError> {
    let mut records = Vec::new();
    let mut prev = prev;
    store.visit_ledger(from_seq, &mut |stored| {
        let entry = Entry {
            seq: stored.seq,
            time: stored.time,
            kind: stored.kind.to_owned(),
            payload_sha256: attest_ledger::payload_hash(stored.payload.as_bytes()),
            prev,
        };
        prev = entry.hash();
        records.push(LedgerRecord {
            entry,
            payload: stored.payload.to_owned(),
        });
        ControlFlow::Continue(())
    })?;
    Ok(records)
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
