//! What the API answers and the pages show, computed from the store and the workspace.
//!
//! Every function here blocks (it reads the store); callers run it through
//! [`AppState::blocking`](crate::AppState::blocking).

use std::collections::{BTreeMap, HashMap};

use attest_model::{Category, ResultInterval, Status};
use attest_report::readiness::{ReadinessInput, ReadinessReport};
use jiff::{SignedDuration, Timestamp, Zoned};
use schemars::JsonSchema;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;

/// Today in the server's time zone.
pub fn today() -> jiff::civil::Date {
    Zoned::now().date()
}

/// The readiness assessment as of now.
pub fn readiness(state: &AppState) -> Result<ReadinessReport, ApiError> {
    let backend = state.backend();
    let evidence = backend.list_evidence(None)?;
    let results = backend.current_results()?;
    let findings = backend.findings()?;
    Ok(attest_report::readiness::assess(ReadinessInput {
        workspace: state.workspace(),
        evidence: &evidence,
        results: &results,
        today: today(),
        generated_at: Timestamp::now(),
        findings: &findings,
    }))
}

/// One day of the readiness trend.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct TrendPoint {
    /// The day (its end, UTC, is the moment measured).
    #[schemars(with = "String")]
    pub date: jiff::civil::Date,
    /// Share of check results passing (of pass and fail/error) per category in scope, in
    /// percent; absent when no result was current that day.
    pub categories: BTreeMap<Category, f64>,
    /// Results current at the end of the day.
    pub results: u64,
}

/// Share of passing check results per category at the end of each of the last `days` days
/// (today included), from the history.
pub fn trend(state: &AppState, days: u16) -> Result<Vec<TrendPoint>, ApiError> {
    let workspace = state.workspace();
    // Which categories each check speaks for, through its controls' criteria.
    let mut categories_of: HashMap<&str, Vec<Category>> = HashMap::new();
    for control in &workspace.controls {
        let mut cats: Vec<Category> = control
            .criteria
            .iter()
            .filter_map(|id| workspace.criterion(id).map(|c| c.category))
            .filter(|c| workspace.scope.includes(*c))
            .collect();
        cats.sort();
        cats.dedup();
        for check in &control.checks {
            let entry = categories_of.entry(check.as_str()).or_default();
            entry.extend(cats.iter().copied());
            entry.sort();
            entry.dedup();
        }
    }
    let backend = state.backend();
    let checks_by_series: HashMap<i64, String> = backend
        .series()?
        .into_iter()
        .map(|s| (s.id, s.check))
        .collect();
    let today = today();
    let days = i64::from(days.max(1));
    let first = today
        .checked_sub(jiff::Span::new().days(days - 1))
        .map_err(ApiError::internal)?;
    let day_end = |date: jiff::civil::Date| -> Result<Timestamp, ApiError> {
        date.to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp() + SignedDuration::from_hours(24) - SignedDuration::from_secs(1))
            .map_err(ApiError::internal)
    };
    let from = day_end(first)?;
    let to = Timestamp::now().min(day_end(today)?);
    // (pass, counted) per day and category, and results per day.
    let len = usize::try_from(days).unwrap_or(1);
    let mut tallies: Vec<BTreeMap<Category, (u64, u64)>> = vec![BTreeMap::new(); len];
    let mut totals = vec![0_u64; len];
    let day_of = |t: Timestamp| (t.as_second() - from.as_second()).div_euclid(86_400);
    // A result is current at a day's end when it is the series' latest observation by then
    // and no older than max_gap (a closed interval holds until its series is seen again).
    let max_gap = workspace.monitoring.max_gap;
    // The status of the series being visited at each day's end; intervals come by series,
    // then first observation, so a later interval overwrites an earlier one's days.
    let mut days_of_series: Vec<Option<Status>> = vec![None; len];
    let mut series: Option<i64> = None;
    let mut tally_series = |series: Option<i64>, days_of_series: &mut Vec<Option<Status>>| {
        let cats = series
            .and_then(|id| checks_by_series.get(&id))
            .and_then(|check| categories_of.get(check.as_str()));
        for (index, status) in days_of_series.iter_mut().enumerate() {
            let (Some(status), Some(cats)) = (status.take(), cats) else {
                continue;
            };
            totals[index] += 1;
            if status == Status::NotApplicable {
                continue;
            }
            for cat in cats {
                let tally = tallies[index].entry(*cat).or_insert((0, 0));
                tally.1 += 1;
                if status == Status::Pass {
                    tally.0 += 1;
                }
            }
        }
    };
    backend.visit_intervals(from - max_gap, to, &mut |interval| {
        if series != Some(interval.series) {
            tally_series(series, &mut days_of_series);
            series = Some(interval.series);
        }
        let last = if interval.open {
            to
        } else {
            (interval.last_seen + max_gap).min(to)
        };
        let start = day_of(interval.first_seen - SignedDuration::from_secs(1)) + 1;
        // Today is measured now (`to`), not at its end.
        let end = if last >= to {
            days - 1
        } else {
            day_of(last).min(days - 1)
        };
        for day in start.max(0)..=end {
            if let Some(slot) = usize::try_from(day)
                .ok()
                .and_then(|i| days_of_series.get_mut(i))
            {
                *slot = Some(interval.status);
            }
        }
    })?;
    tally_series(series, &mut days_of_series);
    let mut points = Vec::with_capacity(len);
    for (i, (tally, results)) in tallies.into_iter().zip(totals).enumerate() {
        let date = first
            .checked_add(jiff::Span::new().days(i64::try_from(i).unwrap_or(0)))
            .map_err(ApiError::internal)?;
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let categories = tally
            .into_iter()
            .filter(|(_, (_, counted))| *counted > 0)
            .map(|(cat, (pass, counted))| {
                let percent = (pass as f64) * 100.0 / (counted as f64);
                (cat, (percent * 10.0).round() / 10.0)
            })
            .collect();
        points.push(TrendPoint {
            date,
            categories,
            results,
        });
    }
    Ok(points)
}

