//! Folding runs into state intervals: the one set of rules every writer and the ledger
//! replay follow.
//!
//! A *series* is one check on one resource of one target. Per target the fold keeps a run
//! counter and the time of the latest run; a series that every run observes with the same
//! status costs nothing per run (its interval's `last_seen` and `observations` are the
//! target's). An interval ends when:
//! - the status changes (a new interval opens: *changed*);
//! - a run no longer observes the series (*gone*);
//! - the target was silent for longer than the run's `max_gap` (every series of the target
//!   starts a new interval with the same status: *resumed*), so the silence is a gap.
//!
//! Writers ([`FoldSink`]) turn the fold's decisions into rows; the ledger replay turns them
//! into intervals in memory, so a store's history can be checked against its ledger.

// The fold hashes every reported (check, resource) pair of every run: a fast hasher, seeded
// per process, instead of SipHash.
use foldhash::{HashMap, HashMapExt as _, HashSet};

use attest_model::{CheckResult, RunRecord, Severity, Status};
use jiff::Timestamp;

use crate::StoreError;

/// A target's place in the fold.
#[derive(Debug, Clone, Default)]
pub struct TargetState {
    /// Backend id of the target.
    pub id: i64,
    /// Runs folded so far.
    pub runs: u64,
    /// Time of the latest run (Unix seconds).
    pub last_seen: Option<i64>,
    /// Id of the latest run.
    pub last_run: i64,
    /// Series of the target by check, then resource.
    pub series: HashMap<String, HashMap<String, SeriesState>>,
    /// How many of its series the latest run observed.
    pub open: u64,
}

impl TargetState {
    /// Adds a series loaded from a store.
    pub fn insert_series(&mut self, check: &str, resource: &str, state: SeriesState) {
        if state.open.is_some() {
            self.open = self.open.saturating_add(1);
        }
        self.series
            .entry(check.to_owned())
            .or_default()
            .insert(resource.to_owned(), state);
    }

    fn get(&self, check: &str, resource: &str) -> Option<&SeriesState> {
        self.series.get(check).and_then(|r| r.get(resource))
    }

    fn get_mut(&mut self, check: &str, resource: &str) -> Option<&mut SeriesState> {
        self.series.get_mut(check).and_then(|r| r.get_mut(resource))
    }
}

/// A series' place in the fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesState {
    /// Backend id of the series.
    pub id: i64,
    /// The interval the latest run extended; `None` when the latest run did not observe it.
    pub open: Option<OpenInterval>,
}

/// An interval still being extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenInterval {
    /// Backend id of the interval.
    pub id: i64,
    /// Its status.
    pub status: Status,
    /// The target's run count at its first observation.
    pub first_run_no: u64,
}

/// Where the fold's decisions go.
pub trait FoldSink {
    /// A new target; returns its id.
    fn new_target(&mut self, source: &str, name: &str) -> Result<i64, StoreError>;
    /// A new series of `target`; returns its id.
    fn new_series(&mut self, target: i64, check: &str, resource: &str) -> Result<i64, StoreError>;
    /// Ends interval `interval` at the target's previous run.
    fn close(&mut self, interval: i64, end: &IntervalEnd) -> Result<(), StoreError>;
    /// Opens an interval; returns its id.
    fn open(&mut self, series: i64, start: &IntervalStart<'_>) -> Result<i64, StoreError>;
    /// Opens an interval of `series` after a gap with the status, severity and message of
    /// `previous` (the interval that just ended); returns its id.
    fn resume(
        &mut self,
        series: i64,
        previous: i64,
        first_seen: i64,
        first_run_no: u64,
        run: i64,
    ) -> Result<i64, StoreError>;
}

/// The last observation of an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalEnd {
    /// Unix seconds.
    pub last_seen: i64,
    /// Observations folded into it.
    pub observations: u64,
    /// Id of the last run that observed it.
    pub last_run: i64,
}

