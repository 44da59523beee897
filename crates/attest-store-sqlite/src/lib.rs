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

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use attest_ledger::{Checkpoint, Entry, SigningKey, sign_checkpoint};
use attest_model::{
    CheckResult, EvidenceRecord, NewEvidence, ResultInterval, RunRecord, Severity, Status,
};
use attest_store::LedgerRecord;
use attest_store::{RunOutcome, Store, StoreError, is_address, object_address};
use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use sha2::{Digest as _, Sha256};

/// How long a writer waits for another to finish before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Name of the database file inside the store folder.
pub const DATABASE_FILE: &str = "attest.db";

/// Embedded migrations; the database's `user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_ledger.sql"),
];

/// A store in a folder: `attest.db` plus `objects/`.
pub struct SqliteStore {
    dir: PathBuf,
    conn: Mutex<Connection>,
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
fn db_err(err: rusqlite::Error) -> StoreError {
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
        migrate(&mut conn)?;
        Ok(SqliteStore {
            dir: dir.to_path_buf(),
            conn: Mutex::new(conn),
            key: None,
        })
    }

    /// Signs a ledger checkpoint with `key` at the end of every write.
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

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave the connection inconsistent: every write
        // is a transaction that rolls back on drop.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
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

fn parse_column<T: std::str::FromStr>(row: &Row<'_>, index: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.get(index)?;
    text.parse::<T>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn timestamp_column(row: &Row<'_>, index: usize) -> rusqlite::Result<Timestamp> {
    let seconds: i64 = row.get(index)?;
    Timestamp::from_second(seconds).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Integer,
            Box::new(e),
        )
    })
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

const INTERVAL_COLUMNS: &str = "i.target, i.check_id, i.resource, i.status, i.severity, i.message, i.first_seen, i.last_seen, i.observations";

fn interval_row(row: &Row<'_>) -> rusqlite::Result<ResultInterval> {
    Ok(ResultInterval {
        target: row.get(0)?,
        check: row.get(1)?,
        resource: row.get(2)?,
        status: parse_column::<Status>(row, 3)?,
        severity: parse_column::<Severity>(row, 4)?,
        message: row.get(5)?,
        first_seen: timestamp_column(row, 6)?,
        last_seen: timestamp_column(row, 7)?,
        observations: u64::try_from(row.get::<_, i64>(8)?).unwrap_or(0),
    })
}

fn hash_column(row: &Row<'_>, index: usize) -> rusqlite::Result<[u8; 32]> {
    let bytes: Vec<u8> = row.get(index)?;
    bytes.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(index, "hash".into(), rusqlite::types::Type::Blob)
    })
}

