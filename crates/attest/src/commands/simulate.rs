//! `attest simulate history`: a fleet's hourly runs over many days, written into the store.
//!
//! Every host runs the built-in host checks each hour (a few seconds apart from its
//! neighbours). Each result passes, or does not apply, most of the time; now and then a
//! configuration drifts and a check fails until it is fixed hours or days later, or a check
//! cannot decide for a while; now and then a host goes silent for hours (an agent down), which
//! the history shows as a gap in monitoring. The same seed generates the same history.
//!
//! Runs are written as deltas through `Store::import_runs`, so the store, its intervals and
//! its ledger are exactly those the same runs recorded one by one would give, with a
//! checkpoint signed at the end of each simulated hour.
//!
//! `attest simulate load` ([`load`]) drives a running server with a fleet of simulated agents
//! instead, and measures it.

pub(crate) mod load;

use std::time::Instant;

use anyhow::Context as _;
use attest_model::{CheckResult, RunRecord, Severity, Status};
use attest_store::{RunDelta, Store as _};
use jiff::{Timestamp, ToSpan as _};

use crate::args::{GlobalArgs, SimulateCommand, SimulateHistoryArgs};
use crate::context::{load_workspace, open_store, today};
use crate::exit::{ExitStatus, Failure};
use crate::printer;

/// Chance per hour that a passing result starts to fail (about once in 200 days).
const FAIL_PER_HOUR: f64 = 1.0 / (200.0 * 24.0);
/// Chance per hour that a passing result becomes undecided (about once in 1,000 days).
const ERROR_PER_HOUR: f64 = 1.0 / (1000.0 * 24.0);
/// Chance per hour that a host goes silent (about once in 120 days).
const SILENCE_PER_HOUR: f64 = 1.0 / (120.0 * 24.0);
/// Share of results that never apply.
const NOT_APPLICABLE: f64 = 0.08;

/// A small, fast, seedable generator (`SplitMix64`): the same seed, the same history.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss, reason = "53 random bits")]
        let value = (self.next() >> 11) as f64 / (1_u64 << 53) as f64;
        value
    }

    /// Uniform in [low, high].
    fn between(&mut self, low: u32, high: u32) -> u32 {
        let span = u64::from(high.saturating_sub(low)).saturating_add(1);
        low.saturating_add(u32::try_from(self.next() % span).unwrap_or(0))
    }
}

/// One simulated result series.
struct Series {
    check: usize,
    resource: String,
    /// Status now.
    status: Status,
    /// Status the host's previous run observed.
    observed: Option<Status>,
    /// Hour at which a failure or error ends (back to pass).
    until: u32,
    never_applies: bool,
}

struct Host {
    name: String,
    series: Vec<Series>,
    /// Silent until this hour.
    silent_until: u32,
    offset: i64,
}

pub(crate) fn run(global: &GlobalArgs, command: &SimulateCommand) -> anyhow::Result<ExitStatus> {
    match command {
        SimulateCommand::History(args) => history(global, args),
        SimulateCommand::Load(args) => load::run(args),
    }
}

