//! Verifying a store: its ledger, its evidence files, and its history against the ledger.
//!
//! 1. The ledger is walked in order; each entry's hash is recomputed from its fields and its
//!    payload and compared with the hash recorded when it was appended (naming the first
//!    changed entry) and with every signed checkpoint.
//! 2. Every evidence record must match its `evidence.added` payload exactly, and every
//!    evidence file must hash to its address.
//! 3. The ledger's `scan.run`, `result.changed` and `result.gone` entries are replayed through
//!    the [`fold`](crate::fold) rules, and the intervals they determine must be exactly the
//!    intervals the store holds: a status edited, an interval stretched over a gap, or a row
//!    deleted in the database is found.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use attest_ledger::{Broken, PublicKey, Verified, Verifier, payload_hash};
use attest_model::{CheckResult, Severity, Status};
use jiff::Timestamp;
use serde::Deserialize;

use crate::fold::{Fold, FoldSink, IntervalEnd, IntervalStart, Observed, RunAt};
use crate::payload::{self, EVIDENCE_ADDED, RESULT_CHANGED, RESULT_GONE, SCAN_RUN};
use crate::{RunFields, Store, StoreError};

/// How many history differences a report lists before it only counts them.
const LISTED_DIFFERENCES: usize = 20;

/// What verifying a store found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreReport {
    /// The ledger's chain and checkpoints.
    pub ledger: Result<Verified, Broken>,
    /// Evidence records checked against the ledger and files checked against their hash.
    pub evidence_checked: u64,
    /// Problems with evidence records or files.
    pub evidence_problems: Vec<String>,
    /// Findings checked against their latest ledger entry.
    pub findings_checked: u64,
    /// Findings that differ from what the ledger recorded.
    pub finding_problems: Vec<String>,
    /// The history compared with the ledger's replay.
    pub history: HistoryCheck,
}

impl StoreReport {
    /// Whether nothing was found wrong.
    pub fn is_intact(&self) -> bool {
        self.ledger.is_ok()
            && self.evidence_problems.is_empty()
            && self.finding_problems.is_empty()
            && !matches!(self.history, HistoryCheck::Differs { .. })
    }
}

/// The outcome of replaying the ledger against the stored history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryCheck {
    /// Every stored interval is what the ledger determines, and nothing is missing.
    Matches {
        /// Runs replayed.
        runs: u64,
        /// Intervals compared.
        intervals: u64,
    },
    /// The stored history differs from the ledger.
    Differs {
        /// The first differences, in plain words.
        differences: Vec<String>,
        /// How many differences in all.
        count: u64,
    },
    /// The ledger could not be replayed (it is broken, or holds runs recorded by an older
    /// Attest whose entries do not determine the history).
    NotReplayed(String),
}

/// Entries handed to the replay thread at a time.
const BATCH: usize = 4096;

/// What the replay needs of one entry.
enum ReplayItem {
    /// A `scan.run` rendered from its run row.
    Run(RunFields),
    /// A run or result entry whose payload must be read.
    Entry {
        seq: u64,
        kind: &'static str,
        payload: String,
    },
    /// Any other entry (it ends the run before it).
    Other,
}

