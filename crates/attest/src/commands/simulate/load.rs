//! `attest simulate load`: a fleet of agents pushing reports to a running server, measured.
//!
//! Each simulated host sends what `attest agent` sends: one report of all its results per
//! run, mostly the same as its previous report with a few statuses changed, observed at a
//! later second than its previous one, under a report id of its own. Hosts are shared out
//! among the connections (one thread and one keep-alive connection each), so a host's reports
//! go out one at a time and in order, as from an agent's spool.
//!
//! In open loop (`--rate N`) report `i` is due at `i / N` seconds, whatever the server's
//! latency, and its latency is counted from that moment rather than from when it was sent,
//! so a server that falls behind shows in the figures instead of slowing the generator down.
//! In closed loop (`--rate 0`) every connection sends its next report as soon as the previous
//! one is answered. A report answered with 5xx, 429 or a connection error is sent again,
//! unchanged, until it is acknowledged, as an agent does; one rejected with another 4xx is
//! counted and dropped.
//!
//! `--verify-acks FILE` sends every report recorded in FILE again instead: each must be
//! answered as a duplicate of the run it was acknowledged as, or it was lost.

use std::collections::BTreeMap;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use attest_model::Severity;
use clap::Args;
use hdrhistogram::Histogram;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::exit::{ExitStatus, Failure};
use crate::printer;

use super::SplitMix;

/// Longest wait between two tries of a report the server did not take.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Results of a simulated host that never apply.
const NOT_APPLICABLE: f64 = 0.08;

/// Results of a simulated host that fail when the run starts.
const FAILING: f64 = 0.05;

#[derive(Debug, Args)]
pub(crate) struct SimulateLoadArgs {
    /// Base URL of the server
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub(crate) server: String,
    /// An admin who registers the simulated hosts through the API (`POST /api/v1/hosts`)
    #[arg(long, value_name = "NAME")]
    pub(crate) admin: Option<String>,
    /// File holding the admin's password (its first line)
    #[arg(long, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
    /// Agent tokens, one `HOST TOKEN` a line: read from FILE when it exists (no host is
    /// registered then), else written there once the hosts are registered
    #[arg(long, value_name = "FILE")]
    pub(crate) tokens: Option<PathBuf>,
    /// Simulated hosts
    #[arg(long, default_value_t = 10_000)]
    pub(crate) hosts: u32,
    /// Prefix of the simulated hosts' names (followed by a number)
    #[arg(long, value_name = "PREFIX", default_value = "load-")]
    pub(crate) host_prefix: String,
    /// Reports per second, each sent when due whatever the latency (open loop); 0 sends the
    /// next report on each connection as soon as the previous one is answered (closed loop)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) rate: u32,
    /// How long to send new reports (`90s`, `2m`, or seconds)
    #[arg(long, value_name = "TIME", default_value = "60s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
    /// How long after --duration to keep sending reports the server has not acknowledged
    #[arg(long, value_name = "TIME", default_value = "60s", value_parser = parse_duration)]
    pub(crate) drain: Duration,
    /// Stop once every host has sent this many reports (0: only --duration stops), e.g. 1 to
    /// have every host report once before measuring, as a fleet that reported before would
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) rounds: u64,
    /// Concurrent connections (one thread each)
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub(crate) connections: usize,
    /// Results per report (the built-in checks, on several resources each)
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub(crate) results: usize,
    /// Share of a host's results whose status differs from its previous report: each result
    /// is off its host's usual status (drawn from --seed) with half this probability, so the
    /// fleet does not drift and a new run of the generator continues the same fleet
    #[arg(long, value_name = "SHARE", default_value_t = 0.02)]
    pub(crate) change_rate: f64,
    /// Longest wait for one answer
    #[arg(long, value_name = "TIME", default_value = "30s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
    /// Seed of the simulated statuses
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Write the figures as JSON to FILE
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// Write every acknowledged report to FILE, one `HOST REPORT_ID OBSERVED_AT RUN_ID` a
    /// line (tab-separated)
    #[arg(long, value_name = "FILE")]
    pub(crate) acks: Option<PathBuf>,
    /// Check instead that every report acknowledged in FILE (written by --acks) is recorded:
    /// each is sent again and must be answered as a duplicate of the same run
    #[arg(long, value_name = "FILE", conflicts_with = "acks")]
    pub(crate) verify_acks: Option<PathBuf>,
}

/// `90s`, `2m`, `1h`, `250ms`, or a number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like `60s` or `2m`"))?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        other => return Err(format!("unknown unit `{other}`; use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

