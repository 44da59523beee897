//! The Type 2 report: whether each control operated effectively over the audit period.
//!
//! Rules (specified in `docs/formats/type2.md`):
//! - an observation stands from its time until the next observation of the same series, or for
//!   at most `max_gap` after it; a series' interval therefore covers
//!   `[first_seen, min(last_seen + max_gap, next interval's first_seen))`;
//! - a control on a target, at an instant, is *operating* when the intervals of its checks
//!   covering the instant all pass or do not apply, *failing* when one fails, *unknown* when
//!   one could not be decided, and in a *gap* when none covers it: monitoring stopped;
//! - a target's window starts at its first run or the period's start, whichever is later, and
//!   ends at the period's end or now, whichever is earlier;
//! - every maximal failing or unknown span is an exception; every gap is listed;
//! - manual evidence covers its effective date through its expiry; days of the period no
//!   evidence covers are lapses, and evidence effective after its predecessor expired is late;
//! - populations and samples follow [`crate::sample`] with the sizes of the workspace's
//!   `[sampling]`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use attest_model::{
    Category, Control, ControlKind, EvidenceRecord, Frequency, Freshness, Period, Severity, Status,
};
use attest_store::{Store, StoreError};
use attest_workspace::Workspace;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan as _};
use schemars::JsonSchema;
use serde::Serialize;

use crate::design::ControlDesignFields;
use crate::sample::draw;

/// Version of the Type 2 JSON schema; bumped on any incompatible change.
pub const TYPE2_SCHEMA_VERSION: u32 = 1;

/// Everything the Type 2 computation reads.
#[derive(Clone, Copy)]
pub struct Type2Input<'a> {
    /// The validated workspace.
    pub workspace: &'a Workspace,
    /// The store with the history.
    pub store: &'a dyn Store,
    /// The audit period (UTC days, both included).
    pub period: Period,
    /// Seed of the sample draws.
    pub seed: u64,
    /// When the report is made; the part of the period after it is not assessed.
    pub generated_at: Timestamp,
}

/// The Type 2 report; its JSON is documented in `docs/formats/type2.md`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Type2Report {
    /// Schema version of this document.
    pub schema_version: u32,
    /// When the report was made (RFC 3339).
    #[schemars(with = "String")]
    pub generated_at: Timestamp,
    /// Organisation name.
    pub organisation: String,
    /// The audit period.
    pub period: Period,
    /// Start of the period (RFC 3339, UTC).
    #[schemars(with = "String")]
    pub period_start: Timestamp,
    /// End of the assessed part of the period: the end of its last day, or the report's time
    /// if earlier (RFC 3339).
    #[schemars(with = "String")]
    pub assessed_until: Timestamp,
    /// Categories in scope.
    pub categories: Vec<Category>,
    /// How gaps are judged.
    pub max_gap_seconds: i64,
    /// How samples were drawn.
    pub sampling: SamplingMethod,
    /// Overall figures.
    pub summary: Type2Summary,
    /// Every control in scope.
    pub controls: Vec<ControlEffectiveness>,
}

/// How samples were drawn, so that anyone can draw them again.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SamplingMethod {
    /// The seed.
    pub seed: u64,
    /// The draw, in words.
    pub method: String,
    /// Sample sizes by frequency.
    pub sizes: attest_model::SampleSizes,
}

/// Overall figures.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Type2Summary {
    /// Controls in scope.
    pub controls: usize,
    /// Controls with no exception, gap or lapse in the period.
    pub no_exceptions: usize,
    /// Controls with at least one exception, gap or lapse.
    pub exceptions_noted: usize,
    /// Controls without any evidence or result in the period.
    pub not_tested: usize,
    /// Mean share of time operating over the tested controls, 0–100.
    pub operating_percent: f64,
    /// Targets that reported in the period.
    pub targets: usize,
    /// Runs in the period.
    pub runs: u64,
    /// Result intervals read.
    pub intervals: u64,
}

/// The conclusion for one control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// No exception, gap or lapse in the period.
    NoExceptions,
    /// At least one exception, gap or lapse: read them.
    ExceptionsNoted,
    /// No evidence or result in the period.
    NotTested,
}

/// One control over the period.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ControlEffectiveness {
    /// What the control is and how it is evidenced.
    #[serde(flatten)]
    pub design: ControlDesignFields,
    /// The conclusion.
    pub conclusion: Conclusion,
    /// Share of the period the control operated, 0–100 (time-weighted over targets for
    /// automated controls, days covered for manual ones; the lower of both for hybrids).
    pub operating_percent: f64,
    /// One character per day of the assessed period, the worst of the day: `o` operating
    /// throughout; `g` or `G` a gap in monitoring on under 1%, or at least 1%, of the day's
    /// target-time; `x` or `X` failing or undecided on under 1%, or at least 1% (a lapse of
    /// manual evidence is `X`); `-` nothing to assess.
    pub timeline: String,
    /// Operating effectiveness of the automated part.
    pub automated: Option<AutomatedEffectiveness>,
    /// Operating effectiveness of the manual part.
    pub manual: Option<ManualEffectiveness>,
    /// Populations and samples.
    pub samples: Vec<SampleSet>,
    /// Findings about the control active during the period, with their trail.
    pub findings: Vec<FindingTrail>,
}