/// Verifies `store` with the organisation's public `key`.
///
/// The ledger is read and hashed on this thread while another replays it, so a large ledger
/// verifies at the speed of the slower of the two.
pub fn verify_store(store: &dyn Store, key: &PublicKey) -> Result<StoreReport, StoreError> {
    let mut verifier = Verifier::whole(key, store.checkpoints()?);
    let mut broken: Option<Broken> = None;
    let mut evidence_payloads: HashMap<i64, (u64, String)> = HashMap::new();
    let mut finding_states: FindingStates = HashMap::new();
    let targets: HashMap<i64, (String, String)> = store
        .targets()?
        .into_iter()
        .map(|t| (t.id, (t.source, t.name)))
        .collect();
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<ReplayItem>>(8);
    let (visited, replay) = std::thread::scope(|scope| {
        let targets = &targets;
        let replaying = scope.spawn(move || {
            let mut replay = Replay::default();
            for batch in receiver {
                for item in batch {
                    replay.item(item, targets);
                }
            }
            replay
        });
        let mut batch = Vec::with_capacity(BATCH);
        let visited = store.visit_ledger(1, &mut |stored| {
            let payload_sha256 = payload_hash(stored.payload.as_bytes());
            let hash =
                match verifier.push_fields(stored.seq, stored.time, stored.kind, &payload_sha256) {
                    Ok(hash) => hash,
                    Err(err) => {
                        broken = Some(err);
                        return ControlFlow::Break(());
                    }
                };
            if hash.get(..8) != Some(&stored.hash_prefix[..]) {
                broken = Some(Broken::Altered { seq: stored.seq });
                return ControlFlow::Break(());
            }
            let item = match (stored.kind, stored.run) {
                (SCAN_RUN, Some(fields)) => ReplayItem::Run(fields),
                (SCAN_RUN, None) => entry_item(stored.seq, SCAN_RUN, stored.payload),
                (RESULT_CHANGED, _) => entry_item(stored.seq, RESULT_CHANGED, stored.payload),
                (RESULT_GONE, _) => entry_item(stored.seq, RESULT_GONE, stored.payload),
                (kind, _) => {
                    if kind.starts_with(payload::FINDING_PREFIX) {
                        let state = serde_json::from_str::<payload::FindingPayload>(stored.payload)
                            .map(|p| (p.finding, p.state))
                            .map_err(|e| e.to_string());
                        match state {
                            Ok((id, state)) => {
                                finding_states.insert(id, (stored.seq, Ok(state)));
                            }
                            Err(e) => {
                                finding_states.insert(0, (stored.seq, Err(e)));
                            }
                        }
                    }
                    if kind == EVIDENCE_ADDED
                        && let Ok(fields) = serde_json::from_str::<EvidenceId>(stored.payload)
                    {
                        evidence_payloads
                            .insert(fields.id, (stored.seq, stored.payload.to_owned()));
                    }
                    ReplayItem::Other
                }
            };
            batch.push(item);
            if batch.len() >= BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if sender.send(full).is_err() {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        if !batch.is_empty() {
            let _ = sender.send(batch);
        }
        drop(sender);
        let replay = replaying.join();
        (visited, replay)
    });
    visited?;
    let mut replay = replay
        .map_err(|_| StoreError::Database("the ledger replay stopped unexpectedly".into()))?;
    let ledger = match broken {
        Some(err) => Err(err),
        None => verifier.finish(),
    };
    let (evidence_checked, evidence_problems) =
        check_evidence(store, ledger.is_ok().then_some(&mut evidence_payloads))?;
    let (findings_checked, finding_problems) =
        check_findings(store, ledger.is_ok().then_some(finding_states))?;
    let history = if let Err(err) = &ledger {
        HistoryCheck::NotReplayed(format!("the ledger is broken ({err})"))
    } else {
        replay.finish(&targets);
        match replay.failed.take() {
            Some(reason) => HistoryCheck::NotReplayed(reason),
            None => compare_history(store, &replay)?,
        }
    };
    Ok(StoreReport {
        ledger,
        evidence_checked,
        evidence_problems,
        findings_checked,
        finding_problems,
        history,
    })
}

/// Per finding id, its latest ledger entry and the state it recorded (or why it is unreadable).
type FindingStates = HashMap<i64, (u64, Result<attest_model::Finding, String>)>;

/// Checks every finding against the state its latest ledger entry recorded, when the ledger
/// was read whole.
fn check_findings(
    store: &dyn Store,
    states: Option<FindingStates>,
) -> Result<(u64, Vec<String>), StoreError> {
    let findings = store.findings()?;
    let Some(mut states) = states else {
        return Ok((findings.len() as u64, Vec::new()));
    };
    let mut problems = Vec::new();
    if let Some((seq, Err(e))) = states.remove(&0) {
        problems.push(format!(
            "ledger entry {seq}: an unreadable finding payload ({e})"
        ));
    }
    for finding in &findings {
        match states.remove(&finding.id) {
            None => problems.push(format!(
                "finding {}: no `finding.*` entry in the ledger records it (the row was inserted)",
                finding.id
            )),
            Some((seq, Ok(state))) if state != *finding => problems.push(format!(
                "finding {}: it differs from the state ledger entry {seq} recorded (the row was edited)",
                finding.id
            )),
            Some(_) => {}
        }
    }
    let mut orphans: Vec<(u64, i64)> = states.iter().map(|(id, (seq, _))| (*seq, *id)).collect();
    orphans.sort_unstable();
    for (seq, id) in orphans {
        problems.push(format!(
            "finding {id}: ledger entry {seq} records it, but the store has no such finding (the row was deleted)"
        ));
    }
    Ok((findings.len() as u64, problems))
}

fn entry_item(seq: u64, kind: &'static str, payload: &str) -> ReplayItem {
    ReplayItem::Entry {
        seq,
        kind,
        payload: payload.to_owned(),
    }
}

#[derive(Deserialize)]
struct EvidenceId {
    id: i64,
}

/// Checks every evidence file, and every record against its ledger entry when the ledger
/// was read whole (`payloads`).
fn check_evidence(
    store: &dyn Store,
    mut payloads: Option<&mut HashMap<i64, (u64, String)>>,
) -> Result<(u64, Vec<String>), StoreError> {
    let mut problems = Vec::new();
    let records = store.list_evidence(None)?;
    for record in &records {
        let label = format!(
            "evidence #{} ({}, {})",
            record.id, record.control, record.file_name
        );
        if let Err(err) = store.read_object(&record.sha256) {
            problems.push(format!("{label}: {err}"));
        }
        let Some(payloads) = payloads.as_deref_mut() else {
            continue;
        };
        match payloads.remove(&record.id) {
            None => problems.push(format!(
                "{label}: no `evidence.added` entry in the ledger records it (the record was inserted)"
            )),
            Some((seq, payload)) if payload != payload::evidence_added(record) => {
                problems.push(format!(
                    "{label}: the record differs from what ledger entry {seq} recorded (the record was edited)"
                ));
            }
            Some(_) => {}
        }
    }
    let mut orphans: Vec<(u64, i64)> = payloads
        .map(|p| p.iter().map(|(id, (seq, _))| (*seq, *id)).collect())
        .unwrap_or_default();
    orphans.sort_unstable();
    for (seq, id) in orphans {
        problems.push(format!(
            "evidence #{id}: ledger entry {seq} records it, but the store has no such record (the record was deleted)"
        ));
    }
    Ok((records.len() as u64, problems))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanRunRef<'a> {
    run: i64,
    #[serde(borrow)]
    source: Cow<'a, str>,
    #[serde(borrow)]
    target: Cow<'a, str>,
    observed_at: i64,
    max_gap: i64,
    results: u64,
    changed: u64,
    gone: u64,
    #[allow(
        dead_code,
        reason = "part of the payload; implied by results and changed"
    )]
    unchanged: u64,
}

/// Which target a run is of.
enum Who {
    /// By id (a rendered `scan.run`).
    Id(i64),
    /// By name (a `scan.run` read from its payload).
    Named(String, String),
}

/// A run whose result entries are still being read.
struct PendingRun {
    seq: u64,
    who: Who,
    observed_at: i64,
    max_gap: i64,
    results: u64,
    changed_declared: u64,
    gone_declared: u64,
    changes: Vec<CheckResult>,
    gone: Vec<(String, String)>,
}

/// An interval rebuilt from the ledger.
#[derive(Debug, Clone)]
struct ReplayedInterval {
    series: usize,
    status: Status,
    severity: Severity,
    message: String,
    first_seen: i64,
    first_run_no: u64,
    end: Option<IntervalEnd>,
}

/// The fold's sink for the replay: everything in memory, ids are indexes.
#[derive(Default)]
struct ReplaySink {
    targets: Vec<(String, String)>,
    series: Vec<(usize, String, String)>,
    intervals: Vec<ReplayedInterval>,
}

fn index(id: i64) -> Result<usize, StoreError> {
    usize::try_from(id).map_err(|_| StoreError::Database(format!("bad replay id {id}")))
}

fn id_of(index: usize) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

impl FoldSink for ReplaySink {
    fn new_target(&mut self, source: &str, name: &str) -> Result<i64, StoreError> {
        self.targets.push((source.to_owned(), name.to_owned()));
        Ok(id_of(self.targets.len().saturating_sub(1)))
    }

    fn new_series(&mut self, target: i64, check: &str, resource: &str) -> Result<i64, StoreError> {
        self.series
            .push((index(target)?, check.to_owned(), resource.to_owned()));
        Ok(id_of(self.series.len().saturating_sub(1)))
    }

    fn close(&mut self, interval: i64, end: &IntervalEnd) -> Result<(), StoreError> {
        if let Some(found) = self.intervals.get_mut(index(interval)?) {
            found.end = Some(*end);
        }
        Ok(())
    }

    fn open(&mut self, series: i64, start: &IntervalStart<'_>) -> Result<i64, StoreError> {
        self.intervals.push(ReplayedInterval {
            series: index(series)?,
            status: start.status,
            severity: start.severity,
            message: start.message.to_owned(),
            first_seen: start.first_seen,
            first_run_no: start.first_run_no,
            end: None,
        });
        Ok(id_of(self.intervals.len().saturating_sub(1)))
    }

    fn resume(
        &mut self,
        series: i64,
        previous: i64,
        first_seen: i64,
        first_run_no: u64,
        _run: i64,
    ) -> Result<i64, StoreError> {
        let Some(before) = self.intervals.get(index(previous)?).cloned() else {
            return Err(StoreError::Database(format!(
                "replay: no interval {previous}"
            )));
        };
        self.intervals.push(ReplayedInterval {
            series: index(series)?,
            first_seen,
            first_run_no,
            end: None,
            ..before
        });
        Ok(id_of(self.intervals.len().saturating_sub(1)))
    }
}

/// Replays the ledger's run entries through the fold.
#[derive(Default)]
struct Replay {
    fold: Fold,
    sink: ReplaySink,
    pending: Option<PendingRun>,
    runs: u64,
    failed: Option<String>,
}

impl Replay {
    fn item(&mut self, item: ReplayItem, targets: &HashMap<i64, (String, String)>) {
        if self.failed.is_some() {
            return;
        }
        let done = match item {
            ReplayItem::Run(fields) => self.run_fields(fields, targets),
            ReplayItem::Entry { seq, kind, payload } => self.step(seq, kind, &payload, targets),
            ReplayItem::Other => self.flush(targets),
        };
        if let Err(reason) = done {
            self.failed = Some(reason);
        }
    }

    fn run_fields(
        &mut self,
        fields: RunFields,
        targets: &HashMap<i64, (String, String)>,
    ) -> Result<(), String> {
        self.flush(targets)?;
        let seq = u64::try_from(fields.run).unwrap_or(0);
        self.pending = Some(PendingRun {
            seq,
            who: Who::Id(fields.target),
            observed_at: fields.observed_at,
            max_gap: fields.max_gap,
            results: fields.results,
            changed_declared: fields.changed,
            gone_declared: fields.gone,
            changes: Vec::new(),
            gone: Vec::new(),
        });
        Ok(())
    }

    fn step(
        &mut self,
        seq: u64,
        kind: &str,
        payload: &str,
        targets: &HashMap<i64, (String, String)>,
    ) -> Result<(), String> {
        match kind {
            SCAN_RUN => {
                self.flush(targets)?;
                let run: ScanRunRef<'_> =
                    serde_json::from_str(payload).map_err(|e| older(seq, kind, &e))?;
                if u64::try_from(run.run).ok() != Some(seq) {
                    return Err(format!(
                        "entry {seq}: the run it records is numbered {}",
                        run.run
                    ));
                }
                self.pending = Some(PendingRun {
                    seq,
                    who: Who::Named(run.source.into_owned(), run.target.into_owned()),
                    observed_at: run.observed_at,
                    max_gap: run.max_gap,
                    results: run.results,
                    changed_declared: run.changed,
                    gone_declared: run.gone,
                    changes: Vec::new(),
                    gone: Vec::new(),
                });
                Ok(())
            }
            RESULT_CHANGED => {
                let change: payload::ResultChanged =
                    serde_json::from_str(payload).map_err(|e| older(seq, kind, &e))?;
                let pending = self.pending_for(seq, change.run)?;
                let status: Status = change
                    .status
                    .parse()
                    .map_err(|e| format!("entry {seq}: {e}"))?;
                let severity: Severity = change
                    .severity
                    .parse()
                    .map_err(|e| format!("entry {seq}: {e}"))?;
                pending.changes.push(CheckResult {
                    check: change.check,
                    resource: change.resource,
                    status,
                    severity,
                    message: change.message,
                });
                Ok(())
            }
            RESULT_GONE => {
                let gone: payload::ResultGone =
                    serde_json::from_str(payload).map_err(|e| older(seq, kind, &e))?;
                let pending = self.pending_for(seq, gone.run)?;
                pending.gone.push((gone.check, gone.resource));
                Ok(())
            }
            _ => self.flush(targets),
        }
    }

    fn pending_for(&mut self, seq: u64, run: i64) -> Result<&mut PendingRun, String> {
        match &mut self.pending {
            Some(pending) if i64::try_from(pending.seq).ok() == Some(run) => Ok(pending),
            _ => Err(format!(
                "entry {seq}: a result of run {run} outside the entries of that run"
            )),
        }
    }

    fn flush(&mut self, targets: &HashMap<i64, (String, String)>) -> Result<(), String> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let (source, target) = match &pending.who {
            Who::Named(source, target) => (source.as_str(), target.as_str()),
            Who::Id(id) => match targets.get(id) {
                Some((source, target)) => (source.as_str(), target.as_str()),
                None => return Err(format!("entry {}: a run of an unknown target", pending.seq)),
            },
        };
        let folded = self
            .fold
            .run(
                &mut self.sink,
                RunAt {
                    source,
                    target,
                    observed_at: pending.observed_at,
                    max_gap: pending.max_gap,
                },
                id_of(usize::try_from(pending.seq).unwrap_or(usize::MAX)),
                Observed::Delta {
                    changes: &pending.changes,
                    gone: &pending.gone,
                    observed: pending.results,
                },
            )
            .map_err(|e| format!("entry {}: {e}", pending.seq))?;
        if folded.changed.len() as u64 != pending.changed_declared
            || folded.gone.len() as u64 != pending.gone_declared
            || pending.changes.len() as u64 != pending.changed_declared
        {
            return Err(format!(
                "entry {}: the run says {} result(s) changed and {} went, but its entries show {} and {}",
                pending.seq,
                pending.changed_declared,
                pending.gone_declared,
                folded.changed.len(),
                folded.gone.len()
            ));
        }
        self.runs = self.runs.saturating_add(1);
        Ok(())
    }

    fn finish(&mut self, targets: &HashMap<i64, (String, String)>) {
        if self.failed.is_none()
            && let Err(reason) = self.flush(targets)
        {
            self.failed = Some(reason);
        }
    }
}

