//! `attest monitor`: the configured sources on a schedule, as a service.
//!
//! Each run scans every host source (recording the run, its results and its ledger entries,
//! which are the monitoring heartbeat), applies the findings lifecycle, compares what it saw
//! with the previous run of the target (drift: checks that began or stopped failing, new or
//! closed listening sockets, uid-0 accounts, sudo rules, interactive users), records drift in
//! the ledger and notifies. One monitor runs per store (a lock file); SIGTERM or SIGINT stop it
//! after the run in progress, so no run is lost or cut in half.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use attest_model::{Finding, Severity, Status};
use attest_store::Store as _;
use attest_workspace::Workspace;
use jiff::{SignedDuration, Timestamp};

use crate::args::{GlobalArgs, MonitorArgs};
use crate::commands::scan::{Scan, finding_lines, scan_host};
use crate::context::{load_workspace, open_store, store_dir};
use crate::exit::{ExitStatus, Failure};
use crate::printer;

/// Name of the lock file in the store folder.
const LOCK_FILE: &str = "monitor.lock";

/// Holds the store's monitor lock while alive (the operating system releases it when the
/// process ends, however it ends).
struct MonitorLock {
    _file: std::fs::File,
}

impl MonitorLock {
    fn acquire(store: &Path) -> anyhow::Result<Self> {
        fs_err::create_dir_all(store)?;
        let path = store.join(LOCK_FILE);
        let mut file = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?
            .into_parts()
            .0;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = fs_err::read_to_string(&path).unwrap_or_default();
                return Err(Failure::input(format!(
                    "another `attest monitor` is running on the store {} (process {}); one monitor per store",
                    store.display(),
                    holder.trim()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(
                    anyhow::Error::new(e).context(format!("cannot lock {}", path.display()))
                );
            }
        }
        file.set_len(0)?;
        write!(file, "{}", std::process::id())?;
        file.sync_all()?;
        Ok(MonitorLock { _file: file })
    }
}

/// When the next run is due.
enum Schedule {
    Every(SignedDuration),
    Cron(Box<croner::Cron>),
}

impl Schedule {
    fn of(args: &MonitorArgs, workspace: &Workspace) -> anyhow::Result<Self> {
        if let Some(interval) = args.interval {
            return Ok(Schedule::Every(interval));
        }
        match &workspace.monitoring.schedule {
            Some(expression) => {
                let cron: croner::Cron = expression.parse().map_err(|e| {
                    Failure::input(format!("invalid `monitoring.schedule` {expression}: {e}"))
                })?;
                Ok(Schedule::Cron(Box::new(cron)))
            }
            None => Ok(Schedule::Every(workspace.monitoring.interval)),
        }
    }

    /// The next run after a run that started at `started`.
    fn next(&self, started: Timestamp) -> Timestamp {
        match self {
            Schedule::Every(interval) => started.checked_add(*interval).unwrap_or(Timestamp::MAX),
            Schedule::Cron(cron) => {
                let now = chrono::Utc::now();
                cron.find_next_occurrence(&now, false)
                    .ok()
                    .and_then(|next| Timestamp::from_second(next.timestamp()).ok())
                    .unwrap_or(Timestamp::MAX)
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Schedule::Every(interval) => format!("every {interval:#}"),
            Schedule::Cron(cron) => format!("on the schedule `{}` (UTC)", cron.pattern),
        }
    }
}

/// What a drift snapshot holds, per category.
type Snapshot = BTreeMap<String, BTreeSet<String>>;

/// The parts of a run that drift is judged on. Categories whose facts are unknown are left
/// out, so unknown never reads as a change.
fn snapshot(scan: &Scan) -> Snapshot {
    let mut out = Snapshot::new();
    let facts = &scan.facts;
    let strings = |value: &serde_json::Value| -> Option<BTreeSet<String>> {
        value.as_array().map(|items| {
            items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect()
        })
    };
    if let Some(listening) = facts["network"]["listening"].as_array() {
        out.insert(
            "listening sockets".into(),
            listening
                .iter()
                .map(|s| {
                    format!(
                        "{} {}:{}",
                        s["protocol"].as_str().unwrap_or_default(),
                        s["address"].as_str().unwrap_or_default(),
                        s["port"]
                    )
                })
                .collect(),
        );
    }
    if let Some(uid0) = strings(&facts["accounts"]["uid0"]) {
        out.insert("uid-0 accounts".into(), uid0);
    }
    if let Some(users) = strings(&facts["accounts"]["interactive_users"]) {
        out.insert("interactive users".into(), users);
    }
    if let Some(rules) = facts["accounts"]["sudo_rules"].as_array() {
        out.insert(
            "sudo rules".into(),
            rules
                .iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r["principal"].as_str().unwrap_or_default(),
                        r["rule"].as_str().unwrap_or_default()
                    )
                })
                .collect(),
        );
    }
    out.insert(
        "failing checks".into(),
        scan.report
            .results
            .iter()
            .filter(|r| r.status == Status::Fail)
            .map(|r| format!("{} on {}", r.check, r.resource))
            .collect(),
    );
    out
}

