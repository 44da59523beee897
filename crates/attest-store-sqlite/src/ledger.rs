//! The ledger in SQLite: appending inside a write transaction, and reading in order.
//!
//! A row keeps `seq`, `time`, the kind (numbered in `ledger_kinds`), the payload and the first
//! 8 bytes of the entry's hash.
//! The payload of a `scan.run` entry is not stored: it is rendered from the run row whose id
//! is the entry's `seq` ([`attest_store::payload::ScanRun`]). `prev` and `payload_sha256` are
//! recomputed when the ledger is read; `ledger_head` keeps the full hash of the last entry so
//! that appending does not.

use std::collections::HashMap;
use std::ops::ControlFlow;

use attest_ledger::{Checkpoint, GENESIS, Hash, SigningKey, entry_hash, payload_hash};
use attest_store::payload::ScanRun;
use attest_store::{CHECKPOINT_EVERY, RunFields, StoreError, StoredEntry};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::db_err;

/// Appends entries within one transaction and signs checkpoints.
pub(crate) struct LedgerWriter<'k> {
    seq: u64,
    head: Hash,
    head_time: i64,
    since_checkpoint: u64,
    key: Option<&'k SigningKey>,
    /// Entries appended by this writer.
    pub(crate) appended: u64,
    /// Checkpoints signed by this writer.
    pub(crate) signed: u64,
}

impl<'k> LedgerWriter<'k> {
    /// Continues after the head stored in `tx`.
    pub(crate) fn open(
        tx: &Transaction<'_>,
        key: Option<&'k SigningKey>,
    ) -> Result<Self, StoreError> {
        let head: Option<(i64, Vec<u8>)> = tx
            .query_row("SELECT seq, hash FROM ledger_head WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(db_err)?;
        let (seq, head) = match head {
            Some((seq, hash)) => (
                u64::try_from(seq).unwrap_or(0),
                hash.try_into().map_err(|_| {
                    StoreError::Database("ledger_head: the stored hash is not 32 bytes".into())
                })?,
            ),
            None => (0, GENESIS),
        };
        Ok(LedgerWriter {
            seq,
            head,
            head_time: 0,
            since_checkpoint: 0,
            key,
            appended: 0,
            signed: 0,
        })
    }

    /// The sequence number the next entry will get.
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.saturating_add(1)
    }

    /// Appends an entry; the payload is stored unless `store_payload` is false (a `scan.run`
    /// entry whose payload is its run row). Returns its sequence number.
    pub(crate) fn append(
        &mut self,
        tx: &Transaction<'_>,
        time: i64,
        kind: &str,
        payload: &str,
        store_payload: bool,
    ) -> Result<u64, StoreError> {
        if kind.is_empty() || kind.contains(['\n', '\r']) {
            return Err(attest_ledger::LedgerError::BadKind(kind.to_owned()).into());
        }
        let kind_id = kind_id(tx, kind)?;
        let seq = self.next_seq();
        let hash = entry_hash(
            seq,
            time,
            kind,
            &payload_hash(payload.as_bytes()),
            &self.head,
        );
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO ledger (seq, time, kind_id, payload, hash_prefix) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db_err)?;
        insert
            .execute(params![
                i64::try_from(seq).unwrap_or(i64::MAX),
                time,
                kind_id,
                store_payload.then_some(payload),
                hash.get(..8).unwrap_or_default(),
            ])
            .map_err(db_err)?;
        self.seq = seq;
        self.head = hash;
        self.head_time = time;
        self.appended = self.appended.saturating_add(1);
        self.since_checkpoint = self.since_checkpoint.saturating_add(1);
        if self.since_checkpoint >= CHECKPOINT_EVERY {
            self.checkpoint(tx)?;
        }
        Ok(seq)
    }

    /// Signs a checkpoint at the head, if there is a key and anything new to sign.
    pub(crate) fn checkpoint(&mut self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        let Some(key) = self.key else { return Ok(()) };
        if self.since_checkpoint == 0 {
            return Ok(());
        }
        let checkpoint = key.checkpoint(self.seq, self.head, self.head_time);
        tx.prepare_cached(
            "INSERT INTO checkpoints (seq, head, time, signature) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(db_err)?
        .execute(params![
            i64::try_from(self.seq).unwrap_or(i64::MAX),
            checkpoint.head.as_slice(),
            checkpoint.time,
            checkpoint.signature.as_slice()
        ])
        .map_err(db_err)?;
        self.since_checkpoint = 0;
        self.signed = self.signed.saturating_add(1);
        Ok(())
    }

    /// Signs the final checkpoint and records the head; call before committing.
    pub(crate) fn finish(mut self, tx: &Transaction<'_>) -> Result<(u64, u64), StoreError> {
        if self.appended == 0 {
            return Ok((0, 0));
        }
        self.checkpoint(tx)?;
        tx.prepare_cached("INSERT OR REPLACE INTO ledger_head (id, seq, hash) VALUES (1, ?1, ?2)")
            .map_err(db_err)?
            .execute(params![
                i64::try_from(self.seq).unwrap_or(i64::MAX),
                self.head.as_slice()
            ])
            .map_err(db_err)?;
        Ok((self.appended, self.signed))
    }
}