/// Why an authentic entry cannot be replayed: the ledger's hashes vouch for the payload, so
/// a payload this Attest cannot read was written by an older one.
fn older(seq: u64, kind: &str, err: &serde_json::Error) -> String {
    format!(
        "entry {seq}: a `{kind}` entry in a format this Attest does not replay ({err}); history recorded by an older Attest cannot be replayed"
    )
}

/// A series by its names: (source, target, check, resource).
type SeriesKey = (String, String, String, String);

fn compare_history(store: &dyn Store, replay: &Replay) -> Result<HistoryCheck, StoreError> {
    // What the ledger determines: each series' intervals in the order they opened.
    let mut expected: HashMap<SeriesKey, Vec<&ReplayedInterval>> = HashMap::new();
    let target_state: HashMap<(&str, &str), (i64, u64, i64)> = replay
        .fold
        .targets()
        .map(|(source, name, state)| {
            (
                (source, name),
                (
                    state.last_seen.unwrap_or_default(),
                    state.runs,
                    state.last_run,
                ),
            )
        })
        .collect();
    for interval in &replay.sink.intervals {
        let Some((target, check, resource)) = replay.sink.series.get(interval.series) else {
            continue;
        };
        let Some((source, name)) = replay.sink.targets.get(*target) else {
            continue;
        };
        expected
            .entry((
                source.clone(),
                name.clone(),
                check.clone(),
                resource.clone(),
            ))
            .or_default()
            .push(interval);
    }
    let targets: HashMap<i64, (String, String)> = store
        .targets()?
        .into_iter()
        .map(|t| (t.id, (t.source, t.name)))
        .collect();
    let series: HashMap<i64, (i64, String, String)> = store
        .series()?
        .into_iter()
        .map(|s| (s.id, (s.target, s.check, s.resource)))
        .collect();
    // What the store holds, the same way (intervals come by series, then time, in order).
    let mut stored: HashMap<SeriesKey, Vec<crate::IntervalRecord>> = HashMap::new();
    let mut differences = Vec::new();
    let mut count: u64 = 0;
    let mut compared: u64 = 0;
    let mut note = |text: String, differences: &mut Vec<String>| {
        count = count.saturating_add(1);
        if differences.len() < LISTED_DIFFERENCES {
            differences.push(text);
        }
    };
    store.visit_intervals(Timestamp::MIN, Timestamp::MAX, &mut |interval| {
        compared = compared.saturating_add(1);
        let key = series
            .get(&interval.series)
            .and_then(|(target, check, resource)| {
                targets.get(target).map(|(source, name)| {
                    (
                        source.clone(),
                        name.clone(),
                        check.clone(),
                        resource.clone(),
                    )
                })
            });
        match key {
            Some(key) => stored.entry(key).or_default().push(interval),
            None => note(
                format!(
                    "an interval belongs to series {} that the store does not list",
                    interval.series
                ),
                &mut differences,
            ),
        }
    })?;
    let mut keys: Vec<&SeriesKey> = expected.keys().chain(stored.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (source, name, check, resource) = key;
        // Align by first observation, and by order among intervals starting the same second.
        let want: BTreeMap<(i64, usize), &&ReplayedInterval> = by_start(
            expected.get(key).map(Vec::as_slice).unwrap_or_default(),
            |i: &&ReplayedInterval| i.first_seen,
        );
        let have: BTreeMap<(i64, usize), &crate::IntervalRecord> = by_start(
            stored.get(key).map(Vec::as_slice).unwrap_or_default(),
            |i: &crate::IntervalRecord| i.first_seen.as_second(),
        );
        let mut starts: Vec<&(i64, usize)> = want.keys().chain(have.keys()).collect();
        starts.sort();
        starts.dedup();
        for start in starts {
            let first = Timestamp::from_second(start.0).unwrap_or_default();
            match (want.get(start), have.get(start)) {
                (Some(want), Some(have)) => {
                    let state = target_state
                        .get(&(source.as_str(), name.as_str()))
                        .copied()
                        .unwrap_or_default();
                    if let Some(problems) = interval_differences(want, have, state) {
                        note(
                            format!(
                                "`{check}` on `{resource}` of `{name}` from {first}: {problems}"
                            ),
                            &mut differences,
                        );
                    }
                }
                (Some(_), None) => note(
                    format!(
                        "`{check}` on `{resource}` of `{name}` from {first}: the ledger records an interval the store does not hold"
                    ),
                    &mut differences,
                ),
                (None, Some(_)) => note(
                    format!(
                        "`{check}` on `{resource}` of `{name}` from {first}: the store holds an interval the ledger does not record"
                    ),
                    &mut differences,
                ),
                (None, None) => {}
            }
        }
    }
    Ok(if count == 0 {
        HistoryCheck::Matches {
            runs: replay.runs,
            intervals: compared,
        }
    } else {
        HistoryCheck::Differs { differences, count }
    })
}