/// What changed between two snapshots: (category, added, removed), for changed categories.
fn drift(before: &Snapshot, after: &Snapshot) -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut changes = Vec::new();
    for (category, now) in after {
        let Some(then) = before.get(category) else {
            continue;
        };
        let added: Vec<String> = now.difference(then).cloned().collect();
        let removed: Vec<String> = then.difference(now).cloned().collect();
        if !added.is_empty() || !removed.is_empty() {
            changes.push((category.clone(), added, removed));
        }
    }
    changes
}

/// Where the previous snapshot of `target` is kept.
fn snapshot_path(store: &Path, target: &str) -> PathBuf {
    let safe: String = target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    store.join("monitor").join(format!("{safe}.json"))
}

fn load_snapshot(path: &Path) -> Option<Snapshot> {
    let text = fs_err::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn save_snapshot(path: &Path, snapshot: &Snapshot) -> anyhow::Result<()> {
    save_json(path, snapshot)
}

/// Something that happened in a run worth telling people about.
pub(crate) struct Event {
    pub(crate) kind: &'static str,
    pub(crate) title: String,
    pub(crate) summary: String,
    pub(crate) severity: Severity,
    pub(crate) details: serde_json::Value,
}

fn finding_event(finding: &Finding, event: &str) -> Option<Event> {
    let kind = match event {
        "opened" => "finding.opened",
        "fixed" => "finding.fixed",
        "recurred" => "finding.recurred",
        _ => return None,
    };
    Some(Event {
        kind,
        title: format!("Finding {} {event}: {}", finding.id, finding.title),
        summary: format!(
            "{} ({} severity, owner {}, due {}); failing: {}{}",
            finding.title,
            finding.severity,
            finding.owner,
            finding.due_at.strftime("%Y-%m-%d"),
            finding.resources.join(", "),
            if finding.resources_omitted > 0 {
                format!(" and {} more", finding.resources_omitted)
            } else {
                String::new()
            }
        ),
        severity: finding.severity,
        details: serde_json::json!({
            "finding": finding.id,
            "controls": finding.controls,
            "status": finding.status,
            "resources": finding.resources,
            "resources_omitted": finding.resources_omitted,
        }),
    })
}

/// What a run did, with the workspace and store it used.
struct RunDone {
    events: Vec<Event>,
    workspace: Workspace,
    store: attest_store_sqlite::SqliteStore,
}

/// One run over every root (there is at least one); returns what happened.
fn run_once(global: &GlobalArgs, roots: &[PathBuf], store_path: &Path) -> anyhow::Result<RunDone> {
    let mut events = Vec::new();
    let mut used = None;
    for root in roots {
        let (workspace, _engine, scan) = scan_host(global, root)?;
        let target = scan.report.target.clone();
        printer::note(&format!(
            "{} — {target}: recorded as run {}: {} results, {} changed, {} unchanged{}",
            scan.report.observed_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            scan.outcome.run_id,
            scan.report.results.len(),
            scan.outcome.opened,
            scan.outcome.extended,
            if scan.outcome.resumed > 0 {
                format!(", {} after a gap in monitoring", scan.outcome.resumed)
            } else {
                String::new()
            }
        ));
        for line in finding_lines(&scan.findings) {
            printer::note(&format!("  {line}"));
        }
        events.extend(
            scan.findings
                .iter()
                .filter_map(|(f, e)| finding_event(f, e)),
        );
        // Drift against the previous run of this target.
        let path = snapshot_path(store_path, &target);
        let now = snapshot(&scan);
        if let Some(before) = load_snapshot(&path) {
            let changes = drift(&before, &now);
            if !changes.is_empty() {
                let store = &scan.store;
                let by_category: serde_json::Map<String, serde_json::Value> = changes
                    .iter()
                    .map(|(category, added, removed)| {
                        (
                            category.clone(),
                            serde_json::json!({ "added": added, "removed": removed }),
                        )
                    })
                    .collect();
                let seq = store.append_event(
                    scan.report.observed_at,
                    "drift.detected",
                    &serde_json::json!({
                        "target": target,
                        "run": scan.outcome.run_id,
                        "changes": by_category,
                    }),
                )?;
                let lines: Vec<String> = changes
                    .iter()
                    .map(|(category, added, removed)| {
                        let mut parts = Vec::new();
                        if !added.is_empty() {
                            parts.push(format!("new: {}", added.join(", ")));
                        }
                        if !removed.is_empty() {
                            parts.push(format!("gone: {}", removed.join(", ")));
                        }
                        format!("{category} — {}", parts.join("; "))
                    })
                    .collect();
                for line in &lines {
                    printer::note(&format!("  drift on {target}: {line} (ledger entry {seq})"));
                }
                let severity = if changes
                    .iter()
                    .any(|(c, added, _)| !added.is_empty() && c != "listening sockets")
                {
                    Severity::High
                } else {
                    Severity::Medium
                };
                events.push(Event {
                    kind: "drift",
                    title: format!("Drift on {target}"),
                    summary: lines.join("\n"),
                    severity,
                    details: serde_json::json!({ "target": target, "changes": by_category, "ledger_entry": seq }),
                });
            }
        }
        save_snapshot(&path, &now)?;
        used = Some((workspace, scan.store));
    }
    let Some((workspace, store)) = used else {
        return Err(Failure::input("nothing to monitor"));
    };
    events.extend(newly_overdue(&store, store_path)?);
    Ok(RunDone {
        events,
        workspace,
        store,
    })
}

/// Findings that became overdue since the last run: each is announced once.
fn newly_overdue(
    store: &attest_store_sqlite::SqliteStore,
    store_path: &Path,
) -> anyhow::Result<Vec<Event>> {
    let now = Timestamp::now();
    let path = store_path.join("monitor").join("overdue-notified.json");
    let mut notified: BTreeSet<i64> = fs_err::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    let overdue: Vec<Finding> = store
        .findings()?
        .into_iter()
        .filter(|f| f.is_overdue(now))
        .collect();
    let mut events = Vec::new();
    for finding in &overdue {
        if notified.insert(finding.id) {
            events.push(Event {
                kind: "finding.overdue",
                title: format!("Finding {} is overdue: {}", finding.id, finding.title),
                summary: format!(
                    "{} ({} severity, owner {}) was due {} and is still {}",
                    finding.title,
                    finding.severity,
                    finding.owner,
                    finding.due_at.strftime("%Y-%m-%d"),
                    finding.status
                ),
                severity: finding.severity,
                details: serde_json::json!({ "finding": finding.id, "controls": finding.controls }),
            });
        }
    }
    // Forget findings no longer overdue, so a finding overdue again is announced again.
    notified.retain(|id| overdue.iter().any(|f| f.id == *id));
    save_json(&path, &notified)?;
    Ok(events)
}

fn save_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir)?;
    crate::commands::report::write_atomically(path, serde_json::to_string(value)?.as_bytes())
}

