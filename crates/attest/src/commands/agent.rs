//! `attest agent`: this host's checks on a schedule, pushed to an Attest server.
//!
//! Each round collects the host facts and evaluates the host checks as `attest scan` does,
//! makes an [`AgentReport`] with a fresh random id, writes it to the spool, then pushes the
//! spooled reports to the server oldest first (see [`push`] for what each answer means). The
//! agent keeps no store and no ledger of its own: the server records the runs. When the server
//! cannot be reached, reports wait in the spool in order and go out, each once, when it can;
//! pushes are retried with an exponential, jittered back-off (up to the interval, honouring
//! `Retry-After`). SIGTERM or SIGINT stop the agent between two pushes.

mod push;
mod spool;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use attest_engine::CheckEngine;
use attest_model::{AGENT_REPORT_VERSION, AgentReport, MAX_REPORT_BYTES, ReportResult, Status};

use self::push::{Answer, Server, Token};
use self::spool::{Enqueued, Entry, Spool};
use crate::args::{AgentArgs, GlobalArgs};
use crate::commands::collect::host_root;
use crate::commands::scan::{collect_host, evaluate_host};
use crate::context::load_with_engine;
use crate::exit::{ExitStatus, Failure};

/// Shortest wait before pushing again after a failed round; it doubles with each failure.
const BACKOFF_BASE: Duration = Duration::from_secs(15);
/// Longest wait between two attempts, whatever the interval.
const BACKOFF_MAX: Duration = Duration::from_secs(3600);

pub(crate) fn run(global: &GlobalArgs, args: &AgentArgs) -> anyhow::Result<ExitStatus> {
    let timeout = args.timeout.unsigned_abs();
    let ca_pem = match &args.ca_file {
        Some(path) => Some(fs_err::read(path).map_err(|e| Failure::input(e.to_string()))?),
        None => None,
    };
    let server = Server::new(
        &args.server,
        args.allow_insecure_http,
        timeout,
        ca_pem.as_deref(),
    )?;
    read_token(&args.token_file)?;
    host_root(&args.root.path)?;
    let spool_dir = match &args.spool {
        Some(dir) => dir.clone(),
        None => default_spool_dir()?,
    };
    let spool = Spool::open(
        &spool_dir,
        usize::try_from(args.spool_max).unwrap_or(usize::MAX),
    )
    .with_context(|| format!("cannot open the spool {}", spool_dir.display()))?;
    let (workspace, engine) = load_with_engine(global, true)?;
    let Some((engine, _)) = engine else {
        return Err(Failure::input("the checks did not compile"));
    };
    let every = args.interval.unwrap_or(workspace.monitoring.interval);
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot watch for SIGTERM and SIGINT")?;
    }
    let agent = Agent {
        server,
        token_file: args.token_file.clone(),
        spool,
        engine,
        root: args.root.path.clone(),
        host: args.host.clone(),
    };
    if args.once {
        return agent.once(&stop);
    }
    tracing::info!(
        server = agent.server.endpoint(),
        spool = %agent.spool.dir().display(),
        "agent started: collecting every {every:#}; SIGTERM or Ctrl-C stops it"
    );
    agent.serve(every.unsigned_abs(), &stop);
    tracing::info!("agent stopped");
    Ok(ExitStatus::Success)
}

/// Reads and checks the token file: refused when group or others may read it (like ssh does
/// with keys), empty, or not a header value. The token itself never appears in a message.
fn read_token(path: &Path) -> anyhow::Result<Token> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = fs_err::metadata(path)
        .map_err(|e| Failure::input(format!("cannot read the token file: {e}")))?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(Failure::input(format!(
            "the token file {} is accessible by group or others (mode {:04o}); a token must be \
             private to the agent: run `chmod 600 {}`",
            path.display(),
            mode & 0o7777,
            path.display()
        )));
    }
    let text = fs_err::read_to_string(path)
        .map_err(|e| Failure::input(format!("cannot read the token file: {e}")))?;
    Token::parse(&text)
        .map_err(|problem| Failure::input(format!("the token file {} {problem}", path.display())))
}

/// `/var/lib/attest/spool` for root, else `spool/` in the user's data folder.
fn default_spool_dir() -> anyhow::Result<PathBuf> {
    if effective_uid() == Some(0) {
        return Ok(PathBuf::from("/var/lib/attest/spool"));
    }
    let dirs = directories::ProjectDirs::from("", "", "attest")
        .context("cannot find a home folder for the spool; pass --spool DIR")?;
    Ok(dirs.data_dir().join("spool"))
}

