//! Result history in SQLite: writing runs through the shared fold, and reading intervals.

use std::collections::{HashMap, HashSet};

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
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::db_err;
use crate::ledger::LedgerWriter;

/// Writes the fold's decisions as rows.
struct SqlSink<'a, 'c> {
    tx: &'a Transaction<'c>,
    intervals: u64,
}

impl FoldSink for SqlSink<'_, '_> {
    fn new_target(&mut self, source: &str, name: &str) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO targets (source, name, runs) VALUES (?1, ?2, 0) RETURNING id",
            )
            .map_err(db_err)?
            .query_row(params![source, name], |r| r.get(0))
            .map_err(db_err)
    }

    fn new_series(&mut self, target: i64, check: &str, resource: &str) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO series (target_id, check_id, resource) VALUES (?1, ?2, ?3) RETURNING id",
            )
            .map_err(db_err)?
            .query_row(params![target, check, resource], |r| r.get(0))
            .map_err(db_err)
    }

    fn close(&mut self, interval: i64, end: &IntervalEnd) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE intervals SET last_seen = ?2, observations = ?3, last_run = ?4 WHERE id = ?1",
            )
            .map_err(db_err)?
            .execute(params![
                interval,
                end.last_seen,
                i64::try_from(end.observations).unwrap_or(i64::MAX),
                end.last_run
            ])
            .map_err(db_err)?;
        Ok(())
    }

    fn open(&mut self, series: i64, start: &IntervalStart<'_>) -> Result<i64, StoreError> {
        self.intervals = self.intervals.saturating_add(1);
        self.tx
            .prepare_cached(
                "INSERT INTO intervals (series_id, status, severity, message, first_seen, first_run_no)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            )
            .map_err(db_err)?
            .query_row(
                params![
                    series,
                    start.status.as_str(),
                    start.severity.as_str(),
                    start.message,
                    start.first_seen,
                    i64::try_from(start.first_run_no).unwrap_or(i64::MAX)
                ],
                |r| r.get(0),
            )
            .map_err(db_err)
    }

    fn resume(
        &mut self,
        series: i64,
        previous: i64,
        first_seen: i64,
        first_run_no: u64,
        _run: i64,
    ) -> Result<i64, StoreError> {
        self.intervals = self.intervals.saturating_add(1);
        self.tx
            .prepare_cached(
                "INSERT INTO intervals (series_id, status, severity, message, first_seen, first_run_no)
                 SELECT ?1, status, severity, message, ?2, ?3 FROM intervals WHERE id = ?4 RETURNING id",
            )
            .map_err(db_err)?
            .query_row(
                params![
                    series,
                    first_seen,
                    i64::try_from(first_run_no).unwrap_or(i64::MAX),
                    previous
                ],
                |r| r.get(0),
            )
            .map_err(db_err)
    }
}

/// Writes runs within one transaction: fold state, rows, ledger entries.
pub(crate) struct Writer<'a, 'c, 'k> {
    sink: SqlSink<'a, 'c>,
    fold: Fold,
    ledger: LedgerWriter<'k>,
    /// Targets written (by id): source, name, and the time of their first run in this write.
    dirty: HashMap<i64, (String, String, i64)>,
    /// Reused for rendering `scan.run` payloads.
    rendered: String,
    runs: u64,
    observations: u64,
    /// Targets whose fold state this write read from the store or checked against it.
    checked: HashSet<i64>,
}

impl<'a, 'c, 'k> Writer<'a, 'c, 'k> {
    pub(crate) fn new(tx: &'a Transaction<'c>, ledger: LedgerWriter<'k>) -> Self {
        Self::with_fold(tx, ledger, Fold::new())
    }

    /// A writer that starts from the fold state of earlier writes ([`Writer::into_fold`]).
    /// A target's cached state is trusted only while its `targets` row says that nobody
    /// recorded a run of it since (same id, run count, latest run and time); otherwise it is
    /// read again.
    pub(crate) fn with_fold(tx: &'a Transaction<'c>, ledger: LedgerWriter<'k>, fold: Fold) -> Self {
        Writer {
            sink: SqlSink { tx, intervals: 0 },
            fold,
            ledger,
            dirty: HashMap::new(),
            rendered: String::with_capacity(256),
            runs: 0,
            observations: 0,
            checked: HashSet::new(),
        }
    }

