//! Result history in PostgreSQL: writing runs through the shared fold, and reading intervals.
//!
//! A write costs a handful of round trips whatever its size: the fold's decisions are
//! buffered in memory ([`Sink`]) and written with one multi-row statement per table
//! (`unnest` of arrays), and the state of the targets a batch touches is read with two
//! queries for the whole batch. Between writes the fold state of every target stays in memory
//! ([`FoldCache`]); a write trusts it for a target only while the target's row says nobody
//! else recorded a run of it since (same id, run count, latest run and time), so several
//! servers may write to one database.

use std::collections::{HashMap, HashSet};

use attest_ledger::SigningKey;
use attest_model::{CheckResult, ResultInterval, RunRecord, Severity, Status};
use attest_store::fold::{
    Fold, FoldSink, IntervalEnd, IntervalStart, Observed, OpenInterval, RunAt, RunFold,
    SeriesState, TargetState,
};
use attest_store::payload::{self, RESULT_CHANGED, RESULT_GONE, SCAN_RUN, ScanRun};
use attest_store::{
    ImportOutcome, IntervalRecord, RunDelta, RunInfo, RunOutcome, SeriesRecord, StoreError,
    TargetRecord,
};
use jiff::Timestamp;
use postgres::Row;

use crate::ledger::LedgerWriter;
use crate::pool::Db;
use crate::{get, parse, timestamp};

/// Buffered rows are written once this many are pending (bounds the memory of an import).
const FLUSH_ROWS: usize = 50_000;

/// The cache holds at most this many targets; past it, it starts again empty.
const CACHE_TARGETS: usize = 100_000;

/// Fold state kept between writes.
#[derive(Debug, Default)]
pub(crate) struct FoldCache {
    fold: Fold,
    targets: usize,
    /// Targets the current write read or changed: forgotten if it does not commit.
    touched: Vec<(String, String)>,
}

impl FoldCache {
    /// Forgets the targets of a write that did not commit.
    pub(crate) fn rollback(&mut self) {
        for (source, name) in std::mem::take(&mut self.touched) {
            if self.fold.remove_target(&source, &name).is_some() {
                self.targets = self.targets.saturating_sub(1);
            }
        }
    }

    /// Keeps the state of a write that committed.
    pub(crate) fn commit(&mut self) {
        self.touched.clear();
    }
}

/// How an interval written in this transaction gets its status, severity and message.
#[derive(Debug, Clone)]
enum Fields {
    Own {
        status: Status,
        severity: Severity,
        message: String,
    },
    /// Those of a written interval (a resumption after a gap).
    CopyOf(i64),
}

#[derive(Debug)]
struct NewInterval {
    id: i64,
    series: i64,
    fields: Fields,
    first_seen: i64,
    first_run_no: i64,
    end: Option<IntervalEnd>,
}