/// The figures of one run, as `--report` writes them.
#[derive(Debug, Default, Serialize)]
pub(crate) struct LoadReport {
    /// `open-loop`, `closed-loop` or `verify`.
    mode: &'static str,
    /// Reports per second asked for (0 in closed loop).
    target_rate: u32,
    hosts: usize,
    connections: usize,
    results_per_report: usize,
    /// Seconds new reports were sent for.
    duration_s: f64,
    /// Seconds from the first send to the last answer.
    elapsed_s: f64,
    /// Reports made (each sent until answered, or until the drain ended).
    reports: u64,
    /// Requests sent, tries included.
    requests: u64,
    /// Reports answered 201 (recorded).
    acknowledged: u64,
    /// Reports answered 200 (recorded before: a try whose answer was lost).
    duplicates: u64,
    /// Failed tries by HTTP status, or `connection` (sent again later, as an agent would).
    errors: BTreeMap<String, u64>,
    /// Reports refused for good (4xx other than 429), by status.
    rejected: BTreeMap<String, u64>,
    /// Reports still unacknowledged when the drain ended.
    pending: u64,
    /// Verification: acknowledged reports found recorded as the same run.
    present: u64,
    /// Verification: acknowledged reports not recorded, or recorded as another run.
    lost: u64,
    /// Acknowledged reports (201 and 200) per second over `elapsed_s`.
    reports_per_s: f64,
    /// Results per second over `elapsed_s`.
    results_per_s: f64,
    latency_ms: Latency,
    /// CPU seconds the generator itself used (user and system).
    generator_cpu_s: f64,
}

/// Latency of acknowledged reports, from when each was due (open loop) or first sent
/// (closed loop) to its acknowledgement, in milliseconds.
#[derive(Debug, Default, Serialize)]
struct Latency {
    p50: f64,
    p90: f64,
    p99: f64,
    p999: f64,
    max: f64,
    mean: f64,
}

/// A report acknowledged by the server.
#[derive(Debug, Clone)]
struct Ack {
    host: usize,
    report_id: String,
    observed_at: i64,
    run_id: i64,
}

/// One result series a simulated host reports.
struct Template {
    /// `{"check":"…","resource":"…","status":"`.
    head: String,
    /// `","severity":"…","message":"` then the check id, before the status.
    tail: String,
}

/// What the simulated hosts report: the same result series for every host.
struct Fleet {
    names: Vec<String>,
    /// `Bearer atk_…` per host.
    bearers: Vec<String>,
    templates: Vec<Template>,
    first_check: String,
}

/// One simulated host's state.
struct Host {
    index: usize,
    /// Usual status per series: 0 pass, 1 fail, 2 not applicable.
    usual: Vec<u8>,
    /// Status per series in the latest report.
    statuses: Vec<u8>,
    seq: u64,
    last_second: i64,
}

/// A report waiting to be acknowledged.
struct Pending {
    body: Vec<u8>,
    report_id: String,
    observed_at: i64,
}

const STATUS_NAMES: [&str; 3] = ["pass", "fail", "not_applicable"];