    /// Loads a target's state into the fold, unless the fold holds it up to date.
    fn load(&mut self, source: &str, name: &str) -> Result<(), StoreError> {
        let cached = self.fold.target(source, name).map(|state| {
            (
                state.id,
                i64::try_from(state.runs).unwrap_or(i64::MAX),
                state.last_seen,
                state.last_run,
            )
        });
        if let Some((id, ..)) = cached
            && (self.checked.contains(&id) || self.dirty.contains_key(&id))
        {
            return Ok(());
        }
        let tx = self.sink.tx;
        let found: Option<(i64, i64, Option<i64>, Option<i64>)> = tx
            .prepare_cached(
                "SELECT id, runs, last_seen, last_run FROM targets WHERE source = ?1 AND name = ?2",
            )
            .map_err(db_err)?
            .query_row(params![source, name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
            .map_err(db_err)?;
        if let Some(cached) = cached {
            let current = found.map(|(id, runs, last_seen, last_run)| {
                (id, runs, last_seen, last_run.unwrap_or(0))
            });
            if current == Some(cached) {
                self.checked.insert(cached.0);
                return Ok(());
            }
            self.fold.remove_target(source, name);
        }
        let Some((id, runs, last_seen, last_run)) = found else {
            return Ok(());
        };
        self.checked.insert(id);
        let mut state = TargetState {
            id,
            runs: u64::try_from(runs).unwrap_or(0),
            last_seen,
            last_run: last_run.unwrap_or(0),
            ..TargetState::default()
        };
        let mut stmt = tx
            .prepare_cached(
                "SELECT s.id, s.check_id, s.resource, i.id, i.status, i.first_run_no
                 FROM series s LEFT JOIN intervals i ON i.series_id = s.id AND i.last_seen IS NULL
                 WHERE s.target_id = ?1",
            )
            .map_err(db_err)?;
        let mut rows = stmt.query(params![id]).map_err(db_err)?;
        while let Some(row) = rows.next().map_err(db_err)? {
            let check: String = row.get(1).map_err(db_err)?;
            let resource: String = row.get(2).map_err(db_err)?;
            let interval: Option<i64> = row.get(3).map_err(db_err)?;
            let open = match interval {
                Some(interval) => Some(OpenInterval {
                    id: interval,
                    status: parse_column::<Status>(row, 4).map_err(db_err)?,
                    first_run_no: u64::try_from(row.get::<_, i64>(5).map_err(db_err)?).unwrap_or(0),
                }),
                None => None,
            };
            state.insert_series(
                &check,
                &resource,
                SeriesState {
                    id: row.get(0).map_err(db_err)?,
                    open,
                },
            );
        }
        self.fold.insert_target(source, name, state);
        Ok(())
    }

    /// Records a run that observed `results`, with ledger entries timed `time`.
    pub(crate) fn record(
        &mut self,
        run: &RunRecord,
        results: &[CheckResult],
        time: i64,
    ) -> Result<RunOutcome, StoreError> {
        self.load(&run.source, &run.target)?;
        let run_id = i64::try_from(self.ledger.next_seq()).unwrap_or(i64::MAX);
        let folded = self.fold.run(
            &mut self.sink,
            RunAt::of(run),
            run_id,
            Observed::Full(results),
        )?;
        self.write_run(run, run_id, time, &folded, results)
    }

    /// Imports one delta, with ledger entries timed at its observation.
    pub(crate) fn import(&mut self, delta: &RunDelta) -> Result<RunOutcome, StoreError> {
        let run = &delta.run;
        self.load(&run.source, &run.target)?;
        let run_id = i64::try_from(self.ledger.next_seq()).unwrap_or(i64::MAX);
        let folded = self.fold.run(
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
            self.ledger.checkpoint(self.sink.tx)?;
        }
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
        let tx = self.sink.tx;
        let Some(target) = self.fold.target(&run.source, &run.target) else {
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
            .append(tx, time, SCAN_RUN, &self.rendered, false)?;
        if i64::try_from(seq).ok() != Some(run_id) {
            return Err(StoreError::Database(format!(
                "run {run_id} was appended to the ledger as entry {seq}"
            )));
        }
        tx.prepare_cached(
            "INSERT INTO runs (id, target_id, observed_at, max_gap, results, changed, gone)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(db_err)?
        .execute(params![
            run_id,
            target_id,
            observed_at,
            max_gap,
            i64::try_from(folded.observed).unwrap_or(i64::MAX),
            i64::try_from(changed).unwrap_or(i64::MAX),
            i64::try_from(gone).unwrap_or(i64::MAX),
        ])
        .map_err(db_err)?;
        for &index in &folded.changed {
            if let Some(result) = results.get(index) {
                let payload = payload::result_changed(run_id, &run.source, &run.target, result);
                self.ledger
                    .append(tx, time, RESULT_CHANGED, &payload, true)?;
            }
        }
        for (check, resource) in &folded.gone {
            let payload = payload::result_gone(run_id, &run.source, &run.target, check, resource);
            self.ledger.append(tx, time, RESULT_GONE, &payload, true)?;
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

    /// Writes the targets' counters, signs the final checkpoint and records the ledger head.
    pub(crate) fn finish(self) -> Result<ImportOutcome, StoreError> {
        self.finish_with_fold().map(|(outcome, _)| outcome)
    }

    /// [`Writer::finish`], handing back the fold state for the next write to start from
    /// once this one commits.
    pub(crate) fn finish_with_fold(self) -> Result<(ImportOutcome, Fold), StoreError> {
        let tx = self.sink.tx;
        let mut update = tx
            .prepare_cached(
                "UPDATE targets SET runs = ?2, last_seen = ?3, last_run = ?4,
                        first_seen = COALESCE(first_seen, ?5) WHERE id = ?1",
            )
            .map_err(db_err)?;
        for (source, name, first) in self.dirty.values() {
            if let Some(state) = self.fold.target(source, name) {
                update
                    .execute(params![
                        state.id,
                        i64::try_from(state.runs).unwrap_or(i64::MAX),
                        state.last_seen,
                        state.last_run,
                        first
                    ])
                    .map_err(db_err)?;
            }
        }
        let intervals = self.sink.intervals;
        let (entries, checkpoints) = self.ledger.finish(tx)?;
        Ok((
            ImportOutcome {
                runs: self.runs,
                observations: self.observations,
                intervals,
                entries,
                checkpoints,
            },
            self.fold,
        ))
    }
}

pub(crate) fn parse_column<T: std::str::FromStr>(row: &Row<'_>, index: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.get(index)?;
    text.parse::<T>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(crate) fn timestamp_column(row: &Row<'_>, index: usize) -> rusqlite::Result<Timestamp> {
    let seconds: i64 = row.get(index)?;
    Timestamp::from_second(seconds).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Integer,
            Box::new(e),
        )
    })
}

/// Columns of an interval read with its series and target; open intervals take their
/// target's last run.
const INTERVAL_SELECT: &str =
    "SELECT t.name, s.check_id, s.resource, i.status, i.severity, i.message, i.first_seen,
        COALESCE(i.last_seen, t.last_seen), COALESCE(i.observations, t.runs - i.first_run_no + 1)
     FROM intervals i JOIN series s ON s.id = i.series_id JOIN targets t ON t.id = s.target_id";

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

pub(crate) fn current_results(conn: &Connection) -> Result<Vec<ResultInterval>, StoreError> {
    open_intervals(conn, "")
}

pub(crate) fn failing_results(conn: &Connection) -> Result<Vec<ResultInterval>, StoreError> {
    // The condition repeats the partial index `intervals_failing`, so only failing rows are read.
    open_intervals(conn, "AND i.status = 'fail'")
}

/// The open intervals meeting `condition` (empty, or `AND ...`), by target, check, resource.
fn open_intervals(conn: &Connection, condition: &str) -> Result<Vec<ResultInterval>, StoreError> {
    let sql = format!(
        "{INTERVAL_SELECT} WHERE i.last_seen IS NULL {condition}
         ORDER BY t.name, s.check_id, s.resource"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let rows = stmt.query_map([], interval_row).map_err(db_err)?;
    rows.collect::<Result<_, _>>().map_err(db_err)
}

pub(crate) fn history(
    conn: &Connection,
    target: &str,
    check: &str,
    resource: &str,
) -> Result<Vec<ResultInterval>, StoreError> {
    let sql = format!(
        "{INTERVAL_SELECT} WHERE t.name = ?1 AND s.check_id = ?2 AND s.resource = ?3 ORDER BY i.first_seen, i.id"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let rows = stmt
        .query_map(params![target, check, resource], interval_row)
        .map_err(db_err)?;
    rows.collect::<Result<_, _>>().map_err(db_err)
}

pub(crate) fn targets(conn: &Connection) -> Result<Vec<TargetRecord>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, source, name, runs, first_seen, last_seen FROM targets ORDER BY id",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map([], |r| {
            let time = |i: usize| -> rusqlite::Result<Option<Timestamp>> {
                Ok(r.get::<_, Option<i64>>(i)?
                    .and_then(|s| Timestamp::from_second(s).ok()))
            };
            Ok(TargetRecord {
                id: r.get(0)?,
                source: r.get(1)?,
                name: r.get(2)?,
                runs: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                first_seen: time(4)?,
                last_seen: time(5)?,
            })
        })
        .map_err(db_err)?;
    rows.collect::<Result<_, _>>().map_err(db_err)
}

pub(crate) fn series(conn: &Connection) -> Result<Vec<SeriesRecord>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT id, target_id, check_id, resource FROM series ORDER BY id")
        .map_err(db_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(SeriesRecord {
                id: r.get(0)?,
                target: r.get(1)?,
                check: r.get(2)?,
                resource: r.get(3)?,
            })
        })
        .map_err(db_err)?;
    rows.collect::<Result<_, _>>().map_err(db_err)
}

pub(crate) fn visit_intervals(
    conn: &Connection,
    from: Timestamp,
    to: Timestamp,
    visit: &mut dyn FnMut(IntervalRecord),
) -> Result<(), StoreError> {
    // A sequential scan, then a sort in memory: far faster than walking the series index and
    // fetching each row, for the hundreds of thousands of intervals of a year.
    let latest: HashMap<i64, (i64, i64)> = conn
        .prepare_cached("SELECT id, COALESCE(last_seen, 0), runs FROM targets")
        .map_err(db_err)?
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let target_of: HashMap<i64, i64> = conn
        .prepare_cached("SELECT id, target_id FROM series")
        .map_err(db_err)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT series_id, status, severity, message, first_seen, last_seen, observations, first_run_no
             FROM intervals WHERE first_seen <= ?1",
        )
        .map_err(db_err)?;
    let mut rows = stmt.query(params![to.as_second()]).map_err(db_err)?;
    let (from, mut found) = (from.as_second(), Vec::new());
    while let Some(row) = rows.next().map_err(db_err)? {
        let series: i64 = row.get(0).map_err(db_err)?;
        let last_seen: Option<i64> = row.get(5).map_err(db_err)?;
        let (target_last_seen, runs) = target_of
            .get(&series)
            .and_then(|t| latest.get(t))
            .copied()
            .unwrap_or_default();
        let open = last_seen.is_none();
        let last = last_seen.unwrap_or(target_last_seen);
        if last < from {
            continue;
        }
        let observations: i64 = match row.get::<_, Option<i64>>(6).map_err(db_err)? {
            Some(n) => n,
            None => runs
                .saturating_sub(row.get::<_, i64>(7).map_err(db_err)?)
                .saturating_add(1),
        };
        found.push(IntervalRecord {
            series,
            status: parse_column::<Status>(row, 1).map_err(db_err)?,
            severity: parse_column::<Severity>(row, 2).map_err(db_err)?,
            message: row.get(3).map_err(db_err)?,
            first_seen: timestamp_column(row, 4).map_err(db_err)?,
            last_seen: Timestamp::from_second(last)
                .map_err(|e| StoreError::Database(format!("interval of series {series}: {e}")))?,
            observations: u64::try_from(observations).unwrap_or(0),
            open,
        });
    }
    // Stable: intervals of a series that start in the same second keep their order of creation.
    found.sort_by_key(|i| (i.series, i.first_seen));
    for interval in found {
        visit(interval);
    }
    Ok(())
}

