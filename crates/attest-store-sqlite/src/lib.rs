//! The SQLite [`Store`]: Attest's embedded default.
//!
//! A store is a folder (`.attest/` in a workspace) holding `attest.db` and `objects/`. The
//! database runs in WAL mode with `synchronous = FULL`, so a committed write survives a crash
//! of the process or the machine, and every multi-row write is one transaction, so a crash
//! mid-write leaves nothing half done. Concurrent writers (two `attest` runs) queue on
//! SQLite's lock for up to [`BUSY_TIMEOUT`]. Migrations are embedded and versioned with
//! `PRAGMA user_version`.
//!
//! Objects are written to a temporary file, synced and renamed into
//! `objects/<first two hex digits>/<rest>`, so an object is either whole or absent.
//!
//! The schema (migration 3) is laid out for years of hourly runs on thousands of hosts: a run
//! that changes nothing costs one run row, one ledger row and one target update, whatever its
//! number of results (see `migrations/0003_compact_history.sql`).

use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use attest_ledger::{Checkpoint, SigningKey};
use attest_model::{EvidenceRecord, Finding, FindingEvent, NewEvidence, ResultInterval};
use attest_store::fold::Fold;
use attest_store::payload::{self, EVIDENCE_ADDED};
use attest_store::{
    FindingChange, ImportOutcome, IntervalRecord, ReportOutcome, ReportRun, RunDelta, RunInfo,
    RunOutcome, RunResults, SeriesRecord, Store, StoreError, StoredEntry, TargetRecord, is_address,
    object_address,
};
use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

mod accounts;
mod checkpoint;
mod history;
mod ledger;

use checkpoint::Checkpointer;
use history::{Writer, parse_column};
use ledger::LedgerWriter;

/// How long a writer waits for another to finish before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Name of the database file inside the store folder.
pub const DATABASE_FILE: &str = "attest.db";

/// Embedded migrations; the database's `user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_ledger.sql"),
    include_str!("../migrations/0003_compact_history.sql"),
    include_str!("../migrations/0004_findings.sql"),
    include_str!("../migrations/0005_accounts.sql"),
    include_str!("../migrations/0006_failing_index.sql"),
];

/// Most targets whose fold state agent reports keep in memory between writes (about 60 KiB
/// each with 100 results); past it, the cache starts again empty.
const CACHE_TARGETS: usize = 25_000;

/// Connections kept for reads.
const READERS: usize = 3;

