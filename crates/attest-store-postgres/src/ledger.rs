//! The ledger in PostgreSQL: appending inside a write transaction, and reading in order.
//!
//! A row keeps `seq`, `time`, the kind (numbered in `ledger_kinds`), the payload and the first
//! 8 bytes of the entry's hash, exactly as the SQLite store does. The payload of a `scan.run`
//! entry is not stored: it is rendered from the run row whose id is the entry's `seq`
//! ([`attest_store::payload::ScanRun`]). `prev` and `payload_sha256` are recomputed when the
//! ledger is read; `ledger_head` keeps the full hash of the last entry.
//!
//! A writer first locks the `ledger_head` row (`FOR UPDATE`): writers on every server
//! connected to the database queue there, so the chain never forks. Entries are hashed as
//! they are appended and written in bulk (one statement per [`LedgerWriter::flush`]).

use std::collections::HashMap;
use std::ops::ControlFlow;

use attest_ledger::{Checkpoint, Hash, SigningKey, entry_hash, payload_hash};
use attest_store::payload::{self, ScanRun};
use attest_store::{CHECKPOINT_EVERY, RunFields, StoreError, StoredEntry};

use crate::get;
use crate::pool::Db;

/// Kinds numbered by the first migration.
const SEEDED_KINDS: [&str; 5] = [
    payload::SCAN_RUN,
    payload::RESULT_CHANGED,
    payload::RESULT_GONE,
    payload::EVIDENCE_ADDED,
    payload::CONFIG_CHANGED,
];

/// Rows read per round trip when visiting the ledger.
const VISIT_CHUNK: u32 = 20_000;

/// A ledger row waiting to be written.
struct Row {
    seq: i64,
    time: i64,
    kind: i64,
    payload: Option<String>,
    prefix: [u8; 8],
}

/// Appends entries within one transaction, holding the ledger head lock, and signs
/// checkpoints.
pub(crate) struct LedgerWriter<'k> {
    seq: u64,
    head: Hash,
    head_time: i64,
    since_checkpoint: u64,
    key: Option<&'k SigningKey>,
    /// Kind numbers known to this writer (committed ones and those it added).
    kinds: HashMap<String, i64>,
    rows: Vec<Row>,
    checkpoints: Vec<Checkpoint>,
    appended: u64,
    signed: u64,
}

impl<'k> LedgerWriter<'k> {
    /// Locks the ledger head in `db` and continues after it; `kinds` are the kind numbers
    /// known to be committed.
    pub(crate) fn open(
        db: &mut Db<'_>,
        key: Option<&'k SigningKey>,
        kinds: HashMap<String, i64>,
    ) -> Result<Self, StoreError> {
        let row = db
            .query_opt(
                "SELECT seq, hash FROM ledger_head WHERE id = 1 FOR UPDATE",
                &[],
            )?
            .ok_or_else(|| StoreError::Database("ledger_head: the head row is missing".into()))?;
        let seq: i64 = get(&row, 0)?;
        let hash: Vec<u8> = get(&row, 1)?;
        Ok(LedgerWriter {
            seq: u64::try_from(seq).unwrap_or(0),
            head: hash.try_into().map_err(|_| {
                StoreError::Database("ledger_head: the stored hash is not 32 bytes".into())
            })?,
            head_time: 0,
            since_checkpoint: 0,
            key,
            kinds,
            rows: Vec::new(),
            checkpoints: Vec::new(),
            appended: 0,
            signed: 0,
        })
    }