pub(crate) fn run_counts(
    conn: &Connection,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(i64, u64)>, StoreError> {
    let (from, to) = (from.as_second(), to.as_second());
    let targets: Vec<(i64, i64, Option<i64>, Option<i64>)> = conn
        .prepare_cached("SELECT id, runs, first_seen, last_seen FROM targets ORDER BY id")
        .map_err(db_err)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let mut count = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM runs WHERE target_id = ?1 AND observed_at BETWEEN ?2 AND ?3",
        )
        .map_err(db_err)?;
    let mut counts = Vec::with_capacity(targets.len());
    for (id, runs, first, last) in targets {
        let (Some(first), Some(last)) = (first, last) else {
            continue;
        };
        let n: i64 = if first >= from && last <= to {
            // Every run of the target is in the window: its counter says how many.
            runs
        } else if last < from || first > to {
            0
        } else {
            count
                .query_row(params![id, from, to], |r| r.get(0))
                .map_err(db_err)?
        };
        if n > 0 {
            counts.push((id, u64::try_from(n).unwrap_or(0)));
        }
    }
    Ok(counts)
}

pub(crate) fn nth_run(
    conn: &Connection,
    target: i64,
    from: Timestamp,
    to: Timestamp,
    index: u64,
) -> Result<Option<RunInfo>, StoreError> {
    conn.prepare_cached(
        "SELECT id, target_id, observed_at FROM runs WHERE target_id = ?1 AND observed_at BETWEEN ?2 AND ?3
         ORDER BY observed_at, id LIMIT 1 OFFSET ?4",
    )
    .map_err(db_err)?
    .query_row(
        params![
            target,
            from.as_second(),
            to.as_second(),
            i64::try_from(index).unwrap_or(i64::MAX)
        ],
        |r| {
            Ok(RunInfo {
                id: r.get(0)?,
                target: r.get(1)?,
                observed_at: timestamp_column(r, 2)?,
            })
        },
    )
    .optional()
    .map_err(db_err)
}