/// A finding and its remediation trail, as the Type 2 report shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FindingTrail {
    /// The finding as it stands.
    pub finding: attest_model::Finding,
    /// Whether it was closed after its due date, or is still open past it.
    pub late: bool,
    /// Every change, oldest first: `(ledger entry, time, event, by, note)`.
    pub trail: Vec<TrailStep>,
}

/// One change of a finding.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TrailStep {
    /// Ledger sequence number.
    pub seq: u64,
    /// When (RFC 3339).
    #[schemars(with = "String")]
    pub at: Timestamp,
    /// The event: `opened`, `fixed`, `closed`, ...
    pub event: String,
    /// Who.
    pub by: String,
    /// Note given with it.
    pub note: Option<String>,
}

/// The automated part of a control over the period.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct AutomatedEffectiveness {
    /// Targets its checks reported on.
    pub targets: usize,
    /// Target-seconds assessed (the targets' windows).
    pub seconds_total: i64,
    /// Target-seconds operating.
    pub seconds_operating: i64,
    /// Target-seconds with a failing check.
    pub seconds_failing: i64,
    /// Target-seconds with an undecided check.
    pub seconds_unknown: i64,
    /// Target-seconds without monitoring.
    pub seconds_gap: i64,
    /// Share operating, 0–100.
    pub operating_percent: f64,
    /// Share without monitoring, 0–100.
    pub gap_percent: f64,
    /// Failing or undecided spans, longest first.
    pub exceptions: Vec<Exception>,
    /// Spans without monitoring, longest first.
    pub gaps: Vec<Gap>,
}

/// A span during which a control did not operate on a target.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Exception {
    /// Target.
    pub target: String,
    /// Start (RFC 3339).
    #[schemars(with = "String")]
    pub from: Timestamp,
    /// End (RFC 3339).
    #[schemars(with = "String")]
    pub to: Timestamp,
    /// Length in seconds.
    pub seconds: i64,
    /// `fail`, or `error` when the checks could only not decide.
    pub status: Status,
    /// Highest severity of the failing checks.
    pub severity: Severity,
    /// Failing checks, as `check on resource`.
    pub results: Vec<String>,
    /// Ids of the findings about this control that cover the span.
    pub findings: Vec<i64>,
}

/// A span without monitoring on a target.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Gap {
    /// Target.
    pub target: String,
    /// Start (RFC 3339).
    #[schemars(with = "String")]
    pub from: Timestamp,
    /// End (RFC 3339).
    #[schemars(with = "String")]
    pub to: Timestamp,
    /// Length in seconds.
    pub seconds: i64,
}

/// The manual part of a control over the period.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ManualEffectiveness {
    /// Days of the period assessed.
    pub days: i64,
    /// Days covered by current evidence.
    pub days_covered: i64,
    /// Evidence effective in the period, oldest first.
    pub evidence: Vec<EvidenceOccurrence>,
    /// Evidence on time.
    pub on_time: usize,
    /// Evidence late (effective after the evidence before it had expired).
    pub late: usize,
    /// Spans of days without current evidence.
    pub lapses: Vec<Lapse>,
}

/// One piece of evidence in the period.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EvidenceOccurrence {
    /// Evidence record id.
    pub id: i64,
    /// File name.
    pub file_name: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Effective date.
    #[schemars(with = "String")]
    pub effective_date: Date,
    /// Last day it is current.
    #[schemars(with = "String")]
    pub expires_on: Date,
    /// When it was added to the store (RFC 3339).
    #[schemars(with = "String")]
    pub added_at: Timestamp,
    /// Days between its effective date and its addition to the store.
    pub recorded_after_days: i64,
    /// Days it came after the evidence before it expired (0: on time).
    pub late_days: i64,
}

/// Days without current evidence.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Lapse {
    /// First day without.
    #[schemars(with = "String")]
    pub from: Date,
    /// Last day without.
    #[schemars(with = "String")]
    pub to: Date,
    /// Number of days.
    pub days: i64,
}

/// A population and the sample drawn from it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SampleSet {
    /// `runs` (automated results) or `evidence` (manual evidence).
    pub population_kind: String,
    /// What the population is, in words.
    pub population: String,
    /// How many occurrences.
    pub population_size: u64,
    /// The sample size asked for by the control's frequency.
    pub sample_size: u64,
    /// The label the draws used (with the seed, reproduces them).
    pub label: String,
    /// The items drawn, in the order drawn.
    pub items: Vec<SampleItem>,
}

/// One sampled occurrence.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SampleItem {
    /// Position in the documented order of the population (from 0).
    pub index: u64,
    /// Target (runs) or file name (evidence).
    pub subject: String,
    /// Run id, which is also the sequence number of its `scan.run` ledger entry, or evidence id.
    pub id: i64,
    /// When the run observed, or the evidence's effective date at midnight UTC.
    #[schemars(with = "String")]
    pub at: Timestamp,
    /// Whether the control operated at that occurrence.
    pub operating: bool,
    /// What was found, in a sentence.
    pub detail: String,
}