    /// The sequence number the next entry will get.
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.saturating_add(1)
    }

    /// Rows waiting to be written.
    pub(crate) fn pending(&self) -> usize {
        self.rows.len()
    }

    /// The number of entry kind `kind`, adding it on first use.
    fn kind_id(&mut self, db: &mut Db<'_>, kind: &str) -> Result<i64, StoreError> {
        if let Some(index) = SEEDED_KINDS.iter().position(|k| *k == kind) {
            return Ok(i64::try_from(index).unwrap_or(0).saturating_add(1));
        }
        if let Some(id) = self.kinds.get(kind) {
            return Ok(*id);
        }
        let id: i64 = match db.query_opt("SELECT id FROM ledger_kinds WHERE name = $1", &[&kind])? {
            Some(row) => get(&row, 0)?,
            // Under the ledger head lock no other writer adds a kind meanwhile.
            None => db
                .query_one(
                    "INSERT INTO ledger_kinds (id, name)
                     SELECT COALESCE(MAX(id), 0) + 1, $1 FROM ledger_kinds RETURNING id",
                    &[&kind],
                )
                .and_then(|row| get(&row, 0))?,
        };
        self.kinds.insert(kind.to_owned(), id);
        Ok(id)
    }

    /// Appends an entry; the payload is stored unless `store_payload` is false (a `scan.run`
    /// entry whose payload is its run row). Returns its sequence number.
    pub(crate) fn append(
        &mut self,
        db: &mut Db<'_>,
        time: i64,
        kind: &str,
        payload: &str,
        store_payload: bool,
    ) -> Result<u64, StoreError> {
        if kind.is_empty() || kind.contains(['\n', '\r']) {
            return Err(attest_ledger::LedgerError::BadKind(kind.to_owned()).into());
        }
        let kind_id = self.kind_id(db, kind)?;
        let seq = self.next_seq();
        let hash = entry_hash(
            seq,
            time,
            kind,
            &payload_hash(payload.as_bytes()),
            &self.head,
        );
        let mut prefix = [0; 8];
        prefix.copy_from_slice(hash.get(..8).unwrap_or(&[0; 8]));
        self.rows.push(Row {
            seq: i64::try_from(seq).unwrap_or(i64::MAX),
            time,
            kind: kind_id,
            payload: store_payload.then(|| payload.to_owned()),
            prefix,
        });
        self.seq = seq;
        self.head = hash;
        self.head_time = time;
        self.appended = self.appended.saturating_add(1);
        self.since_checkpoint = self.since_checkpoint.saturating_add(1);
        if self.since_checkpoint >= CHECKPOINT_EVERY {
            self.checkpoint();
        }
        Ok(seq)
    }

    /// Signs a checkpoint at the head, if there is a key and anything new to sign.
    pub(crate) fn checkpoint(&mut self) {
        let Some(key) = self.key else { return };
        if self.since_checkpoint == 0 {
            return;
        }
        self.checkpoints
            .push(key.checkpoint(self.seq, self.head, self.head_time));
        self.since_checkpoint = 0;
        self.signed = self.signed.saturating_add(1);
    }

    /// Writes the entries and checkpoints appended so far.
    pub(crate) fn flush(&mut self, db: &mut Db<'_>) -> Result<(), StoreError> {
        if !self.rows.is_empty() {
            let rows = std::mem::take(&mut self.rows);
            let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
            let times: Vec<i64> = rows.iter().map(|r| r.time).collect();
            let kinds: Vec<i64> = rows.iter().map(|r| r.kind).collect();
            let payloads: Vec<Option<&str>> = rows.iter().map(|r| r.payload.as_deref()).collect();
            let prefixes: Vec<&[u8]> = rows.iter().map(|r| &r.prefix[..]).collect();
            db.execute(
                "INSERT INTO ledger (seq, time, kind_id, payload, hash_prefix)
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bytea[])",
                &[&seqs, &times, &kinds, &payloads, &prefixes],
            )?;
        }
        if !self.checkpoints.is_empty() {
            let checkpoints = std::mem::take(&mut self.checkpoints);
            let seqs: Vec<i64> = checkpoints
                .iter()
                .map(|c| i64::try_from(c.seq).unwrap_or(i64::MAX))
                .collect();
            let heads: Vec<&[u8]> = checkpoints.iter().map(|c| &c.head[..]).collect();
            let times: Vec<i64> = checkpoints.iter().map(|c| c.time).collect();
            let signatures: Vec<&[u8]> = checkpoints.iter().map(|c| &c.signature[..]).collect();
            db.execute(
                "INSERT INTO checkpoints (seq, head, time, signature)
                 SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[], $4::bytea[])",
                &[&seqs, &heads, &times, &signatures],
            )?;
        }
        Ok(())
    }

    /// Signs the final checkpoint, writes what is pending and records the head; call before
    /// committing. Returns the entries appended, the checkpoints signed and the kind numbers
    /// to remember once the transaction commits.
    pub(crate) fn finish(
        mut self,
        db: &mut Db<'_>,
    ) -> Result<(u64, u64, HashMap<String, i64>), StoreError> {
        if self.appended == 0 {
            return Ok((0, 0, self.kinds));
        }
        self.checkpoint();
        self.flush(db)?;
        db.execute(
            "UPDATE ledger_head SET seq = $1, hash = $2 WHERE id = 1",
            &[
                &i64::try_from(self.seq).unwrap_or(i64::MAX),
                &&self.head[..],
            ],
        )?;
        Ok((self.appended, self.signed, self.kinds))
    }
}