/// Appends `items` (kind, payload) to the ledger inside `tx`, then signs a checkpoint at the
/// new head when a key is given. Payloads are canonical JSON: sorted keys, no spaces.
fn append_ledger(
    tx: &Transaction<'_>,
    time: i64,
    items: &[(&str, serde_json::Value)],
    key: Option<&SigningKey>,
) -> Result<(), StoreError> {
    let last: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db_err)?;
    let (mut seq, mut prev) = match last {
        Some((seq, hash)) => (
            u64::try_from(seq).unwrap_or(0),
            hash.try_into().map_err(|_| {
                StoreError::Database("ledger: a stored hash is not 32 bytes".into())
            })?,
        ),
        None => (0, attest_ledger::GENESIS),
    };
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO ledger (seq, time, kind, payload, payload_sha256, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(db_err)?;
    let mut head = None;
    for (kind, payload) in items {
        let payload =
            serde_json::to_string(payload).map_err(|e| StoreError::Database(e.to_string()))?;
        seq = seq.saturating_add(1);
        let entry = Entry {
            seq,
            time,
            kind: (*kind).to_owned(),
            payload_sha256: Sha256::digest(payload.as_bytes()).into(),
            prev,
        };
        prev = entry.hash();
        insert
            .execute(params![
                i64::try_from(seq).unwrap_or(i64::MAX),
                time,
                entry.kind,
                payload,
                entry.payload_sha256.as_slice(),
                entry.prev.as_slice(),
                prev.as_slice()
            ])
            .map_err(db_err)?;
        head = Some(entry);
    }
    if let (Some(key), Some(head)) = (key, head) {
        let checkpoint = sign_checkpoint(key, &head, time);
        tx.execute(
            "INSERT INTO checkpoints (seq, head, time, signature) VALUES (?1, ?2, ?3, ?4)",
            params![
                i64::try_from(checkpoint.seq).unwrap_or(i64::MAX),
                checkpoint.head.as_slice(),
                checkpoint.time,
                checkpoint.signature.as_slice()
            ],
        )
        .map_err(db_err)?;
    }
    Ok(())
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
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db_err)?;
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
        let payload = serde_json::json!({
            "id": record.id,
            "control": record.control,
            "file_name": record.file_name,
            "sha256": record.sha256,
            "size": record.size,
            "note": record.note,
            "effective_date": record.effective_date.to_string(),
            "added_at": record.added_at.to_string(),
            "added_by": record.added_by,
        });
        append_ledger(
            &tx,
            record.added_at.as_second(),
            &[("evidence.added", payload)],
            self.key.as_ref(),
        )?;
        tx.commit().map_err(db_err)?;
        Ok(record)
    }

    fn list_evidence(&self, control: Option<&str>) -> Result<Vec<EvidenceRecord>, StoreError> {
        let conn = self.conn();
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

    fn record_run(
        &self,
        run: &RunRecord,
        results: &[CheckResult],
    ) -> Result<RunOutcome, StoreError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let at = run.observed_at.as_second();
        let run_id: i64 = tx
            .query_row(
                "INSERT INTO runs (source, target, observed_at) VALUES (?1, ?2, ?3) RETURNING id",
                params![run.source, run.target, at],
                |row| row.get(0),
            )
            .map_err(db_err)?;
        let (mut opened, mut extended) = (0, 0);
        let mut changes: Vec<(&str, serde_json::Value)> = Vec::new();
        {
            let mut find = tx
                .prepare_cached(
                    "SELECT id, status FROM intervals WHERE target = ?1 AND check_id = ?2 AND resource = ?3 AND open = 1",
                )
                .map_err(db_err)?;
            let mut extend = tx
                .prepare_cached(
                    "UPDATE intervals SET last_seen = ?2, last_run = ?3, observations = observations + 1, message = ?4
                     WHERE id = ?1",
                )
                .map_err(db_err)?;
            let mut close = tx
                .prepare_cached("UPDATE intervals SET open = 0 WHERE id = ?1")
                .map_err(db_err)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO intervals (target, check_id, resource, status, severity, message, first_seen, last_seen,
                                            observations, last_run, open)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1, ?8, 1)",
                )
                .map_err(db_err)?;
            for result in results {
                let open: Option<(i64, String)> = find
                    .query_row(params![run.target, result.check, result.resource], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                    .map_err(db_err)?;
                match open {
                    Some((id, status)) if status == result.status.as_str() => {
                        extend
                            .execute(params![id, at, run_id, result.message])
                            .map_err(db_err)?;
                        extended += 1;
                    }
                    other => {
                        if let Some((id, _)) = other {
                            close.execute(params![id]).map_err(db_err)?;
                        }
                        insert
                            .execute(params![
                                run.target,
                                result.check,
                                result.resource,
                                result.status.as_str(),
                                result.severity.as_str(),
                                result.message,
                                at,
                                run_id,
                            ])
                            .map_err(db_err)?;
                        opened += 1;
                        changes.push((
                            "result.changed",
                            serde_json::json!({
                                "run": run_id,
                                "target": run.target,
                                "check": result.check,
                                "resource": result.resource,
                                "status": result.status.as_str(),
                                "severity": result.severity.as_str(),
                                "message": result.message,
                            }),
                        ));
                    }
                }
            }
        }
        // The run itself is the heartbeat: monitoring happened at `at`, whatever changed.
        changes.push((
            "scan.run",
            serde_json::json!({
                "run": run_id,
                "source": run.source,
                "target": run.target,
                "observed_at": run.observed_at.to_string(),
                "results": results.len(),
                "changed": opened,
                "unchanged": extended,
            }),
        ));
        append_ledger(&tx, at, &changes, self.key.as_ref())?;
        tx.commit().map_err(db_err)?;
        Ok(RunOutcome {
            run_id,
            opened,
            extended,
        })
    }

    fn current_results(&self) -> Result<Vec<ResultInterval>, StoreError> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {INTERVAL_COLUMNS} FROM intervals i
             JOIN (SELECT MAX(id) AS run FROM runs GROUP BY source, target) latest ON i.last_run = latest.run
             ORDER BY i.target, i.check_id, i.resource"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
        let rows = stmt.query_map([], interval_row).map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    fn ledger(&self) -> Result<(Vec<LedgerRecord>, Vec<Checkpoint>), StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT seq, time, kind, payload, payload_sha256, prev FROM ledger ORDER BY seq",
            )
            .map_err(db_err)?;
        let records = stmt
            .query_map([], |r| {
                Ok(LedgerRecord {
                    entry: Entry {
                        seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        time: r.get(1)?,
                        kind: r.get(2)?,
                        payload_sha256: hash_column(r, 4)?,
                        prev: hash_column(r, 5)?,
                    },
                    payload: r.get(3)?,
                })
            })
            .map_err(db_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err)?;
        let mut stmt = conn
            .prepare("SELECT seq, head, time, signature FROM checkpoints ORDER BY seq")
            .map_err(db_err)?;
        let checkpoints = stmt
            .query_map([], |r| {
                let signature: Vec<u8> = r.get(3)?;
                Ok(Checkpoint {
                    seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    head: hash_column(r, 1)?,
                    time: r.get(2)?,
                    signature: signature.try_into().map_err(|_| {
                        rusqlite::Error::InvalidColumnType(
                            3,
                            "signature".into(),
                            rusqlite::types::Type::Blob,
                        )
                    })?,
                })
            })
            .map_err(db_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err)?;
        Ok((records, checkpoints))
    }

    fn history(
        &self,
        target: &str,
        check: &str,
        resource: &str,
    ) -> Result<Vec<ResultInterval>, StoreError> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {INTERVAL_COLUMNS} FROM intervals i
             WHERE i.target = ?1 AND i.check_id = ?2 AND i.resource = ?3 ORDER BY i.first_seen, i.id"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
        let rows = stmt
            .query_map(params![target, check, resource], interval_row)
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> (Box<dyn Store>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join(".attest")).unwrap();
        (Box::new(store), dir)
    }

    attest_store::store_conformance_tests!(fresh());

    #[test]
    fn a_store_with_a_key_signs_a_checkpoint_after_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_seed([9; 32]);
        let public = key.public();
        let store = SqliteStore::open(dir.path()).unwrap().with_signing_key(key);
        let address = store.put_object(b"x").unwrap();
        store
            .add_evidence(&NewEvidence {
                control: "AC-02".into(),
                file_name: "x.txt".into(),
                sha256: address,
                size: 1,
                note: None,
                effective_date: jiff::civil::date(2026, 1, 1),
                added_at: Timestamp::from_second(100).unwrap(),
                added_by: "a".into(),
            })
            .unwrap();
        let run = RunRecord {
            source: "host".into(),
            target: "h".into(),
            observed_at: Timestamp::from_second(200).unwrap(),
        };
        store.record_run(&run, &[]).unwrap();
        let (records, checkpoints) = store.ledger().unwrap();
        assert_eq!(
            checkpoints.iter().map(|c| c.seq).collect::<Vec<_>>(),
            [1, 2]
        );
        let entries: Vec<Entry> = records.into_iter().map(|r| r.entry).collect();
        let verified = attest_ledger::verify(&entries, &checkpoints, &public).unwrap();
        assert_eq!((verified.signed_through, verified.unsigned_tail), (2, 0));
        // A row edited in the database is caught.
        store
            .conn()
            .execute(
                "UPDATE ledger SET kind = 'evidence.removed' WHERE seq = 1",
                [],
            )
            .unwrap();
        let (records, checkpoints) = store.ledger().unwrap();
        let entries: Vec<Entry> = records.into_iter().map(|r| r.entry).collect();
        assert_eq!(
            attest_ledger::verify(&entries, &checkpoints, &public),
            Err(attest_ledger::Broken::Chain { seq: 2 })
        );
    }

    #[test]
    fn a_tampered_object_is_reported_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let address = store.put_object(b"original").unwrap();
        fs_err::write(store.object_path(&address), b"edited").unwrap();
        let err = store.read_object(&address).unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt { ref actual, .. } if *actual == object_address(b"edited")),
            "{err}"
        );
    }

    #[test]
    fn reopening_keeps_data_and_does_not_rerun_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let address = store.put_object(b"x").unwrap();
        store
            .add_evidence(&NewEvidence {
                control: "AC-02".into(),
                file_name: "x.txt".into(),
                sha256: address,
                size: 1,
                note: None,
                effective_date: jiff::civil::date(2026, 1, 1),
                added_at: Timestamp::from_second(0).unwrap(),
                added_by: "a".into(),
            })
            .unwrap();
        drop(store);
        let again = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(again.list_evidence(None).unwrap().len(), 1);
        let version: i64 = again
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 2);
        let mode: String = again
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_database_from_a_newer_attest_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(SqliteStore::open(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = SqliteStore::open(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::TooNew {
                    found: 99,
                    supported: 2
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn concurrent_writers_from_many_threads_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    // Each thread has its own connection, like separate processes.
                    let store = SqliteStore::open(&path).unwrap();
                    for i in 0..25 {
                        let run = RunRecord {
                            source: "host".into(),
                            target: format!("host-{t}"),
                            observed_at: Timestamp::from_second(i).unwrap(),
                        };
                        let result = CheckResult {
                            check: "c".into(),
                            resource: "r".into(),
                            status: if i % 2 == 0 {
                                Status::Pass
                            } else {
                                Status::Fail
                            },
                            severity: Severity::Low,
                            message: String::new(),
                        };
                        store.record_run(&run, &[result]).unwrap();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        for t in 0..4 {
            let history = store.history(&format!("host-{t}"), "c", "r").unwrap();
            assert_eq!(history.len(), 25, "host-{t}");
        }
        let runs: i64 = store
            .conn()
            .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(runs, 100);
    }
}
