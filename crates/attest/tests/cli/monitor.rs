//! `attest monitor` as a service: runs on its schedule, one per store, stops cleanly on
//! SIGTERM, loses nothing acknowledged when killed, and detects drift.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::scan::fixture_root;
use crate::{Sandbox, stderr};

/// `attest monitor ARGS` started in the background, its standard error read line by line.
struct Monitor {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Monitor {
    fn start(sandbox: &Sandbox, args: &[&str]) -> Self {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("attest"))
            .current_dir(sandbox.path())
            .env("HOME", sandbox.path().join("home"))
            .env_remove("ATTEST_STORE")
            .env_remove("ATTEST_WORKSPACE")
            .arg("monitor")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Monitor { child, lines }
    }

    /// Waits for the next line containing `text`; returns it.
    fn wait_for(&self, text: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no line with `{text}` within a minute"));
            if line.contains(text) {
                return line;
            }
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// The run id in a `recorded as run N:` line.
fn run_id(line: &str) -> i64 {
    line.split("recorded as run ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

fn runs_in_store(sandbox: &Sandbox) -> Vec<i64> {
    let db = rusqlite::Connection::open(sandbox.path().join(".attest/attest.db")).unwrap();
    let mut stmt = db.prepare("SELECT id FROM runs ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn the_monitor_runs_on_its_schedule_and_stops_cleanly_on_sigterm() {
    let sandbox = Sandbox::with_workspace();
    let root = fixture_root(&sandbox, "weak", &[]);
    let mut monitor = Monitor::start(
        &sandbox,
        &["--interval", "1s", "--root", root.to_str().unwrap()],
    );
    let first = run_id(&monitor.wait_for("recorded as run"));
    let second = run_id(&monitor.wait_for("recorded as run"));
    let third = run_id(&monitor.wait_for("recorded as run"));
    assert!(first < second && second < third);
    // A second monitor on the same store is refused while the first runs.
    let refused = sandbox
        .attest(&["monitor", "--once", "--root", root.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("another `attest monitor` is running on the store"),
        "{}",
        stderr(&refused)
    );
    monitor.signal("TERM");
    monitor.wait_for("Stopped.");
    let status = monitor.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let runs = runs_in_store(&sandbox);
    assert!(runs.contains(&third));
    sandbox.assert_verifies();
    // Once stopped, the lock is free again.
    sandbox
        .attest(&["monitor", "--once", "--root", root.to_str().unwrap()])
        .assert()
        .success();
}

#[test]
fn a_monitor_killed_mid_run_restarts_without_losing_acknowledged_runs() {
    let sandbox = Sandbox::with_workspace();
    let root = fixture_root(&sandbox, "weak", &[]);
    let root = root.to_str().unwrap();
    let mut acknowledged = Vec::new();
    for round in 0..6_u64 {
        let mut monitor = Monitor::start(&sandbox, &["--interval", "1s", "--root", root]);
        acknowledged.push(run_id(&monitor.wait_for("recorded as run")));
        // Kill it at a different point of its next run each round.
        std::thread::sleep(Duration::from_millis(900 + round * 37));
        monitor.signal("KILL");
        let _ = monitor.child.wait();
        while let Ok(line) = monitor.lines.try_recv() {
            if line.contains("recorded as run") {
                acknowledged.push(run_id(&line));
            }
        }
    }
    // It restarts on the same store (the lock died with the process) and the store is whole.
    sandbox
        .attest(&["monitor", "--once", "--root", root])
        .assert()
        .success();
    let verify = sandbox.attest(&["verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", stderr(&verify));
    let runs = runs_in_store(&sandbox);
    for id in &acknowledged {
        assert!(runs.contains(id), "acknowledged run {id} was lost");
    }
}

#[test]
fn drift_between_runs_is_recorded_and_reported() {
    let sandbox = Sandbox::with_workspace();
    let root = fixture_root(&sandbox, "weak", &[]);
    let root_arg = root.to_str().unwrap();
    sandbox
        .attest(&["monitor", "--once", "--root", root_arg])
        .assert()
        .success();
    // A new uid-0 account and a new sudo rule appear.
    let passwd = root.join("etc/passwd");
    let mut text = fs_err::read_to_string(&passwd).unwrap();
    text.push_str("backdoor:x:0:0::/root:/bin/bash\n");
    fs_err::write(&passwd, text).unwrap();
    fs_err::write(
        root.join("etc/sudoers.d/ops"),
        "ops ALL=(ALL) NOPASSWD: ALL\n",
    )
    .unwrap();
    let output = sandbox
        .attest(&["monitor", "--once", "--root", root_arg])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("uid-0 accounts — new: backdoor"), "{text}");
    assert!(
        text.contains("sudo rules — new: ops ALL=(ALL) NOPASSWD: ALL"),
        "{text}"
    );
    // Nothing changed since: no drift.
    let again = sandbox
        .attest(&["monitor", "--once", "--root", root_arg])
        .output()
        .unwrap();
    assert!(!stderr(&again).contains("drift on"), "{}", stderr(&again));
    let db = rusqlite::Connection::open(sandbox.path().join(".attest/attest.db")).unwrap();
    let drifts: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM ledger l JOIN ledger_kinds k ON k.id = l.kind_id WHERE k.name = 'drift.detected'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(drifts, 1);
    let bad = sandbox
        .attest(&["monitor", "--interval", "0s"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn the_monitor_notifies_findings_drift_and_overdue_findings_and_records_each_delivery() {
    use attest_notify::testing::WebhookServer;
    let server = WebhookServer::start(&[]).unwrap();
    let sandbox = Sandbox::with_workspace();
    let mut config = fs_err::read_to_string(sandbox.path().join("attest.toml")).unwrap();
    config.push_str(
        "\n[[notify]]\nname = \"soc\"\nkind = \"webhook\"\nurl_env = \"ATTEST_TEST_HOOK\"\nmin_severity = \"high\"\n",
    );
    sandbox.write("attest.toml", &config);
    let secret = server.url("/hooks/SECRETtoken1234567");
    let root = fixture_root(&sandbox, "weak", &[]);
    let root_arg = root.to_str().unwrap();
    let once = || {
        let output = sandbox
            .attest(&["monitor", "--once", "--root", root_arg])
            .env("ATTEST_TEST_HOOK", &secret)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(
            !stderr(&output).contains("SECRETtoken"),
            "the webhook URL was printed"
        );
        stderr(&output)
    };
    let first = once();
    assert!(
        first.contains("notified soc of finding.opened: delivered"),
        "{first}"
    );
    // A manual finding already past its due date is announced once.
    let controls = sandbox.json(&["controls", "list", "--format", "json"]);
    sandbox
        .attest(&[
            "findings",
            "open",
            "--title",
            "late review",
            "--control",
            controls[0]["id"].as_str().unwrap(),
            "--severity",
            "high",
            "--due",
            "2026-01-01",
        ])
        .assert()
        .success();
    let passwd = root.join("etc/passwd");
    let mut text = fs_err::read_to_string(&passwd).unwrap();
    text.push_str("backdoor:x:0:0::/root:/bin/bash\n");
    fs_err::write(&passwd, text).unwrap();
    let second = once();
    assert!(
        second.contains("notified soc of drift: delivered"),
        "{second}"
    );
    assert!(
        second.contains("notified soc of finding.overdue: delivered"),
        "{second}"
    );
    let third = once();
    assert!(
        !third.contains("finding.overdue"),
        "announced once: {third}"
    );
    let bodies: Vec<serde_json::Value> = server
        .requests()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let events: Vec<&str> = bodies
        .iter()
        .map(|b| b["event"].as_str().unwrap())
        .collect();
    assert!(
        events.contains(&"finding.opened") && events.contains(&"drift"),
        "{events:?}"
    );
    assert!(
        bodies
            .iter()
            .all(|b| b["severity"] == "high" || b["severity"] == "critical")
    );
    // Every delivery is in the ledger, without the secret.
    let db = rusqlite::Connection::open(sandbox.path().join(".attest/attest.db")).unwrap();
    let payloads: Vec<String> = db
        .prepare("SELECT l.payload FROM ledger l JOIN ledger_kinds k ON k.id = l.kind_id WHERE k.name = 'notification.delivered'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(payloads.len(), server.requests().len());
    assert!(
        payloads
            .iter()
            .all(|p| !p.contains("SECRETtoken") && p.contains("127.0.0.1"))
    );
    sandbox.assert_verifies();
}