/// The first observation of an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalStart<'a> {
    /// Status throughout.
    pub status: Status,
    /// Severity of the check.
    pub severity: Severity,
    /// Message of the first observation.
    pub message: &'a str,
    /// Unix seconds.
    pub first_seen: i64,
    /// The target's run count at this observation.
    pub first_run_no: u64,
    /// Id of the run.
    pub run: i64,
}

/// The run being folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAt<'a> {
    /// Source of the facts.
    pub source: &'a str,
    /// Target observed.
    pub target: &'a str,
    /// Unix seconds of the observation.
    pub observed_at: i64,
    /// Longest silence, in seconds, that still counts as continuous monitoring.
    pub max_gap: i64,
}

impl<'a> RunAt<'a> {
    /// The fold's view of `run`.
    pub fn of(run: &'a RunRecord) -> Self {
        RunAt {
            source: &run.source,
            target: &run.target,
            observed_at: run.observed_at.as_second(),
            max_gap: run.max_gap.as_secs(),
        }
    }
}

/// What a run's results are.
#[derive(Debug, Clone, Copy)]
pub enum Observed<'a> {
    /// Everything the run observed; series of the target not in it are gone.
    Full(&'a [CheckResult]),
    /// Only what changed: results whose status may differ and series no longer observed;
    /// every other series observed by the previous run was observed again, unchanged.
    Delta {
        /// Results whose status may have changed (an unchanged status is ignored).
        changes: &'a [CheckResult],
        /// (check, resource) of series no longer observed.
        gone: &'a [(String, String)],
        /// How many results the run observed in all: must equal the series it leaves open.
        observed: u64,
    },
}

/// What folding one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFold {
    /// Indexes (into the results or changes given) of results that opened an interval because
    /// the series is new, came back, or changed status, in the order given.
    pub changed: Vec<usize>,
    /// Series the run no longer observed, sorted.
    pub gone: Vec<(String, String)>,
    /// Series extended.
    pub extended: usize,
    /// Series that restarted after a gap with the same status.
    pub resumed: usize,
    /// Results the run observed.
    pub observed: u64,
}

/// The fold over every target seen so far.
#[derive(Debug, Default)]
pub struct Fold {
    targets: HashMap<String, HashMap<String, TargetState>>,
}

/// How a series that was open before the run comes out of it.
enum Outcome {
    Changed(usize),
    Resumed,
    Gone,
}

impl Fold {
    /// An empty fold.
    pub fn new() -> Self {
        Fold::default()
    }

    /// The state of `source`/`name`, if the fold knows it.
    pub fn target(&self, source: &str, name: &str) -> Option<&TargetState> {
        self.targets.get(source).and_then(|t| t.get(name))
    }

    /// Seeds the state of a target (loaded from a store).
    pub fn insert_target(&mut self, source: &str, name: &str, state: TargetState) {
        self.targets
            .entry(source.to_owned())
            .or_default()
            .insert(name.to_owned(), state);
    }

    /// Forgets the state of `source`/`name` (a writer whose cached state went stale), and
    /// returns it.
    pub fn remove_target(&mut self, source: &str, name: &str) -> Option<TargetState> {
        let names = self.targets.get_mut(source)?;
        let state = names.remove(name);
        if names.is_empty() {
            self.targets.remove(source);
        }
        state
    }

    /// Every target's state: source, name, state.
    pub fn targets(&self) -> impl Iterator<Item = (&str, &str, &TargetState)> {
        self.targets.iter().flat_map(|(source, names)| {
            names
                .iter()
                .map(move |(name, state)| (source.as_str(), name.as_str(), state))
        })
    }