/// The effective user id, from `/proc/self/status` (`Uid: real effective saved fs`).
fn effective_uid() -> Option<u32> {
    let status = fs_err::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Everything one agent needs, set up once.
struct Agent {
    server: Server,
    token_file: PathBuf,
    spool: Spool,
    engine: CheckEngine,
    root: PathBuf,
    host: Option<String>,
}

/// What a delivery round did.
#[derive(Debug, Default, PartialEq, Eq)]
struct Round {
    delivered: usize,
    rejected: usize,
    /// Reports still in the spool.
    pending: usize,
    /// Why the round stopped early, and how long the server asked to wait.
    later: Option<(String, Option<Duration>)>,
}

/// When to push again after failed rounds.
struct Retry {
    at: Instant,
    failures: u32,
}

impl Retry {
    fn due(&self) -> bool {
        Instant::now() >= self.at
    }

    /// Records a failed round; returns the wait before the next attempt.
    fn failed(&mut self, after: Option<Duration>, interval: Duration) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let wait = backoff(self.failures, after, interval, random_fraction());
        let now = Instant::now();
        self.at = now.checked_add(wait).unwrap_or(now);
        wait
    }
}

impl Agent {
    /// One collection and one delivery round: exit 0 if every report reached the server, 1 if
    /// reports remain spooled, one was rejected, or this run's report found the spool full.
    fn once(&self, stop: &AtomicBool) -> anyhow::Result<ExitStatus> {
        let token = read_token(&self.token_file)?;
        let push = |_: &Entry, body: &[u8]| self.server.push(&token, body);
        let mut rejected = 0;
        if self.spool.is_full()? {
            // Make room first if the server takes reports again.
            rejected += deliver(&self.spool, stop, push)?.rejected;
        }
        let collected = self.collect();
        let round = deliver(&self.spool, stop, push)?;
        rejected += round.rejected;
        if round.pending > 0 {
            tracing::warn!(
                "{} report(s) wait in the spool {} for the next round",
                round.pending,
                self.spool.dir().display()
            );
        }
        let kept = collected?;
        if !kept || round.pending > 0 || rejected > 0 {
            return Ok(ExitStatus::Findings);
        }
        Ok(ExitStatus::Success)
    }