/// A store in a folder: `attest.db` plus `objects/`.
pub struct SqliteStore {
    dir: PathBuf,
    conn: Mutex<Connection>,
    /// Connections for reads: in WAL mode each reads the last committed state while `conn`
    /// writes, so a read never holds up a write nor a write a read; there are several, so a
    /// long read (a report, the findings sweep) does not hold up short ones (a token check).
    readers: Vec<Mutex<Connection>>,
    /// Where a reader that finds every reader busy waits its turn.
    next_reader: AtomicUsize,
    /// Copies the write-ahead log into the database in the background; stops when dropped.
    _checkpointer: Checkpointer,
    /// Fold state of the targets agent reports recorded, kept between writes so that a
    /// report does not read its host's series again ([`history::Writer::with_fold`] checks
    /// each against the store before trusting it). Locked only while `conn` is.
    fold: Mutex<Fold>,
    key: Option<SigningKey>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "shaped for `map_err(db_err)`"
)]
pub(crate) fn db_err(err: rusqlite::Error) -> StoreError {
    StoreError::Database(err.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        fs_err::create_dir_all(dir.join("objects"))?;
        let path = dir.join(DATABASE_FILE);
        let mut conn = Connection::open(&path)
            .map_err(|e| StoreError::Database(format!("{}: {e}", path.display())))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(db_err)?;
        // Large imports and reports: a bigger page cache (64 MiB) saves re-reading pages.
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(db_err)?;
        migrate(&mut conn)?;
        // Most of each checkpoint's copying is done on a thread of its own (`checkpoint.rs`).
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            checkpoint::WRITER_CHECKPOINT_PAGES,
        )
        .map_err(db_err)?;
        let readers = (0..READERS)
            .map(|_| {
                let reader = Connection::open(&path)
                    .map_err(|e| StoreError::Database(format!("{}: {e}", path.display())))?;
                reader.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
                reader
                    .pragma_update(None, "cache_size", -65_536)
                    .map_err(db_err)?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<_, StoreError>>()?;
        let checkpointer = Checkpointer::start(&path)?;
        Ok(SqliteStore {
            dir: dir.to_path_buf(),
            conn: Mutex::new(conn),
            readers,
            next_reader: AtomicUsize::new(0),
            _checkpointer: checkpointer,
            fold: Mutex::new(Fold::new()),
            key: None,
        })
    }

    /// Signs ledger checkpoints with `key` at the end of every write.
    #[must_use]
    pub fn with_signing_key(mut self, key: SigningKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The store folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the object with `address`.
    pub fn object_path(&self, address: &str) -> PathBuf {
        let (prefix, rest) = address.split_at(address.len().min(2));
        self.dir.join("objects").join(prefix).join(rest)
    }

    /// Size in bytes of the database and its write-ahead log.
    pub fn database_size(&self) -> Result<u64, StoreError> {
        let mut size = 0;
        for name in [DATABASE_FILE, "attest.db-wal"] {
            match fs_err::metadata(self.dir.join(name)) {
                Ok(meta) => size += meta.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(size)
    }

    /// A connection for reads outside a write: an idle reader, or (all busy) the next one in
    /// turn once it is free.
    pub(crate) fn reader(&self) -> MutexGuard<'_, Connection> {
        for reader in &self.readers {
            match reader.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        let turn = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[turn]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave the connection inconsistent: every write
        // is a transaction that rolls back on drop.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `write` in one immediate transaction with a ledger writer; commits on success.
    pub(crate) fn write<T>(
        &self,
        write: impl FnOnce(&Transaction<'_>, &mut LedgerWriter<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let mut ledger = LedgerWriter::open(&tx, self.key.as_ref())?;
        let value = write(&tx, &mut ledger)?;
        ledger.finish(&tx)?;
        tx.commit().map_err(db_err)?;
        Ok(value)
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db_err)?;
    let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if version > supported {
        return Err(StoreError::TooNew {
            found: version,
            supported,
        });
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        tx.execute_batch(sql).map_err(db_err)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(index).unwrap_or(0).saturating_add(1),
        )
        .map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
}

fn evidence_row(row: &Row<'_>) -> rusqlite::Result<EvidenceRecord> {
    Ok(EvidenceRecord {
        id: row.get(0)?,
        control: row.get(1)?,
        file_name: row.get(2)?,
        sha256: row.get(3)?,
        size: u64::try_from(row.get::<_, i64>(4)?).unwrap_or(0),
        note: row.get(5)?,
        effective_date: parse_column::<Date>(row, 6)?,
        added_at: parse_column::<Timestamp>(row, 7)?,
        added_by: row.get(8)?,
    })
}

impl Store for SqliteStore {
    fn put_object(&self, content: &[u8]) -> Result<String, StoreError> {
        let address = object_address(content);
        let path = self.object_path(&address);
        if path.is_file() {
            return Ok(address);
        }
        let dir = path.parent().unwrap_or(&self.dir);
        fs_err::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(content)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| StoreError::Io(e.error))?;
        // Make the rename itself durable.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(address)
    }

    fn read_object(&self, address: &str) -> Result<Vec<u8>, StoreError> {
        if !is_address(address) {
            return Err(StoreError::MissingObject(address.to_owned()));
        }
        let path = self.object_path(address);
        let content = match fs_err::read(&path) {
            Ok(content) => content,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::MissingObject(address.to_owned()));
            }
            Err(err) => return Err(err.into()),
        };
        let actual = object_address(&content);
        if actual != address {
            return Err(StoreError::Corrupt {
                address: address.to_owned(),
                actual,
            });
        }
        Ok(content)
    }

    fn add_evidence(&self, evidence: &NewEvidence) -> Result<EvidenceRecord, StoreError> {
        self.write(|tx, ledger| {
            let id = tx
                .query_row(
                    "INSERT INTO evidence (control_id, file_name, sha256, size, note, effective_date, added_at, added_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
                    params![
                        evidence.control,
                        evidence.file_name,
                        evidence.sha256,
                        i64::try_from(evidence.size).unwrap_or(i64::MAX),
                        evidence.note,
                        evidence.effective_date.to_string(),
                        evidence.added_at.to_string(),
                        evidence.added_by,
                    ],
                    |row| row.get::<_, i64>(0),
                )
                .map_err(db_err)?;
            let record = EvidenceRecord {
                id,
                control: evidence.control.clone(),
                file_name: evidence.file_name.clone(),
                sha256: evidence.sha256.clone(),
                size: evidence.size,
                note: evidence.note.clone(),
                effective_date: evidence.effective_date,
                added_at: evidence.added_at,
                added_by: evidence.added_by.clone(),
            };
            ledger.append(
                tx,
                record.added_at.as_second(),
                EVIDENCE_ADDED,
                &payload::evidence_added(&record),
                true,
            )?;
            Ok(record)
        })
    }

    fn list_evidence(&self, control: Option<&str>) -> Result<Vec<EvidenceRecord>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, control_id, file_name, sha256, size, note, effective_date, added_at, added_by
                 FROM evidence WHERE ?1 IS NULL OR control_id = ?1 ORDER BY id",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![control], evidence_row)
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    fn record_runs(
        &self,
        recorded_at: Timestamp,
        runs: &[RunResults<'_>],
    ) -> Result<Vec<RunOutcome>, StoreError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let ledger = LedgerWriter::open(&tx, self.key.as_ref())?;
        let mut writer = Writer::new(&tx, ledger);
        let mut outcomes = Vec::with_capacity(runs.len());
        for run in runs {
            outcomes.push(writer.record(run.run, run.results, recorded_at.as_second())?);
        }
        writer.finish()?;
        tx.commit().map_err(db_err)?;
        Ok(outcomes)
    }

    fn record_reports(
        &self,
        recorded_at: Timestamp,
        reports: &[ReportRun<'_>],
    ) -> Result<Vec<ReportOutcome>, StoreError> {
        let mut conn = self.conn();
        let mut cache = self
            .fold
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Taken out: a write that does not commit leaves the cache empty.
        let fold = std::mem::take(&mut *cache);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let ledger = LedgerWriter::open(&tx, self.key.as_ref())?;
        let mut writer = Writer::with_fold(&tx, ledger, fold);
        let mut outcomes = Vec::with_capacity(reports.len());
        // Runs recorded by this write, by (source, target, observation second).
        let mut recorded: std::collections::HashMap<(&str, &str, i64), i64> =
            std::collections::HashMap::with_capacity(reports.len());
        {
            let mut earlier = tx
                .prepare_cached(
                    "SELECT r.id FROM runs r JOIN targets t ON t.id = r.target_id
                     WHERE t.source = ?1 AND t.name = ?2 AND r.observed_at = ?3
                     ORDER BY r.id LIMIT 1",
                )
                .map_err(db_err)?;
            for report in reports {
                let run = report.run.run;
                let key = (
                    run.source.as_str(),
                    run.target.as_str(),
                    run.observed_at.as_second(),
                );
                let before = match recorded.get(&key) {
                    Some(id) => Some(*id),
                    None => earlier
                        .query_row(params![key.0, key.1, key.2], |r| r.get::<_, i64>(0))
                        .optional()
                        .map_err(db_err)?,
                };
                if let Some(run_id) = before {
                    outcomes.push(ReportOutcome::Duplicate { run_id });
                    continue;
                }
                let outcome = writer.record(run, report.run.results, recorded_at.as_second())?;
                recorded.insert(key, outcome.run_id);
                outcomes.push(ReportOutcome::Recorded(outcome));
            }
        }
        let (_, fold) = writer.finish_with_fold()?;
        tx.commit().map_err(db_err)?;
        if fold.targets().count() <= CACHE_TARGETS {
            *cache = fold;
        }
        Ok(outcomes)
    }

    fn import_runs(
        &self,
        runs: &mut dyn Iterator<Item = RunDelta>,
    ) -> Result<ImportOutcome, StoreError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let ledger = LedgerWriter::open(&tx, self.key.as_ref())?;
        let mut writer = Writer::new(&tx, ledger);
        for delta in runs {
            writer.import(&delta)?;
        }
        let outcome = writer.finish()?;
        tx.commit().map_err(db_err)?;
        // An import writes as much as the database holds: fold the write-ahead log back in
        // now rather than leave a log as large as the database.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(db_err)?;
        Ok(outcome)
    }

    fn append_event(
        &self,
        time: Timestamp,
        kind: &str,
        payload: &serde_json::Value,
    ) -> Result<u64, StoreError> {
        let payload = payload::canonical(payload);
        self.write(|tx, ledger| ledger.append(tx, time.as_second(), kind, &payload, true))
    }

    fn latest_event(&self, kind: &str) -> Result<Option<(u64, String)>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(
                "SELECT l.seq, l.payload FROM ledger l JOIN ledger_kinds k ON k.id = l.kind_id
                 WHERE k.name = ?1 AND l.kind_id <> 1 ORDER BY l.seq DESC LIMIT 1",
            )
            .map_err(db_err)?;
        let mut rows = stmt.query(params![kind]).map_err(db_err)?;
        match rows.next().map_err(db_err)? {
            Some(row) => {
                let seq: i64 = row.get(0).map_err(db_err)?;
                let payload: Option<String> = row.get(1).map_err(db_err)?;
                Ok(Some((
                    u64::try_from(seq).unwrap_or(0),
                    payload.unwrap_or_default(),
                )))
            }
            None => Ok(None),
        }
    }

    fn current_results(&self) -> Result<Vec<ResultInterval>, StoreError> {
        history::current_results(&self.reader())
    }

    fn failing_results(&self) -> Result<Vec<ResultInterval>, StoreError> {
        history::failing_results(&self.reader())
    }

    fn history(
        &self,
        target: &str,
        check: &str,
        resource: &str,
    ) -> Result<Vec<ResultInterval>, StoreError> {
        history::history(&self.reader(), target, check, resource)
    }

    fn targets(&self) -> Result<Vec<TargetRecord>, StoreError> {
        history::targets(&self.reader())
    }

    fn series(&self) -> Result<Vec<SeriesRecord>, StoreError> {
        history::series(&self.reader())
    }

    fn visit_intervals(
        &self,
        from: Timestamp,
        to: Timestamp,
        visit: &mut dyn FnMut(IntervalRecord),
    ) -> Result<(), StoreError> {
        history::visit_intervals(&self.reader(), from, to, visit)
    }

    fn run_counts(&self, from: Timestamp, to: Timestamp) -> Result<Vec<(i64, u64)>, StoreError> {
        history::run_counts(&self.reader(), from, to)
    }

    fn nth_run(
        &self,
        target: i64,
        from: Timestamp,
        to: Timestamp,
        index: u64,
    ) -> Result<Option<RunInfo>, StoreError> {
        history::nth_run(&self.reader(), target, from, to, index)
    }

    fn visit_ledger(
        &self,
        from_seq: u64,
        visit: &mut dyn FnMut(&StoredEntry<'_>) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        ledger::visit(&self.reader(), from_seq, visit)
    }

    fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        ledger::checkpoints(&self.reader())
    }

    fn save_finding(
        &self,
        finding: &Finding,
        change: &FindingChange<'_>,
    ) -> Result<Finding, StoreError> {
        if change.event.is_empty()
            || !change
                .event
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            return Err(StoreError::InvalidRun(format!(
                "`{}` is not a finding event (lowercase letters and `_`)",
                change.event
            )));
        }
        let json_err = |e: serde_json::Error| StoreError::Database(e.to_string());
        self.write(|tx, ledger| {
            let id = if finding.id == 0 {
                tx.query_row(
                    "INSERT INTO findings (status, state) VALUES ('open', '{}') RETURNING id",
                    [],
                    |r| r.get(0),
                )
                .map_err(db_err)?
            } else {
                let known: i64 = tx
                    .query_row(
                        "SELECT COUNT(*) FROM findings WHERE id = ?1",
                        params![finding.id],
                        |r| r.get(0),
                    )
                    .map_err(db_err)?;
                if known == 0 {
                    return Err(StoreError::UnknownFinding(finding.id));
                }
                finding.id
            };
            let mut saved = finding.clone();
            saved.id = id;
            let state = payload::canonical(&serde_json::to_value(&saved).map_err(json_err)?);
            tx.execute(
                "UPDATE findings SET status = ?2, state = ?3 WHERE id = ?1",
                params![id, saved.status.as_str(), state],
            )
            .map_err(db_err)?;
            let entry =
                payload::finding_changed(&saved, change.by, change.note).map_err(json_err)?;
            let seq = ledger.append(
                tx,
                change.at.as_second(),
                &format!("{}{}", payload::FINDING_PREFIX, change.event),
                &entry,
                true,
            )?;
            tx.execute(
                "INSERT INTO finding_events (seq, finding_id) VALUES (?1, ?2)",
                params![i64::try_from(seq).unwrap_or(i64::MAX), id],
            )
            .map_err(db_err)?;
            Ok(saved)
        })
    }

    fn findings(&self) -> Result<Vec<Finding>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached("SELECT id, state FROM findings ORDER BY id")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(db_err)?;
        let mut findings = Vec::new();
        for row in rows {
            let (id, state) = row.map_err(db_err)?;
            findings.push(serde_json::from_str(&state).map_err(|e| {
                StoreError::Database(format!("finding {id}: its stored state is unreadable: {e}"))
            })?);
        }
        Ok(findings)
    }

    fn finding_history(&self, id: i64) -> Result<Vec<FindingEvent>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(
                "SELECT l.seq, l.time, k.name, l.payload FROM finding_events e
                 JOIN ledger l ON l.seq = e.seq JOIN ledger_kinds k ON k.id = l.kind_id
                 WHERE e.finding_id = ?1 ORDER BY e.seq",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(db_err)?;
        let mut events = Vec::new();
        for row in rows {
            let (seq, time, kind, payload) = row.map_err(db_err)?;
            let fields: payload::FindingPayload =
                serde_json::from_str(payload.as_deref().unwrap_or_default()).map_err(|e| {
                    StoreError::Database(format!(
                        "ledger entry {seq}: unreadable finding payload: {e}"
                    ))
                })?;
            events.push(FindingEvent {
                seq: u64::try_from(seq).unwrap_or(0),
                at: Timestamp::from_second(time).unwrap_or_default(),
                event: kind
                    .strip_prefix(payload::FINDING_PREFIX)
                    .unwrap_or(&kind)
                    .to_owned(),
                by: fields.by,
                note: fields.note,
                state: fields.state,
            });
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests;