/// A span of the control's timeline on one target.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: i64,
    end: i64,
    status: Status,
    severity: Severity,
    series: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Operating,
    Failing,
    Unknown,
    Gap,
}

fn rank(mark: u8) -> u8 {
    match mark {
        b'o' => 1,
        b'g' => 2,
        b'G' => 3,
        b'x' => 4,
        b'X' => 5,
        _ => 0,
    }
}

/// Seconds of target-time per day of the period, by state.
#[derive(Debug, Clone, Copy, Default)]
struct DayTime {
    operating: i64,
    failing: i64,
    gap: i64,
}

impl DayTime {
    /// The day's timeline character.
    fn mark(self) -> u8 {
        let total = self
            .operating
            .saturating_add(self.failing)
            .saturating_add(self.gap);
        // At least 1% of the day's target-time.
        let major = |part: i64| part.saturating_mul(100) >= total;
        if total == 0 {
            b'-'
        } else if self.failing > 0 {
            if major(self.failing) { b'X' } else { b'x' }
        } else if self.gap > 0 {
            if major(self.gap) { b'G' } else { b'g' }
        } else {
            b'o'
        }
    }
}

/// Adds `[a, b)` (seconds) in `state` to the days it overlaps.
fn add_days(days: &mut [DayTime], start: i64, a: i64, b: i64, state: State) {
    let mut from = a;
    while from < b {
        let index = usize::try_from(from.saturating_sub(start) / 86_400).unwrap_or(0);
        let day_end = start.saturating_add(
            i64::try_from(index)
                .unwrap_or(0)
                .saturating_add(1)
                .saturating_mul(86_400),
        );
        let to = b.min(day_end);
        if let Some(day) = days.get_mut(index) {
            let seconds = to.saturating_sub(from);
            match state {
                State::Operating => day.operating = day.operating.saturating_add(seconds),
                State::Failing | State::Unknown => {
                    day.failing = day.failing.saturating_add(seconds);
                }
                State::Gap => day.gap = day.gap.saturating_add(seconds),
            }
        }
        if to <= from {
            break;
        }
        from = to;
    }
}

/// Marks the days `[a, b)` (seconds) overlaps with `mark`, keeping the worst.
fn mark_days(timeline: &mut [u8], start: i64, a: i64, b: i64, mark: u8) {
    if b <= a {
        return;
    }
    let first = usize::try_from(a.saturating_sub(start) / 86_400).unwrap_or(0);
    let last = usize::try_from(b.saturating_sub(1).saturating_sub(start) / 86_400).unwrap_or(0);
    for day in timeline.iter_mut().take(last.saturating_add(1)).skip(first) {
        if rank(mark) > rank(*day) {
            *day = mark;
        }
    }
}

fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap_or_default()
}

/// Start of `date` in UTC, in Unix seconds.
pub fn day_start(date: Date) -> i64 {
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_second())
        .unwrap_or_default()
}

fn percent(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        return 0.0;
    }
    #[allow(
        clippy::cast_precision_loss,
        reason = "seconds of a year on thousands of hosts are far below 2^52"
    )]
    let value = part as f64 * 100.0 / whole as f64;
    (value * 100.0).round() / 100.0
}

/// The sampling method, in words, as the report states it.
pub const SAMPLING_METHOD: &str = "For each control and population, the i-th draw (i = 0, 1, 2, ...) is the first 8 bytes, big-endian, of SHA-256(\"attest-sample-v1\\n{seed}\\n{label}\\n{i}\\n\") modulo the population size; repeated indexes are skipped until the sample is complete. Runs are ordered by target name, then observation time, then run id; evidence by effective date, then id. Continuous controls sample one run from each of up to `continuous` targets: targets are drawn with label `{control}/targets`, then one run of each target with label `{control}/{target}`.";