/// Every kind by number.
fn kinds(db: &mut Db<'_>) -> Result<HashMap<i64, String>, StoreError> {
    db.query("SELECT id, name FROM ledger_kinds", &[])?
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
        .collect()
}

/// Visits the ledger from `from_seq`, rendering `scan.run` payloads from their run rows.
pub(crate) fn visit(
    db: &mut Db<'_>,
    from_seq: u64,
    visit: &mut dyn FnMut(&StoredEntry<'_>) -> ControlFlow<()>,
) -> Result<(), StoreError> {
    let from = i64::try_from(from_seq).unwrap_or(i64::MAX);
    let kinds = kinds(db)?;
    let targets: HashMap<i64, (String, String)> = db
        .query("SELECT id, source, name FROM targets", &[])?
        .iter()
        .map(|r| Ok((get(r, 0)?, (get(r, 1)?, get(r, 2)?))))
        .collect::<Result<_, StoreError>>()?;
    let mut rendered = String::with_capacity(256);
    db.visit_cursor(
        &format!(
            "SELECT l.seq, l.time, l.kind_id, l.payload, l.hash_prefix,
                    r.id, r.target_id, r.observed_at, r.max_gap, r.results, r.changed, r.gone
             FROM ledger l LEFT JOIN runs r ON l.payload IS NULL AND r.id = l.seq
             WHERE l.seq >= {from} ORDER BY l.seq"
        ),
        VISIT_CHUNK,
        &mut |row| {
            let seq: i64 = get(row, 0)?;
            let kind_id: i64 = get(row, 2)?;
            // An unknown kind number renders as an empty kind, which cannot hash to the value
            // recorded for the entry.
            let kind = kinds.get(&kind_id).map_or("", String::as_str);
            let prefix: &[u8] = get(row, 4)?;
            let mut fields = None;
            let payload: &str = if let Some(text) = get::<Option<&str>>(row, 3)? {
                text
            } else {
                // The payload is the run row with this id; a missing row leaves an empty
                // payload, which cannot hash to the recorded value.
                rendered.clear();
                let run: Option<i64> = get(row, 5)?;
                let target: Option<i64> = get(row, 6)?;
                if let (Some(run), Some(target)) = (run, target)
                    && let Some((source, name)) = targets.get(&target)
                {
                    let count = |i: usize| -> Result<u64, StoreError> {
                        Ok(u64::try_from(get::<i64>(row, i)?).unwrap_or(0))
                    };
                    let run = RunFields {
                        run,
                        target,
                        observed_at: get(row, 7)?,
                        max_gap: get(row, 8)?,
                        results: count(9)?,
                        changed: count(10)?,
                        gone: count(11)?,
                    };
                    ScanRun {
                        run: run.run,
                        source: source.as_str(),
                        target: name.as_str(),
                        observed_at: run.observed_at,
                        max_gap: run.max_gap,
                        results: run.results,
                        changed: run.changed,
                        gone: run.gone,
                        unchanged: run.results.saturating_sub(run.changed),
                    }
                    .write(&mut rendered);
                    fields = Some(run);
                }
                &rendered
            };
            let entry = StoredEntry {
                seq: u64::try_from(seq).unwrap_or(0),
                time: get(row, 1)?,
                kind,
                payload,
                hash_prefix: prefix.try_into().unwrap_or_default(),
                run: fields,
            };
            Ok(visit(&entry).is_continue())
        },
    )
}

/// Every checkpoint in order.
pub(crate) fn checkpoints(db: &mut Db<'_>) -> Result<Vec<Checkpoint>, StoreError> {
    let rows = db.query(
        "SELECT seq, head, time, signature FROM checkpoints ORDER BY seq",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            let seq: i64 = get(r, 0)?;
            let head: &[u8] = get(r, 1)?;
            let signature: &[u8] = get(r, 3)?;
            let bad =
                || StoreError::Database(format!("checkpoint {seq}: malformed hash or signature"));
            Ok(Checkpoint {
                seq: u64::try_from(seq).unwrap_or(0),
                head: head.try_into().map_err(|_| bad())?,
                time: get(r, 2)?,
                signature: signature.try_into().map_err(|_| bad())?,
            })
        })
        .collect()
}