pub(crate) fn run(args: &SimulateLoadArgs) -> anyhow::Result<ExitStatus> {
    if args.hosts == 0 || args.connections == 0 || args.results == 0 {
        return Err(Failure::input(
            "--hosts, --connections and --results must each be at least 1",
        ));
    }
    if !(0.0..=1.0).contains(&args.change_rate) {
        return Err(Failure::input("--change-rate must be between 0 and 1"));
    }
    let base = args.server.trim_end_matches('/').to_owned();
    let hosts = usize::try_from(args.hosts).unwrap_or(usize::MAX);
    let names: Vec<String> = (1..=hosts)
        .map(|i| format!("{}{i:05}", args.host_prefix))
        .collect();
    let tokens = tokens(args, &base, &names)?;
    let fleet = Fleet {
        bearers: names
            .iter()
            .map(|name| {
                tokens
                    .get(name)
                    .map(|t| format!("Bearer {t}"))
                    .ok_or_else(|| Failure::input(format!("no agent token for host `{name}`")))
            })
            .collect::<anyhow::Result<_>>()?,
        names,
        templates: templates(args.results)?,
        first_check: String::new(),
    };
    let fleet = Fleet {
        first_check: fleet
            .templates
            .first()
            .map(|t| t.head.clone())
            .unwrap_or_default(),
        ..fleet
    };
    let cpu_before = own_cpu_seconds();
    let (mut report, acks) = match &args.verify_acks {
        Some(file) => (verify(args, &base, &fleet, file)?, Vec::new()),
        None => drive(args, &base, &fleet)?,
    };
    report.generator_cpu_s = own_cpu_seconds() - cpu_before;
    if let Some(path) = &args.acks {
        write_acks(path, &fleet, &acks)?;
    }
    if let Some(path) = &args.report {
        fs_err::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    printer::print_text(&summary(&report))?;
    let failed = report.lost > 0
        || report.pending > 0
        || !report.rejected.is_empty()
        || (report.mode == "verify" && !report.errors.is_empty());
    Ok(if failed {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}

/// The result series: every built-in check on as many resources as it takes.
fn templates(results: usize) -> anyhow::Result<Vec<Template>> {
    let (workspace, _) = attest_catalog::load(None);
    let mut checks: Vec<(&str, Severity)> = workspace
        .checks
        .iter()
        .map(|c| (c.id.as_str(), c.severity))
        .collect();
    checks.sort_unstable();
    if checks.is_empty() {
        return Err(Failure::input("the built-in catalog has no checks"));
    }
    Ok((0..results)
        .map(|i| {
            let (id, severity) = checks
                .get(i % checks.len())
                .copied()
                .unwrap_or(("", Severity::Medium));
            let copy = i / checks.len();
            let resource = if copy == 0 {
                format!("/etc/{id}")
            } else {
                format!("/etc/{id}.d/{copy:02}.conf")
            };
            Template {
                head: format!(r#"{{"check":"{id}","resource":"{resource}","status":""#),
                tail: format!(
                    r#"","severity":"{severity}","message":"setting checked by {id} in {resource}: "#
                ),
            }
        })
        .collect())
}

impl Host {
    fn new(index: usize, series: usize, rng: &mut SplitMix) -> Self {
        let usual: Vec<u8> = (0..series)
            .map(|_| {
                let roll = rng.unit();
                if roll < NOT_APPLICABLE {
                    2
                } else {
                    // 1 (fail) or 0 (pass).
                    u8::from(roll < NOT_APPLICABLE + FAILING)
                }
            })
            .collect();
        Host {
            index,
            statuses: usual.clone(),
            usual,
            seq: 0,
            last_second: 0,
        }
    }

    /// The host's next report: a few statuses changed, observed at a later second.
    fn next(&mut self, fleet: &Fleet, tag: &str, change_rate: f64, rng: &mut SplitMix) -> Pending {
        // Off the usual status with probability p in each report: consecutive reports then
        // differ in 2p(1 - p) of their results, about `change_rate` with p = change_rate / 2.
        let off = change_rate / 2.0;
        for (status, usual) in self.statuses.iter_mut().zip(&self.usual) {
            *status = if *usual != 2 && rng.unit() < off {
                1 - *usual
            } else {
                *usual
            };
        }
        self.seq = self.seq.saturating_add(1);
        let now = unix_seconds();
        self.last_second = now.max(self.last_second.saturating_add(1));
        let observed_at = Timestamp::from_second(self.last_second).unwrap_or_default();
        let report_id = format!("{tag}-{}-{}", self.index, self.seq);
        let name = fleet.names.get(self.index).map_or("", String::as_str);
        let mut body = Vec::with_capacity(256 + self.statuses.len() * 200);
        let _ = write!(
            body,
            r#"{{"schema_version":1,"report_id":"{report_id}","host":"{name}","observed_at":"{observed_at}","agent_version":"attest-simulate","results":["#
        );
        for (i, (template, status)) in fleet.templates.iter().zip(&self.statuses).enumerate() {
            if i > 0 {
                body.push(b',');
            }
            let status = STATUS_NAMES
                .get(usize::from(*status))
                .copied()
                .unwrap_or("pass");
            body.extend_from_slice(template.head.as_bytes());
            body.extend_from_slice(status.as_bytes());
            body.extend_from_slice(template.tail.as_bytes());
            body.extend_from_slice(status.as_bytes());
            body.extend_from_slice(b"\"}");
        }
        body.extend_from_slice(b"]}");
        Pending {
            body,
            report_id,
            observed_at: self.last_second,
        }
    }
}

fn unix_seconds() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// How one try went.
enum Try {
    /// 201 or 200, with the run id.
    Acknowledged { run_id: i64, duplicate: bool },
    /// Worth sending again after `after`.
    Again { error: String, after: Duration },
    /// Refused for good.
    Rejected { status: u16 },
}

#[derive(Deserialize)]
struct Receipt {
    run_id: i64,
    duplicate: bool,
}

fn client(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

fn push(client: &ureq::Agent, endpoint: &str, bearer: &str, body: &[u8]) -> Try {
    let sent = client
        .post(endpoint)
        .header("Authorization", bearer)
        .header("Content-Type", "application/json")
        .send(body);
    let Ok(mut response) = sent else {
        return Try::Again {
            error: "connection".to_owned(),
            after: Duration::from_millis(100),
        };
    };
    let status = response.status().as_u16();
    let after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_millis(100), Duration::from_secs)
        .min(MAX_BACKOFF);
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string();
    match (status, text) {
        (200 | 201, Ok(text)) => match serde_json::from_str::<Receipt>(&text) {
            Ok(receipt) => Try::Acknowledged {
                run_id: receipt.run_id,
                duplicate: receipt.duplicate,
            },
            Err(_) => Try::Again {
                error: format!("{status}-unreadable"),
                after,
            },
        },
        (200 | 201, Err(_)) => Try::Again {
            error: "connection".to_owned(),
            after,
        },
        (429 | 500..=599, _) => Try::Again {
            error: status.to_string(),
            after,
        },
        _ => Try::Rejected { status },
    }
}

/// What one connection's thread did.
#[derive(Default)]
struct Tally {
    reports: u64,
    requests: u64,
    acknowledged: u64,
    duplicates: u64,
    errors: BTreeMap<String, u64>,
    rejected: BTreeMap<String, u64>,
    pending: u64,
    present: u64,
    lost: u64,
    acks: Vec<Ack>,
    last_answer: Option<Instant>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.reports += other.reports;
        self.requests += other.requests;
        self.acknowledged += other.acknowledged;
        self.duplicates += other.duplicates;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in other.rejected {
            *self.rejected.entry(k).or_default() += v;
        }
        self.pending += other.pending;
        self.present += other.present;
        self.lost += other.lost;
        self.acks.extend(other.acks);
        self.last_answer = self.last_answer.max(other.last_answer);
    }

    /// Sends `body` until it is answered for good or `give_up` passes.
    fn deliver(
        &mut self,
        client: &ureq::Agent,
        endpoint: &str,
        bearer: &str,
        body: &[u8],
        give_up: Instant,
    ) -> Option<Result<(i64, bool), u16>> {
        loop {
            self.requests += 1;
            let answer = push(client, endpoint, bearer, body);
            self.last_answer = Some(Instant::now());
            match answer {
                Try::Acknowledged { run_id, duplicate } => return Some(Ok((run_id, duplicate))),
                Try::Rejected { status } => return Some(Err(status)),
                Try::Again { error, after } => {
                    *self.errors.entry(error).or_default() += 1;
                    if Instant::now() + after >= give_up {
                        return None;
                    }
                    std::thread::sleep(after);
                }
            }
        }
    }
}

fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).context("cannot make a latency histogram")
}

fn drive(
    args: &SimulateLoadArgs,
    base: &str,
    fleet: &Fleet,
) -> anyhow::Result<(LoadReport, Vec<Ack>)> {
    let endpoint = format!("{base}/api/v1/reports");
    let connections = args.connections.min(fleet.names.len());
    let mut tag = [0_u8; 4];
    getrandom::fill(&mut tag).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let tag = hex::encode(tag);
    let mut rng = SplitMix(args.seed);
    // Host `i` belongs to connection `i % connections`.
    let mut shares: Vec<Vec<Host>> = (0..connections).map(|_| Vec::new()).collect();
    for index in 0..fleet.names.len() {
        if let Some(share) = shares.get_mut(index % connections) {
            share.push(Host::new(index, fleet.templates.len(), &mut rng));
        }
    }
    let started = Instant::now();
    let stop_sending = started + args.duration;
    let give_up = stop_sending + args.drain;
    let interval = (args.rate > 0).then(|| Duration::from_secs_f64(1.0 / f64::from(args.rate)));
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .into_iter()
            .enumerate()
            .map(|(slot, mut hosts)| {
                let endpoint = endpoint.as_str();
                let tag = tag.as_str();
                let mut rng = SplitMix(args.seed ^ (slot as u64).wrapping_mul(0x9E37_79B9));
                scope.spawn(move || -> anyhow::Result<(Tally, Histogram<u64>)> {
                    let client = client(args.timeout);
                    let mut tally = Tally::default();
                    let mut histogram = new_histogram()?;
                    let mut k: u64 = 0;
                    loop {
                        let due = match interval {
                            // Report `k * connections + slot` of the whole fleet.
                            Some(interval) => {
                                let n = k
                                    .saturating_mul(connections as u64)
                                    .saturating_add(slot as u64);
                                started
                                    + interval.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX))
                            }
                            None => Instant::now(),
                        };
                        if due >= stop_sending
                            || (args.rounds > 0
                                && k >= (hosts.len() as u64).saturating_mul(args.rounds))
                        {
                            break;
                        }
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                        let count = hosts.len().max(1);
                        let Some(host) = hosts.get_mut(usize::try_from(k).unwrap_or(0) % count)
                        else {
                            break;
                        };
                        k += 1;
                        let pending = host.next(fleet, tag, args.change_rate, &mut rng);
                        tally.reports += 1;
                        let bearer = fleet.bearers.get(host.index).map_or("", String::as_str);
                        match tally.deliver(&client, endpoint, bearer, &pending.body, give_up) {
                            Some(Ok((run_id, duplicate))) => {
                                let micros = u64::try_from(due.elapsed().as_micros())
                                    .unwrap_or(u64::MAX)
                                    .max(1);
                                histogram.saturating_record(micros);
                                if duplicate {
                                    tally.duplicates += 1;
                                } else {
                                    tally.acknowledged += 1;
                                }
                                tally.acks.push(Ack {
                                    host: host.index,
                                    report_id: pending.report_id,
                                    observed_at: pending.observed_at,
                                    run_id,
                                });
                            }
                            Some(Err(status)) => {
                                *tally.rejected.entry(status.to_string()).or_default() += 1;
                            }
                            None => {
                                tally.pending += 1;
                                break;
                            }
                        }
                    }
                    Ok((tally, histogram))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a connection's thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let mut tally = Tally::default();
    let mut histogram = new_histogram()?;
    for (one, h) in results {
        tally.merge(one);
        histogram
            .add(h)
            .context("cannot merge latency histograms")?;
    }
    let elapsed = tally
        .last_answer
        .map_or(Duration::ZERO, |last| last.duration_since(started))
        .as_secs_f64();
    let answered = tally.acknowledged + tally.duplicates;
    #[allow(clippy::cast_precision_loss, reason = "rates for people to read")]
    let rate = answered as f64 / elapsed.max(1e-9);
    let report = LoadReport {
        mode: if args.rate > 0 {
            "open-loop"
        } else {
            "closed-loop"
        },
        target_rate: args.rate,
        hosts: fleet.names.len(),
        connections,
        results_per_report: fleet.templates.len(),
        duration_s: args.duration.as_secs_f64(),
        elapsed_s: elapsed,
        reports: tally.reports,
        requests: tally.requests,
        acknowledged: tally.acknowledged,
        duplicates: tally.duplicates,
        errors: tally.errors,
        rejected: tally.rejected,
        pending: tally.pending,
        present: 0,
        lost: 0,
        reports_per_s: rate,
        #[allow(clippy::cast_precision_loss, reason = "rates for people to read")]
        results_per_s: rate * fleet.templates.len() as f64,
        latency_ms: latency(&histogram),
        generator_cpu_s: 0.0,
    };
    Ok((report, tally.acks))
}

#[allow(
    clippy::cast_precision_loss,
    reason = "milliseconds for people to read"
)]
fn latency(histogram: &Histogram<u64>) -> Latency {
    let ms = |micros: u64| micros as f64 / 1000.0;
    if histogram.is_empty() {
        return Latency::default();
    }
    Latency {
        p50: ms(histogram.value_at_quantile(0.50)),
        p90: ms(histogram.value_at_quantile(0.90)),
        p99: ms(histogram.value_at_quantile(0.99)),
        p999: ms(histogram.value_at_quantile(0.999)),
        max: ms(histogram.max()),
        mean: histogram.mean() / 1000.0,
    }
}

fn write_acks(path: &Path, fleet: &Fleet, acks: &[Ack]) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(fs_err::File::create(path)?);
    for ack in acks {
        let name = fleet.names.get(ack.host).map_or("", String::as_str);
        let observed_at = Timestamp::from_second(ack.observed_at).unwrap_or_default();
        writeln!(
            out,
            "{name}\t{}\t{observed_at}\t{}",
            ack.report_id, ack.run_id
        )?;
    }
    out.flush()?;
    Ok(())
}