/// Computes the Type 2 report.
pub fn type2(input: Type2Input<'_>) -> Result<Type2Report, StoreError> {
    let ws = input.workspace;
    let start = day_start(input.period.start);
    let period_end = input
        .period
        .end
        .checked_add(1.day())
        .map_or(i64::MAX, day_start);
    let end = period_end.min(input.generated_at.as_second()).max(start);
    let max_gap = ws.monitoring.max_gap.as_secs();
    let in_scope: BTreeSet<&str> = ws.criteria_in_scope().map(|c| c.id.as_str()).collect();
    let controls: Vec<&Control> = ws.controls_in_scope().collect();
    let mut controls_of_check: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, control) in controls.iter().enumerate() {
        if control.kind.uses_checks() {
            for check in &control.checks {
                controls_of_check
                    .entry(check.as_str())
                    .or_default()
                    .push(index);
            }
        }
    }

    let targets: HashMap<i64, attest_store::TargetRecord> = input
        .store
        .targets()?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let series: HashMap<i64, attest_store::SeriesRecord> = input
        .store
        .series()?
        .into_iter()
        .filter(|s| controls_of_check.contains_key(s.check.as_str()))
        .map(|s| (s.id, s))
        .collect();

    // Segments per (control, target), built series by series.
    let mut buckets: HashMap<(usize, i64), Vec<Segment>> = HashMap::new();
    let mut intervals_read: u64 = 0;
    let mut current: Option<i64> = None;
    let mut pending: Vec<(i64, i64, Status, Severity)> = Vec::new();
    let mut flush = |series_id: i64, pending: &mut Vec<(i64, i64, Status, Severity)>| {
        let Some(record) = series.get(&series_id) else {
            pending.clear();
            return;
        };
        let Some(control_indexes) = controls_of_check.get(record.check.as_str()) else {
            pending.clear();
            return;
        };
        for (i, &(first, last, status, severity)) in pending.iter().enumerate() {
            let mut seg_end = last.saturating_add(max_gap);
            if let Some(next) = pending.get(i.saturating_add(1)) {
                seg_end = seg_end.min(next.0);
            }
            let (a, b) = (first.max(start), seg_end.min(end));
            if a >= b {
                continue;
            }
            for &control in control_indexes {
                buckets
                    .entry((control, record.target))
                    .or_default()
                    .push(Segment {
                        start: a,
                        end: b,
                        status,
                        severity,
                        series: series_id,
                    });
            }
        }
        pending.clear();
    };
    input.store.visit_intervals(
        ts(start.saturating_sub(max_gap)),
        ts(end),
        &mut |interval| {
            intervals_read = intervals_read.saturating_add(1);
            if !series.contains_key(&interval.series) {
                return;
            }
            if current != Some(interval.series) {
                if let Some(previous) = current {
                    flush(previous, &mut pending);
                }
                current = Some(interval.series);
            }
            pending.push((
                interval.first_seen.as_second(),
                interval.last_seen.as_second(),
                interval.status,
                interval.severity,
            ));
        },
    )?;
    if let Some(previous) = current {
        flush(previous, &mut pending);
    }

    let run_counts: HashMap<i64, u64> = input
        .store
        .run_counts(ts(start), ts(end))?
        .into_iter()
        .collect();
    let evidence = input.store.list_evidence(None)?;
    let mut evidence_of: HashMap<&str, Vec<&EvidenceRecord>> = HashMap::new();
    for record in &evidence {
        evidence_of
            .entry(record.control.as_str())
            .or_default()
            .push(record);
    }
    // Every target that ever reported a check of a control is assessed over its window, with
    // or without results in the period: a target silent for the whole period is all gap.
    for record in series.values() {
        let existed = targets
            .get(&record.target)
            .and_then(|t| t.first_seen)
            .is_some_and(|first| first.as_second() < end);
        if !existed {
            continue;
        }
        for &control in controls_of_check
            .get(record.check.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            buckets.entry((control, record.target)).or_default();
        }
    }
    let findings = input.store.findings()?;
    let mut by_control: Vec<Vec<(i64, Vec<Segment>)>> = vec![Vec::new(); controls.len()];
    for ((control, target), segments) in buckets {
        if let Some(list) = by_control.get_mut(control) {
            list.push((target, segments));
        }
    }

    let mut report_controls = Vec::with_capacity(controls.len());
    for (index, control) in controls.iter().enumerate() {
        let mut per_target = by_control
            .get_mut(index)
            .map(std::mem::take)
            .unwrap_or_default();
        per_target.sort_by(|a, b| {
            let name = |id: &i64| targets.get(id).map_or("", |t| t.name.as_str());
            name(&a.0).cmp(name(&b.0))
        });
        let context = ControlContext {
            input: &input,
            control,
            targets: &targets,
            series: &series,
            run_counts: &run_counts,
            start,
            end,
        };
        let days =
            usize::try_from(end.saturating_sub(start).saturating_add(86_399) / 86_400).unwrap_or(0);
        let mut timeline = vec![b'-'; days];
        let automated = control.kind.uses_checks().then(|| {
            let mut day_time = vec![DayTime::default(); days];
            let automated = context.automated(&per_target, &mut day_time);
            for (mark, day) in timeline.iter_mut().zip(&day_time) {
                *mark = day.mark();
            }
            automated
        });
        let manual = control.kind.needs_evidence().then(|| {
            context.manual(
                evidence_of
                    .get(control.id.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
            )
        });
        if let Some(manual) = manual
            .as_ref()
            .filter(|m| !m.evidence.is_empty() || m.days_covered > 0)
        {
            mark_manual(&mut timeline, input.period.start, manual);
        }
        let mut samples = Vec::new();
        if control.kind.uses_checks() {
            samples.push(context.run_sample(&per_target)?);
        }
        if let Some(manual) = &manual {
            samples.push(context.evidence_sample(manual));
        }
        let mut automated = automated;
        let trails = finding_trails(
            input.store,
            &findings,
            &control.id,
            start,
            end,
            input.generated_at,
        )?;
        if let Some(a) = automated.as_mut() {
            link_findings(&mut a.exceptions, &trails, input.generated_at);
        }
        let tested_automated = automated.as_ref().is_some_and(|a| a.targets > 0);
        let tested_manual = manual.as_ref().is_some_and(|m| !m.evidence.is_empty());
        let tested = match control.kind {
            ControlKind::Automated => tested_automated,
            ControlKind::Manual => tested_manual,
            ControlKind::Hybrid => tested_automated || tested_manual,
        };
        let clean_automated = automated
            .as_ref()
            .is_none_or(|a| a.targets > 0 && a.exceptions.is_empty() && a.gaps.is_empty());
        let clean_manual = manual
            .as_ref()
            .is_none_or(|m| m.lapses.is_empty() && m.late == 0 && !m.evidence.is_empty());
        let conclusion = if !tested {
            Conclusion::NotTested
        } else if clean_automated && clean_manual {
            Conclusion::NoExceptions
        } else {
            Conclusion::ExceptionsNoted
        };
        let operating_percent = match (&automated, &manual) {
            (Some(a), Some(m)) => a.operating_percent.min(percent(m.days_covered, m.days)),
            (Some(a), None) => a.operating_percent,
            (None, Some(m)) => percent(m.days_covered, m.days),
            (None, None) => 0.0,
        };
        report_controls.push(ControlEffectiveness {
            design: ControlDesignFields::of(control, &in_scope),
            conclusion,
            operating_percent,
            timeline: String::from_utf8(timeline).unwrap_or_default(),
            automated,
            manual,
            samples,
            findings: trails,
        });
    }

    let tested: Vec<&ControlEffectiveness> = report_controls
        .iter()
        .filter(|c| c.conclusion != Conclusion::NotTested)
        .collect();
    #[allow(clippy::cast_precision_loss, reason = "a count of controls")]
    let operating_percent = if tested.is_empty() {
        0.0
    } else {
        let sum: f64 = tested.iter().map(|c| c.operating_percent).sum();
        ((sum / tested.len() as f64) * 100.0).round() / 100.0
    };
    let summary = Type2Summary {
        controls: report_controls.len(),
        no_exceptions: report_controls
            .iter()
            .filter(|c| c.conclusion == Conclusion::NoExceptions)
            .count(),
        exceptions_noted: report_controls
            .iter()
            .filter(|c| c.conclusion == Conclusion::ExceptionsNoted)
            .count(),
        not_tested: report_controls
            .iter()
            .filter(|c| c.conclusion == Conclusion::NotTested)
            .count(),
        operating_percent,
        targets: run_counts.len(),
        runs: run_counts.values().sum(),
        intervals: intervals_read,
    };
    Ok(Type2Report {
        schema_version: TYPE2_SCHEMA_VERSION,
        generated_at: input.generated_at,
        organisation: ws.organisation.clone(),
        period: input.period,
        period_start: ts(start),
        assessed_until: ts(end),
        categories: ws.categories_in_scope(),
        max_gap_seconds: max_gap,
        sampling: SamplingMethod {
            seed: input.seed,
            method: SAMPLING_METHOD.to_owned(),
            sizes: ws.sampling,
        },
        summary,
        controls: report_controls,
    })
}