/// The number of entry kind `kind`, adding it on first use. `scan.run` is 1.
fn kind_id(tx: &Transaction<'_>, kind: &str) -> Result<i64, StoreError> {
    if kind == attest_store::payload::SCAN_RUN {
        return Ok(1);
    }
    let found: Option<i64> = tx
        .prepare_cached("SELECT id FROM ledger_kinds WHERE name = ?1")
        .map_err(db_err)?
        .query_row(params![kind], |r| r.get(0))
        .optional()
        .map_err(db_err)?;
    match found {
        Some(id) => Ok(id),
        None => tx
            .prepare_cached("INSERT INTO ledger_kinds (name) VALUES (?1) RETURNING id")
            .map_err(db_err)?
            .query_row(params![kind], |r| r.get(0))
            .map_err(db_err),
    }
}

/// Every kind by number.
pub(crate) fn kinds(conn: &Connection) -> Result<HashMap<i64, String>, StoreError> {
    conn.prepare_cached("SELECT id, name FROM ledger_kinds")
        .map_err(db_err)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)
}

/// A run row, as its `scan.run` payload needs it.
struct RunRow {
    id: i64,
    target: i64,
    observed_at: i64,
    max_gap: i64,
    results: i64,
    changed: i64,
    gone: i64,
}

/// Visits the ledger from `from_seq`, rendering `scan.run` payloads from their run rows.
pub(crate) fn visit(
    conn: &Connection,
    from_seq: u64,
    visit: &mut dyn FnMut(&StoredEntry<'_>) -> ControlFlow<()>,
) -> Result<(), StoreError> {
    let from = i64::try_from(from_seq).unwrap_or(i64::MAX);
    let kinds = kinds(conn)?;
    let targets: HashMap<i64, (String, String)> = {
        let mut stmt = conn
            .prepare("SELECT id, source, name FROM targets")
            .map_err(db_err)?;
        stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
            .map_err(db_err)?
            .collect::<Result<_, _>>()
            .map_err(db_err)?
    };
    let mut entries = conn
        .prepare(
            "SELECT seq, time, kind_id, payload, hash_prefix FROM ledger WHERE seq >= ?1 ORDER BY seq",
        )
        .map_err(db_err)?;
    let mut runs_stmt = conn
        .prepare(
            "SELECT id, target_id, observed_at, max_gap, results, changed, gone FROM runs WHERE id >= ?1 ORDER BY id",
        )
        .map_err(db_err)?;
    let mut runs = runs_stmt.query(params![from]).map_err(db_err)?;
    let mut next_run = |min: i64| -> Result<Option<RunRow>, StoreError> {
        while let Some(row) = runs.next().map_err(db_err)? {
            let id: i64 = row.get(0).map_err(db_err)?;
            if id < min {
                continue;
            }
            return Ok(Some(RunRow {
                id,
                target: row.get(1).map_err(db_err)?,
                observed_at: row.get(2).map_err(db_err)?,
                max_gap: row.get(3).map_err(db_err)?,
                results: row.get(4).map_err(db_err)?,
                changed: row.get(5).map_err(db_err)?,
                gone: row.get(6).map_err(db_err)?,
            }));
        }
        Ok(None)
    };
    let mut pending_run: Option<RunRow> = None;
    let mut rendered = String::with_capacity(256);
    let mut rows = entries.query(params![from]).map_err(db_err)?;
    while let Some(row) = rows.next().map_err(db_err)? {
        let seq: i64 = row.get(0).map_err(db_err)?;
        let time: i64 = row.get(1).map_err(db_err)?;
        let kind_id: i64 = row.get(2).map_err(db_err)?;
        // An unknown kind number renders as an empty kind, which cannot hash to the value
        // recorded for the entry.
        let kind = kinds.get(&kind_id).map_or("", String::as_str);
        let prefix_ref = row.get_ref(4).map_err(db_err)?;
        let hash_prefix: [u8; 8] = prefix_ref
            .as_blob()
            .ok()
            .and_then(|b| b.try_into().ok())
            .unwrap_or_default();
        let payload_ref = row.get_ref(3).map_err(db_err)?;
        let stored = payload_ref.as_str_or_null().map_err(|e| db_err(e.into()))?;
        let mut fields = None;
        let payload: &str = if let Some(text) = stored {
            text
        } else {
            // The payload is the run row with this id; a missing row leaves an empty
            // payload, which cannot hash to the recorded value.
            if pending_run.as_ref().is_none_or(|r| r.id < seq) {
                pending_run = next_run(seq)?;
            }
            rendered.clear();
            if let Some(run) = pending_run.as_ref().filter(|r| r.id == seq)
                && let Some((source, name)) = targets.get(&run.target)
            {
                fields = Some(RunFields {
                    run: run.id,
                    target: run.target,
                    observed_at: run.observed_at,
                    max_gap: run.max_gap,
                    results: u64::try_from(run.results).unwrap_or(0),
                    changed: u64::try_from(run.changed).unwrap_or(0),
                    gone: u64::try_from(run.gone).unwrap_or(0),
                });
                ScanRun {
                    run: run.id,
                    source: source.as_str(),
                    target: name.as_str(),
                    observed_at: run.observed_at,
                    max_gap: run.max_gap,
                    results: u64::try_from(run.results).unwrap_or(0),
                    changed: u64::try_from(run.changed).unwrap_or(0),
                    gone: u64::try_from(run.gone).unwrap_or(0),
                    unchanged: u64::try_from(run.results.saturating_sub(run.changed)).unwrap_or(0),
                }
                .write(&mut rendered);
            }
            &rendered
        };
        let entry = StoredEntry {
            seq: u64::try_from(seq).unwrap_or(0),
            time,
            kind,
            payload,
            hash_prefix,
            run: fields,
        };
        if visit(&entry).is_break() {
            break;
        }
    }
    Ok(())
}

/// Every checkpoint in order.
pub(crate) fn checkpoints(conn: &Connection) -> Result<Vec<Checkpoint>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT seq, head, time, signature FROM checkpoints ORDER BY seq")
        .map_err(db_err)?;
    stmt.query_map([], |r| {
        let head: Vec<u8> = r.get(1)?;
        let signature: Vec<u8> = r.get(3)?;
        let bad = |i: usize| {
            rusqlite::Error::InvalidColumnType(i, "hash".into(), rusqlite::types::Type::Blob)
        };
        Ok(Checkpoint {
            seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
            head: head.try_into().map_err(|_| bad(1))?,
            time: r.get(2)?,
            signature: signature.try_into().map_err(|_| bad(3))?,
        })
    })
    .map_err(db_err)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(db_err)
}
