//! The PostgreSQL [`Store`]: Attest's store for a server, shared by any number of app
//! servers.
//!
//! ```text
//! let store = PostgresStore::connect("postgres://attest@127.0.0.1/attest")?
//!     .with_signing_key(key);
//! ```
//!
//! The schema is the SQLite store's (see `migrations/0001_init.sql`): targets, series, runs
//! and state intervals whose `last_seen` is NULL while every run extends them, and a ledger
//! whose rows keep their kind by number and the first 8 bytes of their hash. Both stores
//! write the same ledger entries with the same payloads for the same calls, so
//! [`attest_store::verify::verify_store`] checks either the same way. Evidence objects are
//! kept in the database (`objects`), verified against their address when read, so app
//! servers keep no files of their own.
//!
//! Every write is one transaction that first locks the `ledger_head` row: writers on every
//! server queue there (for up to [`LOCK_TIMEOUT`]), so the hash chain never forks, while
//! readers (each on a connection of the pool) see the last committed state without waiting. Migrations are embedded and
//! versioned in `schema_migrations`, applied in one transaction under an advisory lock, so
//! servers starting together migrate once.
//!
//! The store lives in the first schema of the connection's `search_path`: several stores
//! can share a database, each in its own schema (`?options=-csearch_path%3Dname` in the URL).
//!
//! Connections are plain TCP without TLS: run the database on the same host or network
//! namespace, or reach it through a local TLS proxy (such as stunnel or pgbouncer with
//! `server_tls_sslmode`); TLS in the client itself is future work.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use attest_ledger::{Checkpoint, SigningKey};
use attest_model::{EvidenceRecord, Finding, FindingEvent, NewEvidence, ResultInterval};
use attest_store::payload::{self, EVIDENCE_ADDED};
use attest_store::{
    FindingChange, ImportOutcome, IntervalRecord, ReportOutcome, ReportRun, RunDelta, RunInfo,
    RunOutcome, RunResults, SeriesRecord, Store, StoreError, StoredEntry, TargetRecord, is_address,
    object_address,
};
use jiff::Timestamp;
use jiff::civil::Date;
use postgres::Row;
use postgres::types::FromSql;

mod accounts;
mod history;
mod ledger;
mod pool;

use history::{FoldCache, Writer};
use ledger::LedgerWriter;
use pool::{Db, Pool};

pub use pool::{ACQUIRE_TIMEOUT, LOCK_TIMEOUT};

/// Connections a store opens at most, unless told otherwise ([`PostgresStore::with_pool_size`]).
pub const DEFAULT_POOL_SIZE: usize = 8;

/// Embedded migrations; `schema_migrations` lists the versions applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_accounts.sql"),
    include_str!("../migrations/0003_failing_index.sql"),
];

/// First key of the advisory lock taken while migrating (the second is the schema's hash).
const MIGRATION_LOCK: i32 = 0x0A77_E575;

/// A store in a PostgreSQL database (in the first schema of the connection's `search_path`).
pub struct PostgresStore {
    pool: Pool,
    key: Option<SigningKey>,
    /// Fold state of the targets written so far, checked against the database by each write.
    cache: Mutex<FoldCache>,
    /// Ledger kind numbers known to be committed.
    kinds: Mutex<HashMap<String, i64>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool_size", &self.pool.size())
            .finish_non_exhaustive()
    }
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "shaped for `map_err(db_err)`"
)]
pub(crate) fn db_err(err: postgres::Error) -> StoreError {
    StoreError::Database(describe(&err))
}

/// `err` in one line: the server's message and code, or the client's error and its causes.
pub(crate) fn describe(err: &postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            text.push_str(": ");
            text.push_str(detail);
        }
        return text;
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Column `index` of `row`.
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> Result<T, StoreError> {
    row.try_get(index).map_err(db_err)
}

/// Column `index` of `row`, text parsed as `T`.
pub(crate) fn parse<T: FromStr>(row: &Row, index: usize) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    let text: &str = get(row, index)?;
    text.parse::<T>()
        .map_err(|e| StoreError::Database(format!("column {index}: `{text}` is unreadable: {e}")))
}