/// Marks covered days `o` and lapsed days `x`.
fn mark_manual(timeline: &mut [u8], first_day: Date, manual: &ManualEffectiveness) {
    let start = day_start(first_day);
    let covered_from = start;
    let covered_to = start.saturating_add(manual.days.saturating_mul(86_400));
    mark_days(timeline, start, covered_from, covered_to, b'o');
    for lapse in &manual.lapses {
        let a = day_start(lapse.from);
        let b = day_start(lapse.to).saturating_add(86_400);
        mark_days(timeline, start, a, b, b'X');
    }
}

/// The findings about `control` active at some time of `start..end`, with their trails.
fn finding_trails(
    store: &dyn Store,
    findings: &[attest_model::Finding],
    control: &str,
    start: i64,
    end: i64,
    now: Timestamp,
) -> Result<Vec<FindingTrail>, StoreError> {
    let mut trails = Vec::new();
    for finding in findings {
        if !finding.controls.iter().any(|c| c == control) {
            continue;
        }
        let began = finding.failing_since.min(finding.opened_at).as_second();
        let ended = finding.closed_at.map_or(i64::MAX, Timestamp::as_second);
        if began >= end || ended < start {
            continue;
        }
        let trail = store
            .finding_history(finding.id)?
            .into_iter()
            .map(|e| TrailStep {
                seq: e.seq,
                at: e.at,
                event: e.event,
                by: e.by,
                note: e.note,
            })
            .collect();
        let late = match finding.closed_at {
            Some(closed) => closed > finding.due_at,
            None => finding.is_overdue(now),
        };
        trails.push(FindingTrail {
            finding: finding.clone(),
            late,
            trail,
        });
    }
    Ok(trails)
}

/// Links each exception to the findings whose failure overlaps it.
fn link_findings(exceptions: &mut [Exception], trails: &[FindingTrail], now: Timestamp) {
    for exception in exceptions {
        for trail in trails {
            let f = &trail.finding;
            let until = f.fixed_at.or(f.closed_at).unwrap_or(now);
            // An automated finding lists its failing results with their target; one that
            // lists only the first of many may cover any target.
            let on_target = f.source == attest_model::FindingSource::Manual
                || f.resources_omitted > 0
                || f.resources
                    .iter()
                    .any(|r| r.ends_with(&format!(" of {}", exception.target)));
            if on_target && f.failing_since <= exception.to && until >= exception.from {
                exception.findings.push(f.id);
            }
        }
    }
}