fn read_acks(path: &Path, fleet: &Fleet) -> anyhow::Result<Vec<Ack>> {
    let index: std::collections::HashMap<&str, usize> = fleet
        .names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let file = fs_err::File::open(path)?;
    let mut acks = Vec::new();
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = || {
            Failure::input(format!(
                "{}:{}: expected `HOST REPORT_ID OBSERVED_AT RUN_ID`",
                path.display(),
                number + 1
            ))
        };
        let mut fields = line.split('\t');
        let (Some(host), Some(report_id), Some(observed_at), Some(run_id)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        let host = *index.get(host).ok_or_else(|| {
            Failure::input(format!(
                "{}:{}: host `{host}` is not one of the simulated hosts (same --hosts and --host-prefix?)",
                path.display(),
                number + 1
            ))
        })?;
        acks.push(Ack {
            host,
            report_id: report_id.to_owned(),
            observed_at: observed_at
                .parse::<Timestamp>()
                .map_err(|_| bad())?
                .as_second(),
            run_id: run_id.parse().map_err(|_| bad())?,
        });
    }
    Ok(acks)
}

/// Sends every acknowledged report again, with one result: the server must recognise each
/// as the run it acknowledged.
fn verify(
    args: &SimulateLoadArgs,
    base: &str,
    fleet: &Fleet,
    file: &Path,
) -> anyhow::Result<LoadReport> {
    let acks = read_acks(file, fleet)?;
    let endpoint = format!("{base}/api/v1/reports");
    let connections = args.connections.max(1);
    let next = AtomicUsize::new(0);
    let lost_examples = Mutex::new(Vec::new());
    let started = Instant::now();
    let give_up = started + args.duration.max(Duration::from_secs(600));
    let stopped = AtomicBool::new(false);
    let tallies = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..connections)
            .map(|_| {
                scope.spawn(|| {
                    let client = client(args.timeout);
                    let mut tally = Tally::default();
                    while !stopped.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(ack) = acks.get(i) else { break };
                        let name = fleet.names.get(ack.host).map_or("", String::as_str);
                        let observed_at =
                            Timestamp::from_second(ack.observed_at).unwrap_or_default();
                        let body = format!(
                            r#"{{"schema_version":1,"report_id":"{}","host":"{name}","observed_at":"{observed_at}","agent_version":"attest-simulate","results":[{}pass","severity":"low","message":"verification"}}]}}"#,
                            ack.report_id, fleet.first_check
                        );
                        let bearer = fleet.bearers.get(ack.host).map_or("", String::as_str);
                        tally.reports += 1;
                        let outcome =
                            tally.deliver(&client, &endpoint, bearer, body.as_bytes(), give_up);
                        let found = matches!(
                            outcome,
                            Some(Ok((run_id, true))) if run_id == ack.run_id
                        );
                        if found {
                            tally.present += 1;
                        } else if outcome.is_none() {
                            tally.pending += 1;
                            stopped.store(true, Ordering::Relaxed);
                        } else {
                            tally.lost += 1;
                            if let Ok(mut examples) = lost_examples.lock()
                                && examples.len() < 10
                            {
                                examples.push(format!(
                                    "{name} {} (run {}): {}",
                                    ack.report_id,
                                    ack.run_id,
                                    match outcome {
                                        Some(Ok((run, true))) => format!("recorded as run {run}"),
                                        Some(Ok((run, false))) =>
                                            format!("was missing, now recorded as run {run}"),
                                        Some(Err(status)) => format!("answered {status}"),
                                        None => String::new(),
                                    }
                                ));
                            }
                        }
                    }
                    tally
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a connection's thread panicked"))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let mut tally = Tally::default();
    for one in tallies {
        tally.merge(one);
    }
    for example in lost_examples.into_inner().unwrap_or_default() {
        printer::note(&format!("lost: {example}"));
    }
    Ok(LoadReport {
        mode: "verify",
        hosts: fleet.names.len(),
        connections,
        reports: tally.reports,
        requests: tally.requests,
        errors: tally.errors,
        pending: tally.pending,
        present: tally.present,
        lost: tally.lost,
        elapsed_s: started.elapsed().as_secs_f64(),
        ..LoadReport::default()
    })
}

fn summary(report: &LoadReport) -> String {
    let map = |m: &BTreeMap<String, u64>| {
        if m.is_empty() {
            "none".to_owned()
        } else {
            m.iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    if report.mode == "verify" {
        return format!(
            "verified {} acknowledged reports in {:.1} s: {} recorded as acknowledged, {} lost, {} not checked; failed tries: {}\n",
            report.reports,
            report.elapsed_s,
            report.present,
            report.lost,
            report.pending,
            map(&report.errors)
        );
    }
    let l = &report.latency_ms;
    format!(
        "{mode}{target}: {hosts} hosts over {connections} connections, {results} results a report, {duration:.0} s\n\
         reports: {reports} made, {ack} acknowledged (201), {dup} duplicates (200), {pending} unacknowledged, rejected: {rejected}\n\
         requests: {requests}; failed tries (sent again): {errors}\n\
         throughput: {rate:.0} reports/s, {results_rate:.0} results/s over {elapsed:.1} s\n\
         latency ms: p50 {p50:.1}, p90 {p90:.1}, p99 {p99:.1}, p99.9 {p999:.1}, max {max:.1}\n\
         generator CPU: {cpu:.1} s\n",
        mode = report.mode,
        target = if report.target_rate > 0 {
            format!(" at {} reports/s", report.target_rate)
        } else {
            String::new()
        },
        hosts = report.hosts,
        connections = report.connections,
        results = report.results_per_report,
        duration = report.duration_s,
        reports = report.reports,
        ack = report.acknowledged,
        dup = report.duplicates,
        pending = report.pending,
        rejected = map(&report.rejected),
        requests = report.requests,
        errors = map(&report.errors),
        rate = report.reports_per_s,
        results_rate = report.results_per_s,
        elapsed = report.elapsed_s,
        p50 = l.p50,
        p90 = l.p90,
        p99 = l.p99,
        p999 = l.p999,
        max = l.max,
        cpu = report.generator_cpu_s,
    )
}

/// CPU seconds this process has used (Linux: `/proc/self/stat`; 0 elsewhere).
fn own_cpu_seconds() -> f64 {
    let Ok(stat) = fs_err::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which ends with the last `)`): utime is the 12th, stime
    // the 13th, in clock ticks of 1/100 s.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    #[allow(clippy::cast_precision_loss, reason = "seconds for people to read")]
    let seconds = (ticks(11) + ticks(12)) as f64 / 100.0;
    seconds
}

/// The hosts' agent tokens: from --tokens when it exists, else registered with the admin's
/// session (and written to --tokens).
fn tokens(
    args: &SimulateLoadArgs,
    base: &str,
    names: &[String],
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    if let Some(path) = &args.tokens
        && path.exists()
    {
        let text = fs_err::read_to_string(path)?;
        return Ok(text
            .lines()
            .filter_map(|line| {
                let (host, token) = line.split_once(char::is_whitespace)?;
                Some((host.to_owned(), token.trim().to_owned()))
            })
            .collect());
    }
    let (Some(admin), Some(password_file)) = (&args.admin, &args.password_file) else {
        return Err(Failure::input(
            "give --admin and --password-file to register the hosts, or --tokens with an existing file",
        ));
    };
    let password = fs_err::read_to_string(password_file)?;
    let password = password.lines().next().unwrap_or("").to_owned();
    let started = Instant::now();
    let tokens = register(args, base, admin, &password, names)?;
    printer::note(&format!(
        "Registered {} hosts in {:.1} s",
        tokens.len(),
        started.elapsed().as_secs_f64()
    ));
    if let Some(path) = &args.tokens {
        use fs_err::os::unix::fs::OpenOptionsExt as _;
        let mut file = fs_err::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        let mut text = String::with_capacity(names.len() * 80);
        for name in names {
            if let Some(token) = tokens.get(name) {
                text.push_str(name);
                text.push(' ');
                text.push_str(token);
                text.push('\n');
            }
        }
        file.write_all(text.as_bytes())?;
    }
    Ok(tokens)
}

#[derive(Deserialize)]
struct SessionAnswer {
    csrf_token: String,
}

#[derive(Deserialize)]
struct HostToken {
    name: String,
    token: String,
}

/// Logs in as `admin` and registers every host (rotating the token of one that exists).
fn register(
    args: &SimulateLoadArgs,
    base: &str,
    admin: &str,
    password: &str,
    names: &[String],
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let login = client(args.timeout);
    let mut response = login
        .post(&format!("{base}/api/v1/session"))
        .header("Content-Type", "application/json")
        .send(serde_json::to_vec(
            &serde_json::json!({"name": admin, "password": password}),
        )?)
        .with_context(|| format!("cannot reach {base}"))?;
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .filter(|c| c.starts_with("attest_session="))
        })
        .map(str::to_owned);
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let (200, Some(cookie)) = (status, cookie) else {
        return Err(Failure::input(format!(
            "cannot log in as `{admin}`: HTTP {status} {text}"
        )));
    };
    let session: SessionAnswer =
        serde_json::from_str(&text).context("the login answer has no CSRF token")?;
    let tokens = Mutex::new(std::collections::HashMap::with_capacity(names.len()));
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<String>> = Mutex::new(None);
    let endpoint = format!("{base}/api/v1/hosts");
    std::thread::scope(|scope| {
        for _ in 0..args.connections.clamp(1, 16) {
            scope.spawn(|| {
                let client = client(args.timeout);
                loop {
                    if failure.lock().map_or(true, |f| f.is_some()) {
                        return;
                    }
                    let Some(name) = names.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return;
                    };
                    match add_host(&client, &endpoint, &cookie, &session.csrf_token, name) {
                        Ok(token) => {
                            if let Ok(mut tokens) = tokens.lock() {
                                tokens.insert(token.name, token.token);
                            }
                        }
                        Err(err) => {
                            if let Ok(mut failure) = failure.lock() {
                                *failure = Some(format!("{err:#}"));
                            }
                        }
                    }
                }
            });
        }
    });
    if let Some(err) = failure.into_inner().ok().flatten() {
        return Err(anyhow::anyhow!("cannot register the hosts: {err}"));
    }
    tokens
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a registering thread panicked"))
}