/// The fold's decisions, buffered until the next flush.
#[derive(Debug, Default)]
struct Sink {
    next_target: i64,
    next_series: i64,
    next_interval: i64,
    targets: Vec<(i64, String, String)>,
    series: Vec<(i64, i64, String, String)>,
    intervals: Vec<NewInterval>,
    /// Index in `intervals` of each interval not written yet.
    pending: HashMap<i64, usize>,
    /// Ends of intervals already written.
    closes: Vec<(i64, IntervalEnd)>,
    opened: u64,
    new_targets: usize,
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl FoldSink for Sink {
    fn new_target(&mut self, source: &str, name: &str) -> Result<i64, StoreError> {
        self.next_target = self.next_target.saturating_add(1);
        self.targets
            .push((self.next_target, source.to_owned(), name.to_owned()));
        self.new_targets = self.new_targets.saturating_add(1);
        Ok(self.next_target)
    }

    fn new_series(&mut self, target: i64, check: &str, resource: &str) -> Result<i64, StoreError> {
        self.next_series = self.next_series.saturating_add(1);
        self.series.push((
            self.next_series,
            target,
            check.to_owned(),
            resource.to_owned(),
        ));
        Ok(self.next_series)
    }

    fn close(&mut self, interval: i64, end: &IntervalEnd) -> Result<(), StoreError> {
        match self
            .pending
            .get(&interval)
            .and_then(|&i| self.intervals.get_mut(i))
        {
            Some(new) => new.end = Some(*end),
            None => self.closes.push((interval, *end)),
        }
        Ok(())
    }

    fn open(&mut self, series: i64, start: &IntervalStart<'_>) -> Result<i64, StoreError> {
        let fields = Fields::Own {
            status: start.status,
            severity: start.severity,
            message: start.message.to_owned(),
        };
        Ok(self.push(series, fields, start.first_seen, start.first_run_no))
    }

    fn resume(
        &mut self,
        series: i64,
        previous: i64,
        first_seen: i64,
        first_run_no: u64,
        _run: i64,
    ) -> Result<i64, StoreError> {
        let fields = match self
            .pending
            .get(&previous)
            .and_then(|&i| self.intervals.get(i))
        {
            Some(new) => new.fields.clone(),
            None => Fields::CopyOf(previous),
        };
        Ok(self.push(series, fields, first_seen, first_run_no))
    }
}

impl Sink {
    fn push(&mut self, series: i64, fields: Fields, first_seen: i64, first_run_no: u64) -> i64 {
        self.next_interval = self.next_interval.saturating_add(1);
        let id = self.next_interval;
        self.pending.insert(id, self.intervals.len());
        self.intervals.push(NewInterval {
            id,
            series,
            fields,
            first_seen,
            first_run_no: count(first_run_no),
            end: None,
        });
        self.opened = self.opened.saturating_add(1);
        id
    }

    fn pending_rows(&self) -> usize {
        self.targets.len() + self.series.len() + self.intervals.len() + self.closes.len()
    }