/// What the per-control computations share.
struct ControlContext<'a> {
    input: &'a Type2Input<'a>,
    control: &'a Control,
    targets: &'a HashMap<i64, attest_store::TargetRecord>,
    series: &'a HashMap<i64, attest_store::SeriesRecord>,
    run_counts: &'a HashMap<i64, u64>,
    start: i64,
    end: i64,
}

impl ControlContext<'_> {
    fn target_name(&self, id: i64) -> String {
        self.targets
            .get(&id)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    }

    fn window(&self, target: i64) -> (i64, i64) {
        let first = self
            .targets
            .get(&target)
            .and_then(|t| t.first_seen)
            .map_or(self.start, Timestamp::as_second);
        (first.max(self.start), self.end)
    }

    fn result_label(&self, series: i64) -> String {
        self.series
            .get(&series)
            .map(|s| format!("{} on {}", s.check, s.resource))
            .unwrap_or_default()
    }

    fn automated(
        &self,
        per_target: &[(i64, Vec<Segment>)],
        day_time: &mut [DayTime],
    ) -> AutomatedEffectiveness {
        let mut out = AutomatedEffectiveness {
            targets: per_target.len(),
            ..AutomatedEffectiveness::default()
        };
        for (target, segments) in per_target {
            let (w_start, w_end) = self.window(*target);
            if w_start >= w_end {
                continue;
            }
            let name = self.target_name(*target);
            let mut points: Vec<i64> = segments
                .iter()
                .flat_map(|s| [s.start, s.end])
                .chain([w_start, w_end])
                .filter(|p| (w_start..=w_end).contains(p))
                .collect();
            points.sort_unstable();
            points.dedup();
            let mut open_exception: Option<(Exception, BTreeSet<i64>)> = None;
            let mut open_gap: Option<Gap> = None;
            for pair in points.windows(2) {
                let (Some(&a), Some(&b)) = (pair.first(), pair.get(1)) else {
                    continue;
                };
                let covering = segments.iter().filter(|s| s.start <= a && s.end >= b);
                let (mut any, mut fail, mut error) = (false, false, false);
                let mut severity = Severity::Info;
                let mut failing: Vec<i64> = Vec::new();
                for segment in covering {
                    any = true;
                    match segment.status {
                        Status::Fail => {
                            fail = true;
                            severity = severity.max(segment.severity);
                            failing.push(segment.series);
                        }
                        Status::Error => {
                            error = true;
                            failing.push(segment.series);
                        }
                        Status::Pass | Status::NotApplicable => {}
                    }
                }
                let state = match (any, fail, error) {
                    (false, _, _) => State::Gap,
                    (true, true, _) => State::Failing,
                    (true, false, true) => State::Unknown,
                    (true, false, false) => State::Operating,
                };
                let seconds = b.saturating_sub(a);
                add_days(day_time, self.start, a, b, state);
                out.seconds_total = out.seconds_total.saturating_add(seconds);
                match state {
                    State::Operating => {
                        out.seconds_operating = out.seconds_operating.saturating_add(seconds);
                    }
                    State::Failing => {
                        out.seconds_failing = out.seconds_failing.saturating_add(seconds);
                    }
                    State::Unknown => {
                        out.seconds_unknown = out.seconds_unknown.saturating_add(seconds);
                    }
                    State::Gap => out.seconds_gap = out.seconds_gap.saturating_add(seconds),
                }
                // Exceptions: maximal runs of failing or unknown time.
                if matches!(state, State::Failing | State::Unknown) {
                    let status = if state == State::Failing {
                        Status::Fail
                    } else {
                        Status::Error
                    };
                    match &mut open_exception {
                        Some((exception, results)) if exception.to.as_second() == a => {
                            exception.to = ts(b);
                            exception.seconds = b.saturating_sub(exception.from.as_second());
                            if status == Status::Fail {
                                exception.status = Status::Fail;
                            }
                            exception.severity = exception.severity.max(severity);
                            results.extend(failing);
                        }
                        _ => {
                            if let Some(done) = open_exception.take() {
                                out.exceptions.push(self.finish_exception(done));
                            }
                            open_exception = Some((
                                Exception {
                                    target: name.clone(),
                                    from: ts(a),
                                    to: ts(b),
                                    seconds,
                                    status,
                                    severity: if state == State::Failing {
                                        severity
                                    } else {
                                        self.control.severity
                                    },
                                    results: Vec::new(),
                                    findings: Vec::new(),
                                },
                                failing.into_iter().collect(),
                            ));
                        }
                    }
                } else if let Some(done) = open_exception.take() {
                    out.exceptions.push(self.finish_exception(done));
                }
                if state == State::Gap {
                    match &mut open_gap {
                        Some(gap) if gap.to.as_second() == a => {
                            gap.to = ts(b);
                            gap.seconds = b.saturating_sub(gap.from.as_second());
                        }
                        _ => {
                            if let Some(done) = open_gap.take() {
                                out.gaps.push(done);
                            }
                            open_gap = Some(Gap {
                                target: name.clone(),
                                from: ts(a),
                                to: ts(b),
                                seconds,
                            });
                        }
                    }
                } else if let Some(done) = open_gap.take() {
                    out.gaps.push(done);
                }
            }
            if let Some(done) = open_exception.take() {
                out.exceptions.push(self.finish_exception(done));
            }
            if let Some(done) = open_gap.take() {
                out.gaps.push(done);
            }
        }
        out.exceptions.sort_by(|a, b| {
            b.seconds
                .cmp(&a.seconds)
                .then_with(|| a.from.cmp(&b.from))
                .then_with(|| a.target.cmp(&b.target))
        });
        out.gaps.sort_by(|a, b| {
            b.seconds
                .cmp(&a.seconds)
                .then_with(|| a.from.cmp(&b.from))
                .then_with(|| a.target.cmp(&b.target))
        });
        out.operating_percent = percent(out.seconds_operating, out.seconds_total);
        out.gap_percent = percent(out.seconds_gap, out.seconds_total);
        out
    }

    fn finish_exception(&self, (mut exception, results): (Exception, BTreeSet<i64>)) -> Exception {
        exception.results = results.into_iter().map(|s| self.result_label(s)).collect();
        exception.results.sort();
        exception
    }

    fn manual(&self, records: &[&EvidenceRecord]) -> ManualEffectiveness {
        let Some(requirement) = &self.control.evidence else {
            return ManualEffectiveness::default();
        };
        let first_day = self.input.period.start;
        let last_day = ts(self.end.saturating_sub(1))
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
            .min(self.input.period.end);
        let days = first_day
            .until(last_day)
            .map_or(0, |s| i64::from(s.get_days()))
            .saturating_add(1)
            .max(0);
        let mut sorted: Vec<&EvidenceRecord> = records.to_vec();
        sorted.sort_by_key(|r| (r.effective_date, r.id));
        // Days covered: union of [effective, expires] clipped to the period.
        let mut covered: Vec<(Date, Date)> = Vec::new();
        let mut out = ManualEffectiveness {
            days,
            ..ManualEffectiveness::default()
        };
        let mut previous_expiry: Option<Date> = None;
        for record in &sorted {
            let expires = Freshness::expires_on(record.effective_date, requirement);
            if record.effective_date > last_day {
                continue;
            }
            if expires >= first_day {
                covered.push((record.effective_date.max(first_day), expires.min(last_day)));
            }
            if record.effective_date >= first_day {
                let due = previous_expiry
                    .and_then(|d| d.checked_add(1.day()).ok())
                    .unwrap_or(first_day);
                let late_days = if record.effective_date > due {
                    due.until(record.effective_date)
                        .map_or(0, |s| i64::from(s.get_days()))
                } else {
                    0
                };
                let added = record.added_at.to_zoned(jiff::tz::TimeZone::UTC).date();
                out.evidence.push(EvidenceOccurrence {
                    id: record.id,
                    file_name: record.file_name.clone(),
                    sha256: record.sha256.clone(),
                    effective_date: record.effective_date,
                    expires_on: expires,
                    added_at: record.added_at,
                    recorded_after_days: record
                        .effective_date
                        .until(added)
                        .map_or(0, |s| i64::from(s.get_days())),
                    late_days,
                });
                if late_days == 0 {
                    out.on_time = out.on_time.saturating_add(1);
                } else {
                    out.late = out.late.saturating_add(1);
                }
            }
            previous_expiry = Some(previous_expiry.map_or(expires, |d| d.max(expires)));
        }
        covered.sort_unstable();
        let mut cursor = first_day;
        let mut covered_days = 0_i64;
        let lapse = |from: Date, to: Date, out: &mut ManualEffectiveness| {
            if from <= to {
                let n = from
                    .until(to)
                    .map_or(0, |s| i64::from(s.get_days()))
                    .saturating_add(1);
                out.lapses.push(Lapse { from, to, days: n });
            }
        };
        for (from, to) in covered {
            if to < cursor {
                continue;
            }
            if from > cursor {
                lapse(cursor, from.yesterday().unwrap_or(from), &mut out);
            }
            let from = from.max(cursor);
            covered_days = covered_days.saturating_add(
                from.until(to)
                    .map_or(0, |s| i64::from(s.get_days()))
                    .saturating_add(1),
            );
            cursor = to.tomorrow().unwrap_or(to);
            if cursor > last_day {
                break;
            }
        }
        if cursor <= last_day {
            lapse(cursor, last_day, &mut out);
        }
        out.days_covered = covered_days;
        out
    }

    /// Runs of the control's targets, and the sample the frequency asks for.
    fn run_sample(&self, per_target: &[(i64, Vec<Segment>)]) -> Result<SampleSet, StoreError> {
        let control = self.control;
        let sizes = &self.input.workspace.sampling;
        let counts: Vec<(i64, String, u64)> = per_target
            .iter()
            .map(|(t, _)| {
                (
                    *t,
                    self.target_name(*t),
                    self.run_counts.get(t).copied().unwrap_or(0),
                )
            })
            .filter(|(_, _, n)| *n > 0)
            .collect();
        let population: u64 = counts.iter().map(|(_, _, n)| n).sum();
        let mut items = Vec::new();
        let (sample_size, label, described) = if control.frequency == Frequency::Continuous {
            let k = u64::from(sizes.continuous).min(counts.len() as u64);
            let label = format!("{}/targets", control.id);
            for target_index in draw(self.input.seed, &label, counts.len() as u64, k) {
                let Some((target, name, n)) = usize::try_from(target_index)
                    .ok()
                    .and_then(|i| counts.get(i))
                else {
                    continue;
                };
                let run_label = format!("{}/{name}", control.id);
                let Some(&run_index) = draw(self.input.seed, &run_label, *n, 1).first() else {
                    continue;
                };
                let offset: u64 = counts
                    .iter()
                    .take(usize::try_from(target_index).unwrap_or(0))
                    .map(|(_, _, n)| n)
                    .sum();
                if let Some(item) =
                    self.sampled_run(per_target, *target, name, run_index, offset)?
                {
                    items.push(item);
                }
            }
            (
                k,
                label,
                format!(
                    "runs of the {} target(s) its checks reported on; one run of each of {k} target(s) drawn",
                    counts.len()
                ),
            )
        } else {
            let k = u64::from(sizes.for_frequency(control.frequency)).min(population);
            let label = control.id.clone();
            for index in draw(self.input.seed, &label, population, k) {
                // Map the population index to (target, index within target).
                let mut rest = index;
                let mut offset = 0;
                for (target, name, n) in &counts {
                    if rest < *n {
                        if let Some(item) =
                            self.sampled_run(per_target, *target, name, rest, offset)?
                        {
                            items.push(item);
                        }
                        break;
                    }
                    rest = rest.saturating_sub(*n);
                    offset = offset.saturating_add(*n);
                }
            }
            (
                k,
                label,
                format!(
                    "runs of the {} target(s) its checks reported on, in the period",
                    counts.len()
                ),
            )
        };
        Ok(SampleSet {
            population_kind: "runs".to_owned(),
            population: described,
            population_size: population,
            sample_size,
            label,
            items,
        })
    }

    fn sampled_run(
        &self,
        per_target: &[(i64, Vec<Segment>)],
        target: i64,
        name: &str,
        index: u64,
        offset: u64,
    ) -> Result<Option<SampleItem>, StoreError> {
        let Some(run) = self
            .input
            .store
            .nth_run(target, ts(self.start), ts(self.end), index)?
        else {
            return Ok(None);
        };
        let at = run.observed_at.as_second();
        let segments = per_target
            .iter()
            .find(|(t, _)| *t == target)
            .map(|(_, s)| s.as_slice())
            .unwrap_or_default();
        let mut counts: BTreeMap<Status, usize> = BTreeMap::new();
        let mut failing = Vec::new();
        for segment in segments.iter().filter(|s| s.start <= at && at < s.end) {
            *counts.entry(segment.status).or_default() += 1;
            if matches!(segment.status, Status::Fail | Status::Error) {
                failing.push(format!(
                    "{} ({})",
                    self.result_label(segment.series),
                    segment.status
                ));
            }
        }
        let observed: usize = counts.values().sum();
        let operating = observed > 0 && failing.is_empty();
        let detail = if observed == 0 {
            "no result of its checks at this run".to_owned()
        } else if failing.is_empty() {
            format!("{observed} result(s) of its checks, all passing or not applicable")
        } else {
            format!("failing: {}", failing.join(", "))
        };
        Ok(Some(SampleItem {
            index: offset.saturating_add(index),
            subject: name.to_owned(),
            id: run.id,
            at: run.observed_at,
            operating,
            detail,
        }))
    }

    fn evidence_sample(&self, manual: &ManualEffectiveness) -> SampleSet {
        let k = u64::from(
            self.input
                .workspace
                .sampling
                .for_frequency(self.control.frequency),
        )
        .min(manual.evidence.len() as u64);
        let label = format!("{}/evidence", self.control.id);
        let items = draw(self.input.seed, &label, manual.evidence.len() as u64, k)
            .into_iter()
            .filter_map(|i| {
                let e = manual.evidence.get(usize::try_from(i).ok()?)?;
                Some(SampleItem {
                    index: i,
                    subject: e.file_name.clone(),
                    id: e.id,
                    at: ts(day_start(e.effective_date)),
                    operating: e.late_days == 0,
                    detail: if e.late_days == 0 {
                        format!(
                            "effective {}, current until {}",
                            e.effective_date, e.expires_on
                        )
                    } else {
                        format!(
                            "effective {}, {} day(s) after the evidence before it expired",
                            e.effective_date, e.late_days
                        )
                    },
                })
            })
            .collect();
        SampleSet {
            population_kind: "evidence".to_owned(),
            population: "evidence effective in the period".to_owned(),
            population_size: manual.evidence.len() as u64,
            sample_size: k,
            label,
            items,
        }
    }
}

/// Seconds as a short human duration, e.g. `3d 4h`, `45m`.
pub fn human_duration(seconds: i64) -> String {
    let duration = SignedDuration::from_secs(seconds.max(0));
    let total_minutes = duration.as_secs() / 60;
    let (days, hours, minutes) = (
        total_minutes / (24 * 60),
        (total_minutes / 60) % 24,
        total_minutes % 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{}s", duration.as_secs()),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}