/// Column `index` of `row`, Unix seconds.
pub(crate) fn timestamp(row: &Row, index: usize) -> Result<Timestamp, StoreError> {
    let seconds: i64 = get(row, index)?;
    Timestamp::from_second(seconds)
        .map_err(|e| StoreError::Database(format!("column {index}: {e}")))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db?options=...`, or
    /// `host=... user=... dbname=...`) and brings its schema up to date.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let config = postgres::Config::from_str(url)
            .map_err(|e| StoreError::Database(format!("invalid PostgreSQL URL: {e}")))?;
        let pool = Pool::new(config, DEFAULT_POOL_SIZE);
        let mut conn = pool.connect()?;
        migrate(conn.client())?;
        pool.adopt(conn);
        Ok(PostgresStore {
            pool,
            key: None,
            cache: Mutex::new(FoldCache::default()),
            kinds: Mutex::new(HashMap::new()),
        })
    }

    /// Signs ledger checkpoints with `key` at the end of every write.
    #[must_use]
    pub fn with_signing_key(mut self, key: SigningKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Opens at most `size` connections (at least 1; default [`DEFAULT_POOL_SIZE`]).
    #[must_use]
    pub fn with_pool_size(mut self, size: usize) -> Self {
        self.pool.set_size(size);
        self
    }

    /// Fails a write that waited `timeout` for another to finish (default [`LOCK_TIMEOUT`]),
    /// as when a server holding the ledger head stopped answering mid-write.
    #[must_use]
    pub fn with_lock_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.pool.set_lock_timeout(timeout);
        self
    }

    /// Runs `read`, whose statements each commit by themselves (one round trip each): for
    /// reads of one statement, and writes of one statement that append nothing to the ledger.
    fn once<T>(
        &self,
        read: impl FnOnce(&mut Db<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.pool.get()?;
        read(&mut conn.plain())
    }

    /// Runs `read` in a read-only transaction that sees one snapshot.
    fn read<T>(
        &self,
        read: impl FnOnce(&mut Db<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.pool.get()?;
        let mut db = conn.read()?;
        let value = read(&mut db)?;
        db.commit()?;
        Ok(value)
    }

    fn kinds(&self) -> MutexGuard<'_, HashMap<String, i64>> {
        // A plain map, consistent whenever the lock is released.
        self.kinds.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `write` in one transaction holding the ledger head lock; commits on success.
    fn write<T>(
        &self,
        write: impl FnOnce(&mut Db<'_>, &mut LedgerWriter<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let kinds = self.kinds().clone();
        let mut conn = self.pool.get()?;
        let mut db = conn.write()?;
        let mut ledger = LedgerWriter::open(&mut db, self.key.as_ref(), kinds)?;
        let value = write(&mut db, &mut ledger)?;
        let (_, _, kinds) = ledger.finish(&mut db)?;
        db.commit()?;
        *self.kinds() = kinds;
        Ok(value)
    }

    /// Runs `write` with a history writer in one transaction; commits on success. The fold
    /// cache is held throughout, so history writes of this store queue in memory before they
    /// queue on the ledger head lock.
    fn write_history<T>(
        &self,
        write: impl FnOnce(&mut Writer<'_, '_, '_>) -> Result<T, StoreError>,
    ) -> Result<(T, ImportOutcome), StoreError> {
        // A panic while holding the cache leaves targets half-folded: start again empty.
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| {
            let mut cache = poisoned.into_inner();
            *cache = FoldCache::default();
            cache
        });
        let kinds = self.kinds().clone();
        let outcome = (|| {
            let mut conn = self.pool.get()?;
            let mut db = conn.write()?;
            let mut writer = Writer::open(&mut db, &mut cache, self.key.as_ref(), kinds)?;
            let value = write(&mut writer)?;
            let (outcome, kinds) = writer.finish()?;
            db.commit()?;
            Ok((value, outcome, kinds))
        })();
        match outcome {
            Ok((value, outcome, kinds)) => {
                cache.commit();
                *self.kinds() = kinds;
                Ok((value, outcome))
            }
            Err(err) => {
                cache.rollback();
                Err(err)
            }
        }
    }
}

fn migrate(client: &mut postgres::Client) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(db_err)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext(COALESCE(current_schema(), '')))",
        &[&MIGRATION_LOCK],
    )
    .map_err(db_err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT      PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .map_err(db_err)?;
    let version: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .map_err(db_err)?
        .try_get(0)
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
        tx.batch_execute(sql).map_err(db_err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&i64::try_from(index).unwrap_or(0).saturating_add(1)],
        )
        .map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
}

fn evidence_row(row: &Row) -> Result<EvidenceRecord, StoreError> {
    Ok(EvidenceRecord {
        id: get(row, 0)?,
        control: get(row, 1)?,
        file_name: get(row, 2)?,
        sha256: get(row, 3)?,
        size: u64::try_from(get::<i64>(row, 4)?).unwrap_or(0),
        note: get(row, 5)?,
        effective_date: parse::<Date>(row, 6)?,
        added_at: parse::<Timestamp>(row, 7)?,
        added_by: get(row, 8)?,
    })
}

impl Store for PostgresStore {
    fn put_object(&self, content: &[u8]) -> Result<String, StoreError> {
        let address = object_address(content);
        self.once(|db| {
            db.execute(
                "INSERT INTO objects (address, content) VALUES ($1, $2) ON CONFLICT (address) DO NOTHING",
                &[&address, &content],
            )
        })?;
        Ok(address)
    }

    fn read_object(&self, address: &str) -> Result<Vec<u8>, StoreError> {
        if !is_address(address) {
            return Err(StoreError::MissingObject(address.to_owned()));
        }
        let content: Vec<u8> = self
            .once(|db| {
                db.query_opt(
                    "SELECT content FROM objects WHERE address = $1",
                    &[&address],
                )?
                .map(|row| get(&row, 0))
                .transpose()
            })?
            .ok_or_else(|| StoreError::MissingObject(address.to_owned()))?;
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
        self.write(|db, ledger| {
            let row = db.query_one(
                "INSERT INTO evidence (id, control_id, file_name, sha256, size, note, effective_date, added_at, added_by)
                 SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8 FROM evidence RETURNING id",
                &[
                    &evidence.control,
                    &evidence.file_name,
                    &evidence.sha256,
                    &to_i64(evidence.size),
                    &evidence.note,
                    &evidence.effective_date.to_string(),
                    &evidence.added_at.to_string(),
                    &evidence.added_by,
                ],
            )?;
            let record = EvidenceRecord {
                id: get(&row, 0)?,
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
                db,
                record.added_at.as_second(),
                EVIDENCE_ADDED,
                &payload::evidence_added(&record),
                true,
            )?;
            Ok(record)
        })
    }

    fn list_evidence(&self, control: Option<&str>) -> Result<Vec<EvidenceRecord>, StoreError> {
        self.once(|db| {
            db.query(
                "SELECT id, control_id, file_name, sha256, size, note, effective_date, added_at, added_by
                 FROM evidence WHERE $1::text IS NULL OR control_id = $1 ORDER BY id",
                &[&control],
            )?
            .iter()
            .map(evidence_row)
            .collect()
        })
    }

    fn record_runs(
        &self,
        recorded_at: Timestamp,
        runs: &[RunResults<'_>],
    ) -> Result<Vec<RunOutcome>, StoreError> {
        let time = recorded_at.as_second();
        let (outcomes, _) = self.write_history(|writer| {
            writer.prepare(runs.iter().map(|r| r.run))?;
            runs.iter()
                .map(|run| writer.record(run.run, run.results, time))
                .collect::<Result<Vec<_>, _>>()
        })?;
        Ok(outcomes)
    }

    fn record_reports(
        &self,
        recorded_at: Timestamp,
        reports: &[ReportRun<'_>],
    ) -> Result<Vec<ReportOutcome>, StoreError> {
        let time = recorded_at.as_second();
        let (outcomes, _) = self.write_history(|writer| {
            let runs: Vec<&attest_model::RunRecord> = reports.iter().map(|r| r.run.run).collect();
            // Runs already recorded, and those recorded by this write, by (source, target,
            // observation second).
            let mut recorded = writer.recorded_runs(&runs)?;
            writer.prepare(runs.iter().copied())?;
            let mut outcomes = Vec::with_capacity(reports.len());
            for report in reports {
                let run = report.run.run;
                let key = (
                    run.source.clone(),
                    run.target.clone(),
                    run.observed_at.as_second(),
                );
                if let Some(&run_id) = recorded.get(&key) {
                    outcomes.push(ReportOutcome::Duplicate { run_id });
                    continue;
                }
                let outcome = writer.record(run, report.run.results, time)?;
                recorded.insert(key, outcome.run_id);
                outcomes.push(ReportOutcome::Recorded(outcome));
            }
            Ok(outcomes)
        })?;
        Ok(outcomes)
    }

    fn import_runs(
        &self,
        runs: &mut dyn Iterator<Item = RunDelta>,
    ) -> Result<ImportOutcome, StoreError> {
        let ((), outcome) = self.write_history(|writer| {
            for delta in runs {
                writer.import(&delta)?;
            }
            Ok(())
        })?;
        Ok(outcome)
    }

    fn append_event(
        &self,
        time: Timestamp,
        kind: &str,
        payload: &serde_json::Value,
    ) -> Result<u64, StoreError> {
        let payload = payload::canonical(payload);
        self.write(|db, ledger| ledger.append(db, time.as_second(), kind, &payload, true))
    }

    fn latest_event(&self, kind: &str) -> Result<Option<(u64, String)>, StoreError> {
        self.once(|db| {
            let row = db.query_opt(
                "SELECT l.seq, l.payload FROM ledger l JOIN ledger_kinds k ON k.id = l.kind_id
                 WHERE k.name = $1 AND l.kind_id <> 1 ORDER BY l.seq DESC LIMIT 1",
                &[&kind],
            )?;
            row.map(|row| {
                Ok((
                    u64::try_from(get::<i64>(&row, 0)?).unwrap_or(0),
                    get::<Option<String>>(&row, 1)?.unwrap_or_default(),
                ))
            })
            .transpose()
        })
    }

    fn current_results(&self) -> Result<Vec<ResultInterval>, StoreError> {
        self.once(history::current_results)
    }

    fn failing_results(&self) -> Result<Vec<ResultInterval>, StoreError> {
        self.once(history::failing_results)
    }

    fn history(
        &self,
        target: &str,
        check: &str,
        resource: &str,
    ) -> Result<Vec<ResultInterval>, StoreError> {
        self.once(|db| history::history(db, target, check, resource))
    }

    fn targets(&self) -> Result<Vec<TargetRecord>, StoreError> {
        self.once(history::targets)
    }

    fn series(&self) -> Result<Vec<SeriesRecord>, StoreError> {
        self.once(history::series)
    }

    fn visit_intervals(
        &self,
        from: Timestamp,
        to: Timestamp,
        visit: &mut dyn FnMut(IntervalRecord),
    ) -> Result<(), StoreError> {
        self.read(|db| history::visit_intervals(db, from, to, visit))
    }

    fn run_counts(&self, from: Timestamp, to: Timestamp) -> Result<Vec<(i64, u64)>, StoreError> {
        self.read(|db| history::run_counts(db, from, to))
    }

    fn nth_run(
        &self,
        target: i64,
        from: Timestamp,
        to: Timestamp,
        index: u64,
    ) -> Result<Option<RunInfo>, StoreError> {
        self.once(|db| history::nth_run(db, target, from, to, index))
    }

    fn visit_ledger(
        &self,
        from_seq: u64,
        visit: &mut dyn FnMut(&StoredEntry<'_>) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        self.read(|db| ledger::visit(db, from_seq, visit))
    }

    fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        self.once(ledger::checkpoints)
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
        self.write(|db, ledger| {
            let id: i64 = if finding.id == 0 {
                let row = db.query_one(
                    "INSERT INTO findings (id, status, state)
                     SELECT COALESCE(MAX(id), 0) + 1, 'open', '{}' FROM findings RETURNING id",
                    &[],
                )?;
                get(&row, 0)?
            } else {
                if db
                    .query_opt("SELECT 1 FROM findings WHERE id = $1", &[&finding.id])?
                    .is_none()
                {
                    return Err(StoreError::UnknownFinding(finding.id));
                }
                finding.id
            };
            let mut saved = finding.clone();
            saved.id = id;
            let state = payload::canonical(&serde_json::to_value(&saved).map_err(json_err)?);
            db.execute(
                "UPDATE findings SET status = $2, state = $3 WHERE id = $1",
                &[&id, &saved.status.as_str(), &state],
            )?;
            let entry =
                payload::finding_changed(&saved, change.by, change.note).map_err(json_err)?;
            let seq = ledger.append(
                db,
                change.at.as_second(),
                &format!("{}{}", payload::FINDING_PREFIX, change.event),
                &entry,
                true,
            )?;
            db.execute(
                "INSERT INTO finding_events (seq, finding_id) VALUES ($1, $2)",
                &[&to_i64(seq), &id],
            )?;
            Ok(saved)
        })
    }

    fn findings(&self) -> Result<Vec<Finding>, StoreError> {
        let rows = self.once(|db| {
            db.query("SELECT id, state FROM findings ORDER BY id", &[])?
                .iter()
                .map(|r| Ok((get::<i64>(r, 0)?, get::<String>(r, 1)?)))
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        rows.into_iter()
            .map(|(id, state)| {
                serde_json::from_str(&state).map_err(|e| {
                    StoreError::Database(format!(
                        "finding {id}: its stored state is unreadable: {e}"
                    ))
                })
            })
            .collect()
    }

    fn finding_history(&self, id: i64) -> Result<Vec<FindingEvent>, StoreError> {
        let rows = self.once(|db| {
            db.query(
                "SELECT l.seq, l.time, k.name, l.payload FROM finding_events e
                 JOIN ledger l ON l.seq = e.seq JOIN ledger_kinds k ON k.id = l.kind_id
                 WHERE e.finding_id = $1 ORDER BY e.seq",
                &[&id],
            )?
            .iter()
            .map(|r| {
                Ok((
                    get::<i64>(r, 0)?,
                    get::<i64>(r, 1)?,
                    get::<String>(r, 2)?,
                    get::<Option<String>>(r, 3)?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()
        })?;
        let mut events = Vec::with_capacity(rows.len());
        for (seq, time, kind, payload) in rows {
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

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