    /// Writes the buffered rows, parents before children, ends of written intervals before
    /// the intervals that follow them.
    fn flush(&mut self, db: &mut Db<'_>) -> Result<(), StoreError> {
        if !self.targets.is_empty() {
            let targets = std::mem::take(&mut self.targets);
            let ids: Vec<i64> = targets.iter().map(|t| t.0).collect();
            let sources: Vec<&str> = targets.iter().map(|t| t.1.as_str()).collect();
            let names: Vec<&str> = targets.iter().map(|t| t.2.as_str()).collect();
            db.execute(
                "INSERT INTO targets (id, source, name, runs)
                 SELECT id, source, name, 0 FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, source, name)",
                &[&ids, &sources, &names],
            )?;
        }
        if !self.series.is_empty() {
            let series = std::mem::take(&mut self.series);
            let ids: Vec<i64> = series.iter().map(|s| s.0).collect();
            let targets: Vec<i64> = series.iter().map(|s| s.1).collect();
            let checks: Vec<&str> = series.iter().map(|s| s.2.as_str()).collect();
            let resources: Vec<&str> = series.iter().map(|s| s.3.as_str()).collect();
            db.execute(
                "INSERT INTO series (id, target_id, check_id, resource)
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[])",
                &[&ids, &targets, &checks, &resources],
            )?;
        }
        if !self.closes.is_empty() {
            let closes = std::mem::take(&mut self.closes);
            let ids: Vec<i64> = closes.iter().map(|c| c.0).collect();
            let last_seen: Vec<i64> = closes.iter().map(|c| c.1.last_seen).collect();
            let observations: Vec<i64> = closes.iter().map(|c| count(c.1.observations)).collect();
            let last_run: Vec<i64> = closes.iter().map(|c| c.1.last_run).collect();
            let updated = db.execute(
                "UPDATE intervals AS i SET last_seen = u.last_seen, observations = u.observations, last_run = u.last_run
                 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(id, last_seen, observations, last_run)
                 WHERE i.id = u.id",
                &[&ids, &last_seen, &observations, &last_run],
            )?;
            if updated != closes.len() as u64 {
                return Err(StoreError::Database(format!(
                    "{} intervals to end were not found",
                    (closes.len() as u64).saturating_sub(updated)
                )));
            }
        }
        if !self.intervals.is_empty() {
            let intervals = std::mem::take(&mut self.intervals);
            self.pending.clear();
            let end = |i: &NewInterval| i.end;
            let (own, copies): (Vec<&NewInterval>, Vec<&NewInterval>) = intervals
                .iter()
                .partition(|i| matches!(i.fields, Fields::Own { .. }));
            if !own.is_empty() {
                let ids: Vec<i64> = own.iter().map(|i| i.id).collect();
                let series: Vec<i64> = own.iter().map(|i| i.series).collect();
                let mut statuses = Vec::with_capacity(own.len());
                let mut severities = Vec::with_capacity(own.len());
                let mut messages = Vec::with_capacity(own.len());
                for interval in &own {
                    if let Fields::Own {
                        status,
                        severity,
                        message,
                    } = &interval.fields
                    {
                        statuses.push(status.as_str());
                        severities.push(severity.as_str());
                        messages.push(message.as_str());
                    }
                }
                let first_seen: Vec<i64> = own.iter().map(|i| i.first_seen).collect();
                let first_run_no: Vec<i64> = own.iter().map(|i| i.first_run_no).collect();
                let last_seen: Vec<Option<i64>> =
                    own.iter().map(|i| end(i).map(|e| e.last_seen)).collect();
                let observations: Vec<Option<i64>> = own
                    .iter()
                    .map(|i| end(i).map(|e| count(e.observations)))
                    .collect();
                let last_run: Vec<Option<i64>> =
                    own.iter().map(|i| end(i).map(|e| e.last_run)).collect();
                db.execute(
                    "INSERT INTO intervals (id, series_id, status, severity, message, first_seen, first_run_no, last_seen, observations, last_run)
                     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])",
                    &[&ids, &series, &statuses, &severities, &messages, &first_seen, &first_run_no, &last_seen, &observations, &last_run],
                )?;
            }
            if !copies.is_empty() {
                let ids: Vec<i64> = copies.iter().map(|i| i.id).collect();
                let series: Vec<i64> = copies.iter().map(|i| i.series).collect();
                let previous: Vec<i64> = copies
                    .iter()
                    .map(|i| match i.fields {
                        Fields::CopyOf(previous) => previous,
                        Fields::Own { .. } => 0,
                    })
                    .collect();
                let first_seen: Vec<i64> = copies.iter().map(|i| i.first_seen).collect();
                let first_run_no: Vec<i64> = copies.iter().map(|i| i.first_run_no).collect();
                let last_seen: Vec<Option<i64>> =
                    copies.iter().map(|i| end(i).map(|e| e.last_seen)).collect();
                let observations: Vec<Option<i64>> = copies
                    .iter()
                    .map(|i| end(i).map(|e| count(e.observations)))
                    .collect();
                let last_run: Vec<Option<i64>> =
                    copies.iter().map(|i| end(i).map(|e| e.last_run)).collect();
                let inserted = db.execute(
                    "INSERT INTO intervals (id, series_id, status, severity, message, first_seen, first_run_no, last_seen, observations, last_run)
                     SELECT u.id, u.series_id, p.status, p.severity, p.message, u.first_seen, u.first_run_no, u.last_seen, u.observations, u.last_run
                     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
                          AS u(id, series_id, previous, first_seen, first_run_no, last_seen, observations, last_run)
                     JOIN intervals p ON p.id = u.previous",
                    &[&ids, &series, &previous, &first_seen, &first_run_no, &last_seen, &observations, &last_run],
                )?;
                if inserted != copies.len() as u64 {
                    return Err(StoreError::Database(
                        "an interval resumed after a gap follows one that is missing".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A run row waiting to be written.
struct RunRow {
    id: i64,
    target: i64,
    observed_at: i64,
    max_gap: i64,
    results: i64,
    changed: i64,
    gone: i64,
}

/// Writes runs within one transaction: fold state, rows, ledger entries.
pub(crate) struct Writer<'w, 'a, 'k> {
    db: &'w mut Db<'a>,
    cache: &'w mut FoldCache,
    sink: Sink,
    ledger: LedgerWriter<'k>,
    runs_rows: Vec<RunRow>,
    /// Targets checked against the database in this write.
    checked: HashSet<(String, String)>,
    /// Targets written (by id): source, name, and the time of their first run in this write.
    dirty: HashMap<i64, (String, String, i64)>,
    /// Reused for rendering `scan.run` payloads.
    rendered: String,
    runs: u64,
    observations: u64,
}

impl<'w, 'a, 'k> Writer<'w, 'a, 'k> {
    /// Locks the ledger head and continues the history after the latest write.
    pub(crate) fn open(
        db: &'w mut Db<'a>,
        cache: &'w mut FoldCache,
        key: Option<&'k SigningKey>,
        kinds: HashMap<String, i64>,
    ) -> Result<Self, StoreError> {
        let ledger = LedgerWriter::open(db, key, kinds)?;
        // Read after taking the lock: every id below was assigned by a committed write.
        let row = db.query_one(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM targets), (SELECT COALESCE(MAX(id), 0) FROM series),
                    (SELECT COALESCE(MAX(id), 0) FROM intervals)",
            &[],
        )?;
        let sink = Sink {
            next_target: get(&row, 0)?,
            next_series: get(&row, 1)?,
            next_interval: get(&row, 2)?,
            ..Sink::default()
        };
        cache.touched.clear();
        if cache.targets > CACHE_TARGETS {
            cache.fold = Fold::new();
            cache.targets = 0;
        }
        Ok(Writer {
            db,
            cache,
            sink,
            ledger,
            runs_rows: Vec::new(),
            checked: HashSet::new(),
            dirty: HashMap::new(),
            rendered: String::with_capacity(256),
            runs: 0,
            observations: 0,
        })
    }

    /// Makes sure the fold holds the committed state of the targets of `runs`: the cached
    /// state where the database shows no run since, the database's otherwise.
    pub(crate) fn prepare<'r>(
        &mut self,
        runs: impl IntoIterator<Item = &'r RunRecord>,
    ) -> Result<(), StoreError> {
        let mut sources = Vec::new();
        let mut names = Vec::new();
        for run in runs {
            let key = (run.source.clone(), run.target.clone());
            if self.checked.contains(&key) {
                continue;
            }
            sources.push(run.source.as_str());
            names.push(run.target.as_str());
            self.cache.touched.push(key.clone());
            self.checked.insert(key);
        }
        if names.is_empty() {
            return Ok(());
        }
        let rows = self.db.query(
            "SELECT t.id, t.source, t.name, t.runs, t.last_seen, t.last_run
             FROM targets t JOIN unnest($1::text[], $2::text[]) AS k(source, name)
               ON t.source = k.source AND t.name = k.name",
            &[&sources, &names],
        )?;
        let mut stored: HashMap<(&str, &str), TargetState> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let state = TargetState {
                id: get(row, 0)?,
                runs: u64::try_from(get::<i64>(row, 3)?).unwrap_or(0),
                last_seen: get(row, 4)?,
                last_run: get::<Option<i64>>(row, 5)?.unwrap_or(0),
                ..TargetState::default()
            };
            stored.insert((get(row, 1)?, get(row, 2)?), state);
        }
        let mut load: HashMap<i64, (&str, &str, TargetState)> = HashMap::new();
        for (source, name) in sources.iter().zip(&names) {
            let cached = self.cache.fold.target(source, name);
            let fresh = stored.remove(&(*source, *name));
            match (cached, fresh) {
                (Some(cached), Some(fresh))
                    if cached.id == fresh.id
                        && cached.runs == fresh.runs
                        && cached.last_seen == fresh.last_seen
                        && cached.last_run == fresh.last_run => {}
                (None, None) => {}
                (cached, fresh) => {
                    if cached.is_some() {
                        self.cache.fold.remove_target(source, name);
                        self.cache.targets = self.cache.targets.saturating_sub(1);
                    }
                    if let Some(fresh) = fresh {
                        load.insert(fresh.id, (source, name, fresh));
                    }
                }
            }
        }
        if load.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = load.keys().copied().collect();
        let rows = self.db.query(
            "SELECT s.target_id, s.id, s.check_id, s.resource, i.id, i.status, i.first_run_no
             FROM series s LEFT JOIN intervals i ON i.series_id = s.id AND i.last_seen IS NULL
             WHERE s.target_id = ANY($1)",
            &[&ids],
        )?;
        for row in &rows {
            let target: i64 = get(row, 0)?;
            let Some((_, _, state)) = load.get_mut(&target) else {
                continue;
            };
            let interval: Option<i64> = get(row, 4)?;
            let open = match interval {
                Some(interval) => Some(OpenInterval {
                    id: interval,
                    status: parse::<Status>(row, 5)?,
                    first_run_no: u64::try_from(get::<i64>(row, 6)?).unwrap_or(0),
                }),
                None => None,
            };
            state.insert_series(
                get(row, 2)?,
                get(row, 3)?,
                SeriesState {
                    id: get(row, 1)?,
                    open,
                },
            );
        }
        for (_, (source, name, state)) in load {
            self.cache.fold.insert_target(source, name, state);
            self.cache.targets = self.cache.targets.saturating_add(1);
        }
        Ok(())
    }

    /// The runs already recorded of the targets of `runs` at the same observation second
    /// (the first of each), by source, target and Unix second.
    pub(crate) fn recorded_runs(
        &mut self,
        runs: &[&RunRecord],
    ) -> Result<HashMap<(String, String, i64), i64>, StoreError> {
        let sources: Vec<&str> = runs.iter().map(|r| r.source.as_str()).collect();
        let names: Vec<&str> = runs.iter().map(|r| r.target.as_str()).collect();
        let seconds: Vec<i64> = runs.iter().map(|r| r.observed_at.as_second()).collect();
        let rows = self.db.query(
            "SELECT t.source, t.name, r.observed_at, MIN(r.id)
             FROM (SELECT DISTINCT * FROM unnest($1::text[], $2::text[], $3::bigint[])) AS k(source, name, observed_at)
             JOIN targets t ON t.source = k.source AND t.name = k.name
             JOIN runs r ON r.target_id = t.id AND r.observed_at = k.observed_at
             GROUP BY t.source, t.name, r.observed_at",
            &[&sources, &names, &seconds],
        )?;
        rows.iter()
            .map(|row| Ok(((get(row, 0)?, get(row, 1)?, get(row, 2)?), get(row, 3)?)))
            .collect()
    }

    /// Records a run that observed `results`, with ledger entries timed `time`.
    pub(crate) fn record(
        &mut self,
        run: &RunRecord,
        results: &[CheckResult],
        time: i64,
    ) -> Result<RunOutcome, StoreError> {
        self.prepare([run])?;
        let run_id = count(self.ledger.next_seq());
        let folded = self.cache.fold.run(
            &mut self.sink,
            RunAt::of(run),
            run_id,
            Observed::Full(results),
        )?;
        let outcome = self.write_run(run, run_id, time, &folded, results)?;
        self.flush_if_full()?;
        Ok(outcome)
    }

    /// Imports one delta, with ledger entries timed at its observation.
    pub(crate) fn import(&mut self, delta: &RunDelta) -> Result<RunOutcome, StoreError> {
        let run = &delta.run;
        self.prepare([run])?;
        let run_id = count(self.ledger.next_seq());
        let folded = self.cache.fold.run(
            &mut self.sink,
            RunAt::of(run),
            run_id,
            Observed::Delta {
                changes: &delta.changes,
                gone: &delta.gone,
                observed: delta.observed,
            },
        )?;
        let outcome = self.write_run(
            run,
            run_id,
            run.observed_at.as_second(),
            &folded,
            &delta.changes,
        )?;
        if delta.checkpoint {
            self.ledger.checkpoint();
        }
        self.flush_if_full()?;
        Ok(outcome)
    }

    fn write_run(
        &mut self,
        run: &RunRecord,
        run_id: i64,
        time: i64,
        folded: &RunFold,
        results: &[CheckResult],
    ) -> Result<RunOutcome, StoreError> {
        let Some(target) = self.cache.fold.target(&run.source, &run.target) else {
            return Err(StoreError::Database("a recorded target vanished".into()));
        };
        let target_id = target.id;
        let changed = folded.changed.len() as u64;
        let gone = folded.gone.len() as u64;
        let observed_at = run.observed_at.as_second();
        let max_gap = run.max_gap.as_secs();
        let scan = ScanRun {
            run: run_id,
            source: run.source.as_str(),
            target: run.target.as_str(),
            observed_at,
            max_gap,
            results: folded.observed,
            changed,
            gone,
            unchanged: folded.observed.saturating_sub(changed),
        };
        self.rendered.clear();
        scan.write(&mut self.rendered);
        let seq = self
            .ledger
            .append(self.db, time, SCAN_RUN, &self.rendered, false)?;
        if count(seq) != run_id {
            return Err(StoreError::Database(format!(
                "run {run_id} was appended to the ledger as entry {seq}"
            )));
        }
        self.runs_rows.push(RunRow {
            id: run_id,
            target: target_id,
            observed_at,
            max_gap,
            results: count(folded.observed),
            changed: count(changed),
            gone: count(gone),
        });
        for &index in &folded.changed {
            if let Some(result) = results.get(index) {
                let payload = payload::result_changed(run_id, &run.source, &run.target, result);
                self.ledger
                    .append(self.db, time, RESULT_CHANGED, &payload, true)?;
            }
        }
        for (check, resource) in &folded.gone {
            let payload = payload::result_gone(run_id, &run.source, &run.target, check, resource);
            self.ledger
                .append(self.db, time, RESULT_GONE, &payload, true)?;
        }
        self.dirty
            .entry(target_id)
            .or_insert_with(|| (run.source.clone(), run.target.clone(), observed_at));
        self.runs = self.runs.saturating_add(1);
        self.observations = self.observations.saturating_add(folded.observed);
        Ok(RunOutcome {
            run_id,
            opened: folded.changed.len(),
            extended: folded.extended,
            resumed: folded.resumed,
            gone: folded.gone.len(),
        })
    }

    fn flush_if_full(&mut self) -> Result<(), StoreError> {
        if self.sink.pending_rows() + self.ledger.pending() + self.runs_rows.len() >= FLUSH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes every buffered row.
    fn flush(&mut self) -> Result<(), StoreError> {
        self.sink.flush(self.db)?;
        if !self.runs_rows.is_empty() {
            let runs = std::mem::take(&mut self.runs_rows);
            let column = |f: fn(&RunRow) -> i64| runs.iter().map(f).collect::<Vec<i64>>();
            db_insert_runs(
                self.db,
                &[
                    &column(|r| r.id),
                    &column(|r| r.target),
                    &column(|r| r.observed_at),
                    &column(|r| r.max_gap),
                    &column(|r| r.results),
                    &column(|r| r.changed),
                    &column(|r| r.gone),
                ],
            )?;
        }
        self.ledger.flush(self.db)
    }

    /// Writes everything, the targets' counters and the ledger head; returns what was written
    /// and the kind numbers to remember once the transaction commits.
    pub(crate) fn finish(mut self) -> Result<(ImportOutcome, HashMap<String, i64>), StoreError> {
        self.flush()?;
        if !self.dirty.is_empty() {
            let mut ids = Vec::with_capacity(self.dirty.len());
            let mut runs = Vec::with_capacity(self.dirty.len());
            let mut last_seen = Vec::with_capacity(self.dirty.len());
            let mut last_run = Vec::with_capacity(self.dirty.len());
            let mut first_seen = Vec::with_capacity(self.dirty.len());
            for (source, name, first) in self.dirty.values() {
                if let Some(state) = self.cache.fold.target(source, name) {
                    ids.push(state.id);
                    runs.push(count(state.runs));
                    last_seen.push(state.last_seen);
                    last_run.push(state.last_run);
                    first_seen.push(*first);
                }
            }
            self.db.execute(
                "UPDATE targets AS t SET runs = u.runs, last_seen = u.last_seen, last_run = u.last_run,
                        first_seen = COALESCE(t.first_seen, u.first_seen)
                 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
                      AS u(id, runs, last_seen, last_run, first_seen)
                 WHERE t.id = u.id",
                &[&ids, &runs, &last_seen, &last_run, &first_seen],
            )?;
        }
        self.cache.targets = self.cache.targets.saturating_add(self.sink.new_targets);
        let intervals = self.sink.opened;
        let (entries, checkpoints, kinds) = self.ledger.finish(self.db)?;
        Ok((
            ImportOutcome {
                runs: self.runs,
                observations: self.observations,
                intervals,
                entries,
                checkpoints,
            },
            kinds,
        ))
    }
}

fn db_insert_runs(db: &mut Db<'_>, columns: &[&Vec<i64>; 7]) -> Result<(), StoreError> {
    let [ids, targets, observed, gaps, results, changed, gone] = columns;
    db.execute(
        "INSERT INTO runs (id, target_id, observed_at, max_gap, results, changed, gone)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])",
        &[ids, targets, observed, gaps, results, changed, gone],
    )?;
    Ok(())
}

fn interval_row(row: &Row) -> Result<ResultInterval, StoreError> {
    Ok(ResultInterval {
        target: get(row, 0)?,
        check: get(row, 1)?,
        resource: get(row, 2)?,
        status: parse::<Status>(row, 3)?,
        severity: parse::<Severity>(row, 4)?,
        message: get(row, 5)?,
        first_seen: timestamp(row, 6)?,
        last_seen: timestamp(row, 7)?,
        observations: u64::try_from(get::<i64>(row, 8)?).unwrap_or(0),
    })
}

/// The columns [`interval_row`] reads, from an interval joined to its series and target,
/// followed by the given condition (a literal, so the statement can be cached).
macro_rules! interval_select {
    ($condition:literal) => {
        concat!(
            "SELECT t.name, s.check_id, s.resource, i.status, i.severity, i.message, i.first_seen,
                COALESCE(i.last_seen, t.last_seen), COALESCE(i.observations, t.runs - i.first_run_no + 1)
             FROM intervals i JOIN series s ON s.id = i.series_id JOIN targets t ON t.id = s.target_id ",
            $condition
        )
    };
}

pub(crate) fn current_results(db: &mut Db<'_>) -> Result<Vec<ResultInterval>, StoreError> {
    db.query(
        interval_select!("WHERE i.last_seen IS NULL ORDER BY t.name, s.check_id, s.resource"),
        &[],
    )?
    .iter()
    .map(interval_row)
    .collect()
}

pub(crate) fn failing_results(db: &mut Db<'_>) -> Result<Vec<ResultInterval>, StoreError> {
    // The condition repeats the partial index `intervals_failing`, so only failing rows are read.
    db.query(
        interval_select!("WHERE i.last_seen IS NULL AND i.status = 'fail' ORDER BY t.name, s.check_id, s.resource"),
        &[],
    )?
    .iter()
    .map(interval_row)
    .collect()
}

pub(crate) fn history(
    db: &mut Db<'_>,
    target: &str,
    check: &str,
    resource: &str,
) -> Result<Vec<ResultInterval>, StoreError> {
    db.query(
        interval_select!(
            "WHERE t.name = $1 AND s.check_id = $2 AND s.resource = $3 ORDER BY i.first_seen, i.id"
        ),
        &[&target, &check, &resource],
    )?
    .iter()
    .map(interval_row)
    .collect()
}

pub(crate) fn targets(db: &mut Db<'_>) -> Result<Vec<TargetRecord>, StoreError> {
    db.query(
        "SELECT id, source, name, runs, first_seen, last_seen FROM targets ORDER BY id",
        &[],
    )?
    .iter()
    .map(|r| {
        let time = |i: usize| -> Result<Option<Timestamp>, StoreError> {
            Ok(get::<Option<i64>>(r, i)?.and_then(|s| Timestamp::from_second(s).ok()))
        };
        Ok(TargetRecord {
            id: get(r, 0)?,
            source: get(r, 1)?,
            name: get(r, 2)?,
            runs: u64::try_from(get::<i64>(r, 3)?).unwrap_or(0),
            first_seen: time(4)?,
            last_seen: time(5)?,
        })
    })
    .collect()
}

pub(crate) fn series(db: &mut Db<'_>) -> Result<Vec<SeriesRecord>, StoreError> {
    db.query(
        "SELECT id, target_id, check_id, resource FROM series ORDER BY id",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(SeriesRecord {
            id: get(r, 0)?,
            target: get(r, 1)?,
            check: get(r, 2)?,
            resource: get(r, 3)?,
        })
    })
    .collect()
}