fn history(global: &GlobalArgs, args: &SimulateHistoryArgs) -> anyhow::Result<ExitStatus> {
    if args.hosts == 0 || args.checks == 0 || args.days == 0 {
        return Err(Failure::input(
            "--hosts, --checks and --days must each be at least 1",
        ));
    }
    let workspace = load_workspace(global)?;
    let mut checks: Vec<(&str, Severity)> = workspace
        .checks
        .iter()
        .filter(|c| c.source == "host")
        .map(|c| (c.id.as_str(), c.severity))
        .collect();
    checks.sort_unstable();
    if checks.is_empty() {
        return Err(Failure::input(
            "the workspace has no host checks to simulate",
        ));
    }
    let start_day = args.start.unwrap_or_else(|| {
        today()
            .checked_sub(i64::from(args.days).days())
            .unwrap_or_else(|_| today())
    });
    let start = attest_report::type2::day_start(start_day);
    let max_gap = workspace.monitoring.max_gap;
    let mut rng = SplitMix(args.seed);
    let mut hosts: Vec<Host> = (0..args.hosts)
        .map(|h| {
            let name = format!("host-{:04}", h.saturating_add(1));
            let series = (0..args.checks)
                .map(|i| {
                    let index = usize::try_from(i).unwrap_or(0);
                    let check = index % checks.len();
                    let copy = index / checks.len();
                    let id = checks.get(check).map_or("", |c| c.0);
                    Series {
                        check,
                        resource: if copy == 0 {
                            format!("{name}/{id}")
                        } else {
                            format!("{name}/{id}#{copy}")
                        },
                        status: Status::Pass,
                        observed: None,
                        until: 0,
                        never_applies: false,
                    }
                })
                .collect();
            Host {
                name,
                series,
                silent_until: 0,
                // Hosts report a few seconds apart within each hour.
                offset: i64::from(h.saturating_mul(7) % 3_000),
            }
        })
        .collect();
    for host in &mut hosts {
        for series in &mut host.series {
            if rng.unit() < NOT_APPLICABLE {
                series.never_applies = true;
                series.status = Status::NotApplicable;
            }
        }
    }
    let hours = args.days.saturating_mul(24);
    let store = open_store(global, &workspace)?;
    let started = Instant::now();
    let host_count = hosts.len();
    let mut hour = 0_u32;
    let mut host_index = 0_usize;
    let deltas = std::iter::from_fn(|| {
        loop {
            if hour >= hours {
                return None;
            }
            let host = hosts.get_mut(host_index)?;
            let last_of_hour = host_index.saturating_add(1) == host_count;
            let this_hour = hour;
            host_index = host_index.saturating_add(1);
            if last_of_hour {
                host_index = 0;
                hour = hour.saturating_add(1);
            }
            // The world changes whether or not the host reports.
            for series in &mut host.series {
                if series.never_applies {
                    continue;
                }
                if series.status != Status::Pass && this_hour >= series.until {
                    series.status = Status::Pass;
                }
                if series.status == Status::Pass {
                    let roll = rng.unit();
                    if roll < FAIL_PER_HOUR {
                        series.status = Status::Fail;
                        // Fixed within 1 to 72 hours, most within a day.
                        let hours = rng.between(1, 24).min(rng.between(1, 72));
                        series.until = this_hour.saturating_add(hours);
                    } else if roll < FAIL_PER_HOUR + ERROR_PER_HOUR {
                        series.status = Status::Error;
                        series.until = this_hour.saturating_add(rng.between(1, 3));
                    }
                }
            }
            if this_hour < host.silent_until {
                continue;
            }
            if rng.unit() < SILENCE_PER_HOUR {
                host.silent_until = this_hour.saturating_add(rng.between(3, 30));
                continue;
            }
            let mut changes = Vec::new();
            for series in &mut host.series {
                if series.observed != Some(series.status) {
                    let (id, severity) = checks
                        .get(series.check)
                        .copied()
                        .unwrap_or(("", Severity::Medium));
                    changes.push(CheckResult {
                        check: id.to_owned(),
                        resource: series.resource.clone(),
                        status: series.status,
                        severity,
                        message: format!("simulated: {id} is {}", series.status),
                    });
                    series.observed = Some(series.status);
                }
            }
            let observed_at = Timestamp::from_second(
                start
                    .saturating_add(i64::from(this_hour).saturating_mul(3600))
                    .saturating_add(host.offset),
            )
            .unwrap_or_default();
            return Some(RunDelta {
                run: RunRecord {
                    source: "host".to_owned(),
                    target: host.name.clone(),
                    observed_at,
                    max_gap,
                },
                changes,
                gone: Vec::new(),
                observed: host.series.len() as u64,
                checkpoint: last_of_hour,
            });
        }
    });
    let mut deltas = deltas;
    let outcome = store
        .import_runs(&mut deltas)
        .context("cannot write the simulated history")?;
    let seconds = started.elapsed().as_secs_f64();
    let size = store.database_size()?;
    #[allow(clippy::cast_precision_loss, reason = "rates for people to read")]
    let rate = outcome.observations as f64 / seconds.max(1e-9);
    #[allow(clippy::cast_precision_loss, reason = "sizes for people to read")]
    let mib = size as f64 / (1024.0 * 1024.0);
    printer::note(&format!(
        "Simulated {} hosts x {} results, hourly for {} days from {start_day}: {} runs ({} observations) in {seconds:.1} s ({rate:.0} observations/s); {} intervals, {} ledger entries, {} checkpoints; store {} is {mib:.1} MiB",
        args.hosts,
        args.checks,
        args.days,
        outcome.runs,
        outcome.observations,
        outcome.intervals,
        outcome.entries,
        outcome.checkpoints,
        store.dir().display()
    ));
    Ok(ExitStatus::Success)
}