    /// Collects every `interval` and pushes, retrying failed pushes with back-off, until
    /// `stop` is set.
    fn serve(&self, interval: Duration, stop: &AtomicBool) {
        let mut next_collect = Instant::now();
        let mut retry = Retry {
            at: Instant::now(),
            failures: 0,
        };
        let mut pending = 0;
        while !stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            if now >= next_collect {
                next_collect = now.checked_add(interval).unwrap_or(now);
                if self.spool.is_full().unwrap_or(false) && retry.due() {
                    // Make room first if the server takes reports again.
                    self.attempt(stop, &mut retry, interval);
                }
                if let Err(err) = self.collect() {
                    tracing::error!("this run's report was not made: {err:#}");
                }
                pending = self.spool.pending().map_or(1, |p| p.len());
            }
            if pending > 0 && retry.due() {
                pending = self.attempt(stop, &mut retry, interval);
            }
            let wake = if pending > 0 {
                next_collect.min(retry.at)
            } else {
                next_collect
            };
            while !stop.load(Ordering::SeqCst) {
                let left = wake.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(Duration::from_millis(200)));
            }
        }
    }

    /// One delivery round with its back-off bookkeeping; returns how many reports wait.
    fn attempt(&self, stop: &AtomicBool, retry: &mut Retry, interval: Duration) -> usize {
        match self.deliver_round(stop) {
            Ok(round) => {
                if let Some((_, after)) = round.later {
                    let wait = retry.failed(after, interval);
                    tracing::warn!(
                        "{} report(s) wait in the spool; next attempt in {:.0} s",
                        round.pending,
                        wait.as_secs_f64()
                    );
                } else {
                    retry.failures = 0;
                }
                round.pending
            }
            Err(err) => {
                let wait = retry.failed(None, interval);
                tracing::error!(
                    "cannot deliver the spooled reports: {err:#}; next attempt in {:.0} s",
                    wait.as_secs_f64()
                );
                // Unknown: try again after the wait.
                1
            }
        }
    }

    fn deliver_round(&self, stop: &AtomicBool) -> anyhow::Result<Round> {
        // Read each round, so a rotated token is used without a restart.
        let token = read_token(&self.token_file)?;
        deliver(&self.spool, stop, |_, body| self.server.push(&token, body))
    }

    /// Collects, evaluates and spools one report; `Ok(false)` when the spool is full.
    fn collect(&self) -> anyhow::Result<bool> {
        let collected = collect_host(host_root(&self.root)?);
        let evaluated = evaluate_host(&self.engine, &collected)?;
        let report = AgentReport {
            schema_version: AGENT_REPORT_VERSION,
            report_id: new_report_id()?,
            host: self
                .host
                .clone()
                .unwrap_or_else(|| collected.facts.hostname.clone()),
            observed_at: collected.observed_at,
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            results: evaluated.results.iter().map(ReportResult::from).collect(),
        };
        report.validate().map_err(|problem| {
            Failure::input(format!(
                "the report of this host is not valid: {problem}{}",
                if problem.field == "host" {
                    "; pass --host NAME"
                } else {
                    ""
                }
            ))
        })?;
        let body = serde_json::to_vec(&report).context("cannot encode the report")?;
        if body.len() > MAX_REPORT_BYTES {
            return Err(anyhow::anyhow!(
                "the report is {} bytes, over the server's limit of {MAX_REPORT_BYTES}",
                body.len()
            ));
        }
        match self.spool.enqueue(&report.report_id, &body)? {
            Enqueued::Spooled(entry) => {
                let count = |status| report.results.iter().filter(|r| r.status == status).count();
                tracing::info!(
                    report = %entry.report_id,
                    host = %report.host,
                    "report made: {} results ({} pass, {} fail, {} error, {} not applicable) in {:.0} ms",
                    report.results.len(),
                    count(Status::Pass),
                    count(Status::Fail),
                    count(Status::Error),
                    count(Status::NotApplicable),
                    collected.collect_ms + evaluated.evaluate_ms,
                );
                Ok(true)
            }
            Enqueued::Full { waiting } => {
                tracing::error!(
                    "the spool {} is full ({waiting} reports wait for the server): this run's \
                     report was not kept, and the waiting ones are kept; the server will show a \
                     gap in monitoring",
                    self.spool.dir().display()
                );
                Ok(false)
            }
        }
    }
}

/// Pushes the spooled reports oldest first with `send` until one must wait, or `stop` is set.
/// A delivered report leaves the spool; a rejected one moves to `rejected/` with its reason.
fn deliver(
    spool: &Spool,
    stop: &AtomicBool,
    mut send: impl FnMut(&Entry, &[u8]) -> Answer,
) -> anyhow::Result<Round> {
    let pending = spool.pending()?;
    let mut round = Round {
        pending: pending.len(),
        ..Round::default()
    };
    for entry in &pending {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let body = spool.read(entry)?;
        let answer = match serde_json::from_slice::<AgentReport>(&body) {
            Ok(_) => send(entry, &body),
            Err(err) => Answer::Rejected {
                reason: format!("not a readable report, not sent: {err}"),
                body: String::new(),
            },
        };
        match answer {
            Answer::Delivered { run_id, duplicate } => {
                spool.remove(entry)?;
                round.delivered += 1;
                round.pending -= 1;
                tracing::debug!(report = %entry.report_id, ?run_id, duplicate, "delivered");
            }
            Answer::Rejected { reason, body } => {
                let mut text = format!("{reason}\n");
                if !body.is_empty() {
                    text.push_str(&body);
                    text.push('\n');
                }
                let moved = spool.reject(entry, &text)?;
                round.rejected += 1;
                round.pending -= 1;
                tracing::error!(
                    report = %entry.report_id,
                    "the server rejected the report: {reason}; kept in {}",
                    moved.display()
                );
            }
            Answer::Later { reason, after } => {
                tracing::warn!(report = %entry.report_id, "not delivered: {reason}");
                round.later = Some((reason, after));
                break;
            }
        }
    }
    if round.delivered > 0 || round.rejected > 0 {
        tracing::info!(
            "delivered {} report(s), {} rejected, {} waiting",
            round.delivered,
            round.rejected,
            round.pending
        );
    }
    Ok(round)
}