pub(crate) fn visit_intervals(
    db: &mut Db<'_>,
    from: Timestamp,
    to: Timestamp,
    visit: &mut dyn FnMut(IntervalRecord),
) -> Result<(), StoreError> {
    let (from, to) = (from.as_second(), to.as_second());
    db.visit_cursor(
        &format!(
            "SELECT i.series_id, i.status, i.severity, i.message, i.first_seen,
                    COALESCE(i.last_seen, t.last_seen), COALESCE(i.observations, t.runs - i.first_run_no + 1),
                    i.last_seen IS NULL
             FROM intervals i JOIN series s ON s.id = i.series_id JOIN targets t ON t.id = s.target_id
             WHERE i.first_seen <= {to} AND COALESCE(i.last_seen, t.last_seen) >= {from}
             ORDER BY i.series_id, i.first_seen, i.id"
        ),
        50_000,
        &mut |row| {
            let series: i64 = get(row, 0)?;
            visit(IntervalRecord {
                series,
                status: parse::<Status>(row, 1)?,
                severity: parse::<Severity>(row, 2)?,
                message: get(row, 3)?,
                first_seen: timestamp(row, 4)?,
                last_seen: timestamp(row, 5)?,
                observations: u64::try_from(get::<i64>(row, 6)?).unwrap_or(0),
                open: get(row, 7)?,
            });
            Ok(true)
        },
    )
}

