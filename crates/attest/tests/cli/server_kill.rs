//! `attest serve` killed with SIGKILL while agents push reports, then restarted on the same
//! store: every report the server acknowledged is still recorded, as the run it was
//! acknowledged as, and the ledger verifies. Agents here send a report again after a
//! connection error or a 5xx, as `attest agent` does, so the restart is transparent to them.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Sandbox;
use crate::server::{Server, free_port};

const HOSTS: usize = 6;
/// Reports acknowledged before the kill, and again after the restart, before stopping.
const ACKS_PER_PHASE: usize = 60;
const CHECKS: [&str; 4] = [
    "host.ssh.root_login_disabled",
    "host.ssh.password_authentication_disabled",
    "host.ssh.empty_passwords_refused",
    "host.ssh.max_auth_tries",
];

#[derive(Debug, Clone)]
struct Ack {
    host: String,
    token: String,
    report_id: String,
    observed_at: i64,
    run_id: i64,
}

/// A report of `host` observed at `second`, with statuses that change with it.
fn report(host: &str, report_id: &str, second: i64) -> String {
    let observed_at = jiff::Timestamp::from_second(second).unwrap();
    let results: Vec<serde_json::Value> = CHECKS
        .iter()
        .enumerate()
        .map(|(i, check)| {
            let fail = (second + i64::try_from(i).unwrap()) % 7 == 0;
            serde_json::json!({
                "check": check,
                "resource": "/etc/ssh/sshd_config",
                "status": if fail { "fail" } else { "pass" },
                "severity": "high",
                "message": "as configured",
            })
        })
        .collect();
    serde_json::json!({
        "schema_version": 1,
        "report_id": report_id,
        "host": host,
        "observed_at": observed_at.to_string(),
        "agent_version": "test",
        "results": results,
    })
    .to_string()
}

/// Posts `body` once: `Some((status, run_id, duplicate))`, or `None` on a connection error.
fn post(agent: &ureq::Agent, url: &str, token: &str, body: &str) -> Option<(u16, i64, bool)> {
    let mut response = agent
        .post(&format!("{url}/api/v1/reports"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body)
        .ok()?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    Some((
        status,
        json["run_id"].as_i64().unwrap_or(-1),
        json["duplicate"].as_bool().unwrap_or(false),
    ))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

#[test]
fn no_acknowledged_report_is_lost_when_the_server_is_killed_and_restarted() {
    let sandbox = Sandbox::with_workspace();
    let tokens: Vec<(String, String)> = (0..HOSTS)
        .map(|i| {
            let host = format!("web-{i}");
            let output = sandbox.attest(&["hosts", "add", &host]).output().unwrap();
            assert!(output.status.success(), "{output:?}");
            let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
            assert!(token.starts_with("atk_"), "{token}");
            (host, token)
        })
        .collect();
    let port = free_port();
    let server = Server::start(&sandbox, port);
    let url = server.url.clone();

    let acks = Arc::new(Mutex::new(Vec::<Ack>::new()));
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = jiff::Timestamp::now().as_second();
    let agents: Vec<_> = tokens
        .iter()
        .cloned()
        .map(|(host, token)| {
            let (acks, acked, stop) = (Arc::clone(&acks), Arc::clone(&acked), Arc::clone(&stop));
            let url = url.clone();
            std::thread::spawn(move || {
                let client = agent();
                let mut refused = Vec::new();
                let mut second = start;
                while !stop.load(Ordering::Relaxed) {
                    second += 1;
                    let report_id = format!("{host}-{second}");
                    let body = report(&host, &report_id, second);
                    // Like an agent's spool: the same report until the server has it.
                    loop {
                        match post(&client, &url, &token, &body) {
                            Some((status @ (200 | 201), run_id, duplicate)) => {
                                assert_eq!(duplicate, status == 200);
                                acks.lock().unwrap().push(Ack {
                                    host: host.clone(),
                                    token: token.clone(),
                                    report_id,
                                    observed_at: second,
                                    run_id,
                                });
                                acked.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            None | Some((429 | 500..=599, _, _)) => {
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            Some((status, _, _)) => {
                                refused.push((report_id, status));
                                break;
                            }
                        }
                    }
                }
                refused
            })
        })
        .collect();

    let wait_for = |count: usize| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.load(Ordering::Relaxed) < count {
            assert!(Instant::now() < deadline, "the agents stalled");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_for(ACKS_PER_PHASE);
    server.kill();
    let at_kill = acked.load(Ordering::Relaxed);
    let server = Server::start(&sandbox, port);
    wait_for(at_kill + ACKS_PER_PHASE);
    stop.store(true, Ordering::Relaxed);
    for agent in agents {
        assert_eq!(agent.join().unwrap(), Vec::new(), "reports refused");
    }

    // Every acknowledged report is recorded as the run it was acknowledged as: sent again,
    // it is answered as a duplicate of that run.
    let acks = acks.lock().unwrap().clone();
    assert!(acks.len() >= 2 * ACKS_PER_PHASE);
    let client = agent();
    for ack in &acks {
        let body = report(&ack.host, &ack.report_id, ack.observed_at);
        let answer = post(&client, &url, &ack.token, &body);
        assert_eq!(
            answer,
            Some((200, ack.run_id, true)),
            "{} {} (run {})",
            ack.host,
            ack.report_id,
            ack.run_id
        );
    }
    server.kill();

    let output = sandbox.attest(&["verify"]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
}