/// A host as the hosts list shows it.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct HostSummary {
    /// Host name.
    pub name: String,
    /// Whether an agent token is registered for it.
    pub registered: bool,
    /// Whether its token is revoked.
    pub revoked: bool,
    /// Runs recorded.
    pub runs: u64,
    /// Its latest run (RFC 3339).
    #[schemars(with = "Option<String>")]
    pub last_seen: Option<Timestamp>,
    /// Current results by status.
    pub pass: u64,
    /// Failing results.
    pub fail: u64,
    /// Results the checks could not decide.
    pub error: u64,
}

/// Every host: registered ones and every target that reported a run.
pub fn hosts(state: &AppState) -> Result<Vec<HostSummary>, ApiError> {
    let backend = state.backend();
    let mut hosts: BTreeMap<String, HostSummary> = BTreeMap::new();
    let blank = |name: &str| HostSummary {
        name: name.to_owned(),
        registered: false,
        revoked: false,
        runs: 0,
        last_seen: None,
        pass: 0,
        fail: 0,
        error: 0,
    };
    for host in backend.hosts()? {
        let entry = hosts
            .entry(host.name.clone())
            .or_insert_with(|| blank(&host.name));
        entry.registered = true;
        entry.revoked = host.revoked_at.is_some();
    }
    for target in backend.targets()? {
        if target.source != "host" {
            continue;
        }
        let entry = hosts
            .entry(target.name.clone())
            .or_insert_with(|| blank(&target.name));
        entry.runs = target.runs;
        entry.last_seen = target.last_seen;
    }
    for result in backend.current_results()? {
        if let Some(entry) = hosts.get_mut(&result.target) {
            match result.status {
                Status::Pass => entry.pass += 1,
                Status::Fail => entry.fail += 1,
                Status::Error => entry.error += 1,
                Status::NotApplicable => {}
            }
        }
    }
    Ok(hosts.into_values().collect())
}

/// One host's current results, failing first.
pub fn host_results(state: &AppState, name: &str) -> Result<Vec<ResultInterval>, ApiError> {
    let mut results: Vec<ResultInterval> = state
        .backend()
        .current_results()?
        .into_iter()
        .filter(|r| r.target == name)
        .collect();
    if results.is_empty()
        && !state.backend().hosts()?.iter().any(|h| h.name == name)
        && !state.backend().targets()?.iter().any(|t| t.name == name)
    {
        return Err(ApiError::not_found(format!("there is no host `{name}`")));
    }
    let rank = |s: Status| match s {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Pass => 2,
        Status::NotApplicable => 3,
    };
    results.sort_by(|a, b| {
        (rank(a.status), &a.check, &a.resource).cmp(&(rank(b.status), &b.check, &b.resource))
    });
    Ok(results)
}

/// The audit period, else the 90 days up to today.
pub fn period(state: &AppState) -> Result<attest_model::Period, ApiError> {
    if let Some(period) = state.workspace().scope.period {
        return Ok(period);
    }
    let end = today();
    let start = end
        .checked_sub(jiff::Span::new().days(89))
        .map_err(ApiError::internal)?;
    Ok(attest_model::Period { start, end })
}