pub(crate) fn run_counts(
    db: &mut Db<'_>,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(i64, u64)>, StoreError> {
    let (from, to) = (from.as_second(), to.as_second());
    let targets = db.query(
        "SELECT id, runs, first_seen, last_seen FROM targets ORDER BY id",
        &[],
    )?;
    let mut counts = Vec::with_capacity(targets.len());
    for row in &targets {
        let id: i64 = get(row, 0)?;
        let runs: i64 = get(row, 1)?;
        let (Some(first), Some(last)) = (get::<Option<i64>>(row, 2)?, get::<Option<i64>>(row, 3)?)
        else {
            continue;
        };
        let n: i64 = if first >= from && last <= to {
            // Every run of the target is in the window: its counter says how many.
            runs
        } else if last < from || first > to {
            0
        } else {
            let row = db.query_one(
                "SELECT COUNT(*) FROM runs WHERE target_id = $1 AND observed_at BETWEEN $2 AND $3",
                &[&id, &from, &to],
            )?;
            get(&row, 0)?
        };
        if n > 0 {
            counts.push((id, u64::try_from(n).unwrap_or(0)));
        }
    }
    Ok(counts)
}

pub(crate) fn nth_run(
    db: &mut Db<'_>,
    target: i64,
    from: Timestamp,
    to: Timestamp,
    index: u64,
) -> Result<Option<RunInfo>, StoreError> {
    let row = db.query_opt(
        "SELECT id, target_id, observed_at FROM runs
         WHERE target_id = $1 AND observed_at BETWEEN $2 AND $3
         ORDER BY observed_at, id LIMIT 1 OFFSET $4",
        &[&target, &from.as_second(), &to.as_second(), &count(index)],
    )?;
    row.map(|r| {
        Ok(RunInfo {
            id: get(&r, 0)?,
            target: get(&r, 1)?,
            observed_at: timestamp(&r, 2)?,
        })
    })
    .transpose()
}