    /// Folds run `run_id`, telling `sink` what to write.
    pub fn run(
        &mut self,
        sink: &mut dyn FoldSink,
        run: RunAt<'_>,
        run_id: i64,
        observed: Observed<'_>,
    ) -> Result<RunFold, StoreError> {
        let at = run.observed_at;
        if self.target(run.source, run.target).is_none() {
            let id = sink.new_target(run.source, run.target)?;
            self.insert_target(
                run.source,
                run.target,
                TargetState {
                    id,
                    ..TargetState::default()
                },
            );
        }
        let Some(target) = self
            .targets
            .get_mut(run.source)
            .and_then(|t| t.get_mut(run.target))
        else {
            return Err(StoreError::Database(
                "a target vanished from the fold".into(),
            ));
        };
        if let Some(previous) = target.last_seen
            && at < previous
        {
            return Err(StoreError::OutOfOrder {
                target: run.target.to_owned(),
                observed_at: Timestamp::from_second(at).unwrap_or_default(),
                latest: previous,
            });
        }
        let gap = target
            .last_seen
            .is_some_and(|previous| at.saturating_sub(previous) > run.max_gap);
        let closing = IntervalEnd {
            last_seen: target.last_seen.unwrap_or(at),
            observations: 0,
            last_run: target.last_run,
        };
        let runs_before = target.runs;
        let end_of = |open: &OpenInterval| IntervalEnd {
            observations: runs_before
                .saturating_sub(open.first_run_no)
                .saturating_add(1),
            ..closing
        };
        let (results, declared) = match observed {
            Observed::Full(results) => (results, None),
            Observed::Delta {
                changes, observed, ..
            } => (changes, Some(observed)),
        };
        let mut reported: HashMap<(&str, &str), usize> = HashMap::with_capacity(results.len());
        for (i, result) in results.iter().enumerate() {
            if reported
                .insert((result.check.as_str(), result.resource.as_str()), i)
                .is_some()
            {
                return Err(StoreError::InvalidRun(format!(
                    "check `{}` reported resource `{}` twice in one run of `{}`",
                    result.check, result.resource, run.target
                )));
            }
        }
        // Decide how each series open before the run comes out of it; series merely extended
        // (the common case) need nothing written and are left out.
        let mut outcomes: Vec<(String, String, Outcome)> = Vec::new();
        match observed {
            Observed::Full(results) => {
                for (check, resources) in &target.series {
                    for (resource, state) in resources {
                        let Some(open) = state.open else { continue };
                        let outcome = match reported.get(&(check.as_str(), resource.as_str())) {
                            None => Outcome::Gone,
                            Some(&i) if results.get(i).is_some_and(|r| r.status != open.status) => {
                                Outcome::Changed(i)
                            }
                            Some(_) if gap => Outcome::Resumed,
                            Some(_) => continue,
                        };
                        outcomes.push((check.clone(), resource.clone(), outcome));
                    }
                }
            }
            Observed::Delta { changes, gone, .. } => {
                for (check, resource) in gone {
                    if target.get(check, resource).is_none_or(|s| s.open.is_none()) {
                        return Err(StoreError::InvalidRun(format!(
                            "`{check}` on `{resource}` of `{}` is said to be gone but the previous run did not observe it",
                            run.target
                        )));
                    }
                    outcomes.push((check.clone(), resource.clone(), Outcome::Gone));
                }
                let mut touched: HashSet<(&str, &str)> =
                    gone.iter().map(|(c, r)| (c.as_str(), r.as_str())).collect();
                for (i, change) in changes.iter().enumerate() {
                    let Some(open) = target
                        .get(&change.check, &change.resource)
                        .and_then(|s| s.open)
                    else {
                        continue;
                    };
                    if touched.contains(&(change.check.as_str(), change.resource.as_str())) {
                        return Err(StoreError::InvalidRun(format!(
                            "`{}` on `{}` of `{}` is said to be both gone and observed",
                            change.check, change.resource, run.target
                        )));
                    }
                    touched.insert((change.check.as_str(), change.resource.as_str()));
                    if change.status != open.status {
                        outcomes.push((
                            change.check.clone(),
                            change.resource.clone(),
                            Outcome::Changed(i),
                        ));
                    } else if gap {
                        outcomes.push((
                            change.check.clone(),
                            change.resource.clone(),
                            Outcome::Resumed,
                        ));
                    }
                }
                if gap {
                    for (check, resources) in &target.series {
                        for (resource, state) in resources {
                            if state.open.is_some()
                                && !touched.contains(&(check.as_str(), resource.as_str()))
                            {
                                outcomes.push((check.clone(), resource.clone(), Outcome::Resumed));
                            }
                        }
                    }
                }
            }
        }
        // Deterministic order whatever the map order: by series key.
        outcomes.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let open_before = target.open;
        let handled: HashSet<i64> = outcomes
            .iter()
            .filter_map(|(check, resource, _)| target.get(check, resource).map(|s| s.id))
            .collect();
        let mut fold = RunFold::default();
        let mut to_open: Vec<(i64, usize)> = Vec::new();
        let mut resume: Vec<(i64, OpenInterval)> = Vec::new();
        let mut affected: u64 = 0;
        for (check, resource, outcome) in outcomes {
            let Some(state) = target
                .series
                .get_mut(&check)
                .and_then(|r| r.get_mut(&resource))
            else {
                continue;
            };
            let Some(open) = state.open else { continue };
            match outcome {
                Outcome::Gone => {
                    sink.close(open.id, &end_of(&open))?;
                    state.open = None;
                    target.open = target.open.saturating_sub(1);
                    fold.gone.push((check, resource));
                }
                Outcome::Changed(i) => {
                    sink.close(open.id, &end_of(&open))?;
                    state.open = None;
                    target.open = target.open.saturating_sub(1);
                    to_open.push((state.id, i));
                }
                Outcome::Resumed => {
                    sink.close(open.id, &end_of(&open))?;
                    state.open = None;
                    target.open = target.open.saturating_sub(1);
                    resume.push((state.id, open));
                }
            }
            affected = affected.saturating_add(1);
        }
        fold.extended = usize::try_from(open_before.saturating_sub(affected)).unwrap_or(usize::MAX);
        // Results for series that were not open: new, or back after a run without them.
        for (i, result) in results.iter().enumerate() {
            let known = target.get(&result.check, &result.resource).copied();
            match known {
                Some(SeriesState { open: Some(_), .. }) => {}
                Some(state) if handled.contains(&state.id) => {}
                Some(state) => to_open.push((state.id, i)),
                None => {
                    let id = sink.new_series(target.id, &result.check, &result.resource)?;
                    target
                        .series
                        .entry(result.check.clone())
                        .or_default()
                        .insert(result.resource.clone(), SeriesState { id, open: None });
                    to_open.push((id, i));
                }
            }
        }
        to_open.sort_by_key(|(_, i)| *i);
        target.runs = runs_before.saturating_add(1);
        target.last_seen = Some(at);
        target.last_run = run_id;
        let first_run_no = target.runs;
        for (series_id, i) in to_open {
            let Some(result) = results.get(i) else {
                continue;
            };
            let interval = sink.open(
                series_id,
                &IntervalStart {
                    status: result.status,
                    severity: result.severity,
                    message: &result.message,
                    first_seen: at,
                    first_run_no,
                    run: run_id,
                },
            )?;
            if let Some(state) = target.get_mut(&result.check, &result.resource) {
                state.open = Some(OpenInterval {
                    id: interval,
                    status: result.status,
                    first_run_no,
                });
                target.open = target.open.saturating_add(1);
            }
            fold.changed.push(i);
        }
        for (series_id, previous) in resume {
            let interval = sink.resume(series_id, previous.id, at, first_run_no, run_id)?;
            if let Some(state) = target
                .series
                .values_mut()
                .flat_map(HashMap::values_mut)
                .find(|s| s.id == series_id)
            {
                state.open = Some(OpenInterval {
                    id: interval,
                    status: previous.status,
                    first_run_no,
                });
                target.open = target.open.saturating_add(1);
            }
            fold.resumed = fold.resumed.saturating_add(1);
        }
        fold.gone.sort();
        fold.observed = target.open;
        if let Some(declared) = declared
            && declared != target.open
        {
            return Err(StoreError::InvalidRun(format!(
                "the run of `{}` at Unix time {at} says it observed {declared} results, but {} series are observed after applying its changes",
                run.target, target.open
            )));
        }
        Ok(fold)
    }
}