/// The wait before attempt `failures + 1`: 15 s doubling per failure, at least what the server
/// asked, at most the interval (and an hour), scaled by `fraction` in [0.5, 1] so that agents
/// do not all come back at once.
fn backoff(failures: u32, after: Option<Duration>, interval: Duration, fraction: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    let wait = BACKOFF_BASE
        .saturating_mul(1 << doublings)
        .max(after.unwrap_or_default())
        .min(interval)
        .min(BACKOFF_MAX);
    wait.mul_f64(fraction.clamp(0.5, 1.0))
}

/// A random number in [0.5, 1].
fn random_fraction() -> f64 {
    let mut bytes = [0_u8; 2];
    if getrandom::fill(&mut bytes).is_err() {
        return 1.0;
    }
    0.5 + f64::from(u16::from_le_bytes(bytes)) / f64::from(u16::MAX) / 2.0
}

/// A fresh report id: 32 random hex digits.
fn new_report_id() -> anyhow::Result<String> {
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("cannot read random bytes: {e}"))?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn body(report_id: &str) -> Vec<u8> {
        serde_json::to_vec(&AgentReport {
            schema_version: AGENT_REPORT_VERSION,
            report_id: report_id.to_owned(),
            host: "web-1".into(),
            observed_at: jiff::Timestamp::UNIX_EPOCH,
            agent_version: "0.1.0".into(),
            results: Vec::new(),
        })
        .unwrap()
    }

    /// What the server does with one push.
    #[derive(Debug, Clone, Copy)]
    enum Reply {
        Take,
        Reject,
        Later,
    }

    #[derive(Debug, Clone)]
    enum Op {
        Enqueue,
        Deliver(Vec<Reply>),
        /// The agent stops and starts again on the same spool.
        Restart,
    }

    fn op() -> impl Strategy<Value = Op> {
        let reply = prop_oneof![
            3 => Just(Reply::Take),
            1 => Just(Reply::Reject),
            2 => Just(Reply::Later),
        ];
        prop_oneof![
            4 => Just(Op::Enqueue),
            3 => proptest::collection::vec(reply, 0..6).prop_map(Op::Deliver),
            1 => Just(Op::Restart),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the interleaving of runs, deliveries, failures and restarts, every report
        /// made is at the server once, in `rejected/`, or waiting, and the server receives
        /// them in the order they were made.
        #[test]
        fn the_spool_never_loses_duplicates_or_reorders_reports(
            ops in proptest::collection::vec(op(), 1..40),
            max in 1_usize..8,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut spool = Spool::open(dir.path(), max).unwrap();
            let stop = AtomicBool::new(false);
            let mut made: Vec<String> = Vec::new();
            let mut refused = 0;
            let mut taken: Vec<String> = Vec::new();
            let mut rejected: Vec<String> = Vec::new();
            for op in ops {
                match op {
                    Op::Enqueue => {
                        let id = format!("report-{:06}", made.len() + refused);
                        match spool.enqueue(&id, &body(&id)).unwrap() {
                            Enqueued::Spooled(_) => made.push(id),
                            Enqueued::Full { waiting } => {
                                prop_assert_eq!(waiting, max);
                                refused += 1;
                            }
                        }
                    }
                    Op::Deliver(replies) => {
                        let mut replies = replies.into_iter();
                        let round = deliver(&spool, &stop, |entry, sent| {
                            let report: AgentReport = serde_json::from_slice(sent).unwrap();
                            assert_eq!(report.report_id, entry.report_id);
                            match replies.next().unwrap_or(Reply::Take) {
                                Reply::Take => {
                                    taken.push(report.report_id);
                                    Answer::Delivered { run_id: None, duplicate: false }
                                }
                                Reply::Reject => {
                                    rejected.push(report.report_id);
                                    Answer::Rejected { reason: "HTTP 422".into(), body: String::new() }
                                }
                                Reply::Later => Answer::Later { reason: "HTTP 503".into(), after: None },
                            }
                        }).unwrap();
                        prop_assert_eq!(round.pending, spool.pending().unwrap().len());
                    }
                    Op::Restart => {
                        drop(spool);
                        spool = Spool::open(dir.path(), max).unwrap();
                    }
                }
                let waiting: Vec<String> =
                    spool.pending().unwrap().into_iter().map(|e| e.report_id).collect();
                prop_assert!(waiting.len() <= max);
                // Taken, rejected and waiting are disjoint and together are everything made.
                let mut all: Vec<String> =
                    taken.iter().chain(&rejected).chain(&waiting).cloned().collect();
                all.sort();
                let mut expected = made.clone();
                expected.sort();
                prop_assert_eq!(all, expected);
                // Taken in the order made, and nothing waiting is older than what was taken.
                let position = |id: &String| made.iter().position(|m| m == id).unwrap();
                let order: Vec<usize> = taken.iter().map(position).collect();
                prop_assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
                let waiting_order: Vec<usize> = waiting.iter().map(position).collect();
                prop_assert!(waiting_order.windows(2).all(|w| w[0] < w[1]));
                if let (Some(last_taken), Some(first_waiting)) = (order.last(), waiting_order.first()) {
                    prop_assert!(last_taken < first_waiting);
                }
            }
            let in_rejected = fs_err::read_dir(dir.path().join(spool::REJECTED))
                .unwrap()
                .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json"))
                .count();
            prop_assert_eq!(in_rejected, rejected.len());
        }
    }

    #[test]
    fn a_stop_ends_the_round_between_two_pushes() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 10).unwrap();
        for id in ["aaaaaaaa", "bbbbbbbb", "cccccccc"] {
            spool.enqueue(id, &body(id)).unwrap();
        }
        let stop = AtomicBool::new(false);
        let mut sent = Vec::new();
        let round = deliver(&spool, &stop, |entry, _| {
            sent.push(entry.report_id.clone());
            stop.store(true, Ordering::SeqCst);
            Answer::Delivered {
                run_id: Some(1),
                duplicate: false,
            }
        })
        .unwrap();
        assert_eq!(sent, ["aaaaaaaa"]);
        assert_eq!(round.delivered, 1);
        assert_eq!(round.pending, 2);
    }

    #[test]
    fn an_unreadable_spool_file_is_set_aside_without_being_sent() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 10).unwrap();
        spool
            .enqueue("aaaaaaaa", b"{\"not\": \"a report\"}")
            .unwrap();
        spool.enqueue("bbbbbbbb", &body("bbbbbbbb")).unwrap();
        let mut sent = Vec::new();
        let round = deliver(&spool, &AtomicBool::new(false), |entry, _| {
            sent.push(entry.report_id.clone());
            Answer::Delivered {
                run_id: None,
                duplicate: false,
            }
        })
        .unwrap();
        assert_eq!(sent, ["bbbbbbbb"]);
        assert_eq!((round.delivered, round.rejected, round.pending), (1, 1, 0));
        let reason = fs_err::read_to_string(
            dir.path()
                .join(spool::REJECTED)
                .join("00000000000000000001-aaaaaaaa.error"),
        )
        .unwrap();
        assert!(
            reason.starts_with("not a readable report, not sent"),
            "{reason}"
        );
    }

    #[test]
    fn the_back_off_doubles_honours_retry_after_and_stays_within_the_interval() {
        let hour = Duration::from_secs(3600);
        let s = Duration::from_secs;
        assert_eq!(backoff(1, None, hour, 1.0), s(15));
        assert_eq!(backoff(2, None, hour, 1.0), s(30));
        assert_eq!(backoff(4, None, hour, 1.0), s(120));
        assert_eq!(backoff(40, None, hour, 1.0), hour);
        assert_eq!(backoff(1, Some(s(300)), hour, 1.0), s(300));
        assert_eq!(backoff(3, None, s(10), 1.0), s(10));
        assert_eq!(backoff(1, None, Duration::from_secs(86_400), 1.0), s(15));
        assert_eq!(backoff(30, None, Duration::from_secs(86_400), 1.0), hour);
        assert_eq!(backoff(2, None, hour, 0.5), s(15));
        assert_eq!(backoff(2, None, hour, 0.0), s(15));
        let f = random_fraction();
        assert!((0.5..=1.0).contains(&f), "{f}");
    }

    #[test]
    fn report_ids_are_32_random_hex_digits() {
        let a = new_report_id().unwrap();
        let b = new_report_id().unwrap();
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(attest_model::is_report_id(&a));
        assert_ne!(a, b);
    }

    #[test]
    fn the_effective_user_is_the_owner_of_the_files_it_creates() {
        use std::os::unix::fs::MetadataExt as _;
        let file = tempfile::NamedTempFile::new().unwrap();
        let owner = fs_err::metadata(file.path()).unwrap().uid();
        assert_eq!(effective_uid(), Some(owner));
    }

    #[test]
    fn a_token_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        fs_err::write(&path, "atk_secret\n").unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            fs_err::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = read_token(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{err}");
            assert!(!err.contains("atk_secret"), "{err}");
        }
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(read_token(&path).is_ok());
    }
}