/// The roots to scan: `--root`, else every enabled host source of the workspace.
fn roots(args: &MonitorArgs, workspace: &Workspace) -> anyhow::Result<Vec<PathBuf>> {
    if let Some(root) = &args.root {
        return Ok(vec![root.clone()]);
    }
    let roots: Vec<PathBuf> = workspace
        .sources
        .iter()
        .filter(|s| s.kind == "host")
        .map(|s| PathBuf::from(s.path.clone().unwrap_or_else(|| "/".to_owned())))
        .collect();
    if roots.is_empty() {
        return Err(Failure::input(
            "nothing to monitor: add a `[[source]] kind = \"host\"` to attest.toml or pass --root",
        ));
    }
    Ok(roots)
}

pub(crate) fn run(global: &GlobalArgs, args: &MonitorArgs) -> anyhow::Result<ExitStatus> {
    let workspace = load_workspace(global)?;
    let store_path = store_dir(global, &workspace)?;
    let _lock = MonitorLock::acquire(&store_path)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot watch for SIGTERM and SIGINT")?;
    }
    let schedule = Schedule::of(args, &workspace)?;
    let roots = roots(args, &workspace)?;
    if !args.once {
        printer::note(&format!(
            "Monitoring {} {} (store {}); SIGTERM or Ctrl-C stops after the run in progress.",
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            schedule.describe(),
            store_path.display()
        ));
    }
    loop {
        let started = Timestamp::now();
        match run_once(global, &roots, &store_path) {
            Ok(done) => {
                crate::commands::notify_hook::send(&done.workspace, &done.store, &done.events);
            }
            Err(err) => {
                printer::print_error(&err);
                record_failure(global, &err)?;
                if args.once {
                    return Ok(ExitStatus::Error);
                }
            }
        }
        if args.once || stop.load(Ordering::SeqCst) {
            break;
        }
        let next = schedule.next(started);
        while Timestamp::now() < next {
            if stop.load(Ordering::SeqCst) {
                printer::note("Stopped.");
                return Ok(ExitStatus::Success);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    if stop.load(Ordering::SeqCst) {
        printer::note("Stopped.");
    }
    Ok(ExitStatus::Success)
}

/// Records a failed run in the ledger (the silence it leaves also shows as a gap).
fn record_failure(global: &GlobalArgs, err: &anyhow::Error) -> anyhow::Result<()> {
    let workspace = load_workspace(global)?;
    let store = open_store(global, &workspace)?;
    store.append_event(
        Timestamp::now(),
        "monitor.failed",
        &serde_json::json!({ "error": format!("{err:#}") }),
    )?;
    crate::commands::notify_hook::send(
        &workspace,
        &store,
        &[Event {
            kind: "monitor.failed",
            title: "A monitoring run failed".into(),
            summary: format!("{err:#}"),
            severity: Severity::High,
            details: serde_json::json!({}),
        }],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(pairs: &[(&str, &[&str])]) -> Snapshot {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect()
    }

    #[test]
    fn drift_names_what_was_added_and_removed_and_ignores_unknown_categories() {
        let before = snap(&[
            ("uid-0 accounts", &["root"]),
            ("listening sockets", &["tcp 0.0.0.0:22"]),
        ]);
        let after = snap(&[
            ("uid-0 accounts", &["root", "toor"]),
            ("listening sockets", &["tcp 0.0.0.0:22"]),
            ("sudo rules", &["deploy ALL=(ALL) NOPASSWD: ALL"]),
        ]);
        assert_eq!(
            drift(&before, &after),
            vec![("uid-0 accounts".to_owned(), vec!["toor".to_owned()], vec![])]
        );
        assert!(drift(&after, &after).is_empty());
    }
}