fn add_host(
    client: &ureq::Agent,
    endpoint: &str,
    cookie: &str,
    csrf: &str,
    name: &str,
) -> anyhow::Result<HostToken> {
    let post = |url: &str, body: Vec<u8>| -> anyhow::Result<(u16, String)> {
        let mut response = client
            .post(url)
            .header("Cookie", cookie)
            .header("X-CSRF-Token", csrf)
            .header("Content-Type", "application/json")
            .send(body)?;
        let status = response.status().as_u16();
        Ok((status, response.body_mut().read_to_string()?))
    };
    let (mut status, mut text) = post(
        endpoint,
        serde_json::to_vec(&serde_json::json!({ "name": name }))?,
    )?;
    if status == 409 {
        // Registered by an earlier run whose tokens are gone: a new token replaces the old.
        (status, text) = post(&format!("{endpoint}/{name}/token"), Vec::new())?;
    }
    if !(200..300).contains(&status) {
        return Err(anyhow::anyhow!("host `{name}`: HTTP {status} {text}"));
    }
    Ok(serde_json::from_str(&text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_or_without_a_unit() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 fortnights").is_err());
    }

    #[test]
    fn a_host_reports_valid_json_later_each_time_with_few_changes() {
        let templates = templates(100).unwrap();
        let fleet = Fleet {
            names: vec!["load-00001".into()],
            bearers: vec!["Bearer x".into()],
            templates,
            first_check: String::new(),
        };
        let mut rng = SplitMix(7);
        let mut host = Host::new(0, fleet.templates.len(), &mut rng);
        let first = host.next(&fleet, "abcd1234", 0.02, &mut rng);
        let second = host.next(&fleet, "abcd1234", 0.02, &mut rng);
        let parse =
            |p: &Pending| -> attest_model::AgentReport { serde_json::from_slice(&p.body).unwrap() };
        let (a, b) = (parse(&first), parse(&second));
        a.validate().unwrap();
        b.validate().unwrap();
        assert_eq!(a.results.len(), 100);
        assert_ne!(a.report_id, b.report_id);
        assert!(b.observed_at > a.observed_at);
        assert_eq!(b.observed_at.as_second(), second.observed_at);
        let changed = a
            .results
            .iter()
            .zip(&b.results)
            .filter(|(x, y)| x.status != y.status)
            .count();
        assert!(changed < 20, "{changed} of 100 results changed");
        // The fleet does not drift: after many reports a host fails about as often as it did.
        let failing =
            |statuses: &[u8]| statuses.iter().map(|s| usize::from(*s == 1)).sum::<usize>();
        let usual = failing(&host.usual);
        let mut most = 0;
        for _ in 0..500 {
            host.next(&fleet, "abcd1234", 0.02, &mut rng);
            most = most.max(failing(&host.statuses));
        }
        assert!(
            most <= usual + 6,
            "{usual} usually failing, up to {most} after drifting"
        );
        let (workspace, _) = attest_catalog::load(None);
        assert!(
            a.results
                .iter()
                .all(|r| workspace.checks.iter().any(|c| c.id == r.check))
        );
    }
}