/// Intervals keyed by (first observation, order among those starting the same second).
fn by_start<T>(items: &[T], start: impl Fn(&T) -> i64) -> BTreeMap<(i64, usize), &T> {
    let mut keyed = BTreeMap::new();
    let mut previous: Option<(i64, usize)> = None;
    for item in items {
        let at = start(item);
        let n = match previous {
            Some((p, n)) if p == at => n.saturating_add(1),
            _ => 0,
        };
        previous = Some((at, n));
        keyed.insert((at, n), item);
    }
    keyed
}

/// How a stored interval differs from the one the ledger determines, if it does.
fn interval_differences(
    want: &ReplayedInterval,
    have: &crate::IntervalRecord,
    (last_seen, runs, last_run): (i64, u64, i64),
) -> Option<String> {
    let end = want.end.unwrap_or(IntervalEnd {
        last_seen,
        observations: runs.saturating_sub(want.first_run_no).saturating_add(1),
        last_run,
    });
    let mut wrong = Vec::new();
    if have.first_seen.as_second() != want.first_seen {
        wrong.push(format!(
            "first seen at {}, the ledger says {}",
            have.first_seen,
            Timestamp::from_second(want.first_seen).unwrap_or_default()
        ));
    }
    if have.status != want.status {
        wrong.push(format!(
            "status `{}`, the ledger says `{}`",
            have.status, want.status
        ));
    }
    if have.severity != want.severity {
        wrong.push(format!(
            "severity `{}`, the ledger says `{}`",
            have.severity, want.severity
        ));
    }
    if have.message != want.message {
        wrong.push("a message other than the ledger's".to_owned());
    }
    if have.last_seen.as_second() != end.last_seen {
        wrong.push(format!(
            "last seen at {}, the ledger says {}",
            have.last_seen,
            Timestamp::from_second(end.last_seen).unwrap_or_default()
        ));
    }
    if have.observations != end.observations {
        wrong.push(format!(
            "{} observations, the ledger says {}",
            have.observations, end.observations
        ));
    }
    if have.open != want.end.is_none() {
        wrong.push(if have.open {
            "still open, the ledger says it ended".to_owned()
        } else {
            "ended, the ledger says it is still open".to_owned()
        });
    }
    (!wrong.is_empty()).then(|| wrong.join("; "))
}
