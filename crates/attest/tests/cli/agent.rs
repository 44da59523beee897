//! `attest agent` against a real HTTP server on 127.0.0.1 that plays the Attest server's side
//! of the wire contract: reports reach it with the token and a valid body, wait in the spool
//! in order while it is down or busy and are then delivered once each, rejected ones are set
//! aside with the server's reason, a token file others can read is refused, and the token
//! never appears in the logs; over HTTPS the agent trusts the CA file it is given.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use attest_model::AgentReport;

use crate::scan::fixture_root;
use crate::{Sandbox, stderr};

const TOKEN: &str = "atk_5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7";
/// The random part of the token: it must not appear either.
const TOKEN_HEX: &str = "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7";
/// The host name of the `hardened` fixture.
const HOST: &str = "web-1";

/// One request the server received, and how it answered.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: String,
    status: u16,
}

struct State {
    /// Answers forced, in order, on requests that are otherwise acceptable.
    script: VecDeque<(u16, &'static str)>,
    received: Vec<Received>,
    /// Reports recorded, in the order recorded.
    recorded: Vec<AgentReport>,
}

/// The server's side of `POST /api/v1/reports`, on a real listener.
struct FakeServer {
    server: Arc<tiny_http::Server>,
    port: u16,
    state: Arc<Mutex<State>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeServer {
    /// Listens on `port` (0: any free one); forces `script` on the first acceptable requests.
    fn start(port: u16, script: &[(u16, &'static str)]) -> Self {
        let server = Arc::new(tiny_http::Server::http(("127.0.0.1", port)).unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            script: script.iter().copied().collect(),
            received: Vec::new(),
            recorded: Vec::new(),
        }));
        let (listener, shared) = (Arc::clone(&server), Arc::clone(&state));
        let thread = std::thread::spawn(move || {
            for mut request in listener.incoming_requests() {
                let mut body = String::new();
                request.as_reader().read_to_string(&mut body).unwrap();
                let header = |name: &'static str| {
                    request
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv(name))
                        .map(|h| h.value.to_string())
                };
                let mut received = Received {
                    method: request.method().to_string(),
                    path: request.url().to_owned(),
                    authorization: header("Authorization"),
                    content_type: header("Content-Type"),
                    body,
                    status: 0,
                };
                let mut state = shared.lock().unwrap();
                let (status, answer) = answer(&mut state, &received);
                received.status = status;
                state.received.push(received);
                drop(state);
                let mut response = tiny_http::Response::from_string(answer.to_string())
                    .with_status_code(status)
                    .with_header(
                        tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
                    );
                if status == 503 || status == 429 {
                    response.add_header(tiny_http::Header::from_bytes("Retry-After", "1").unwrap());
                }
                let _ = request.respond(response);
            }
        });
        FakeServer {
            server,
            port,
            state,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    fn recorded_ids(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .recorded
            .iter()
            .map(|r| r.report_id.clone())
            .collect()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn error(status: u16, code: &str, message: &str) -> (u16, serde_json::Value) {
    (
        status,
        serde_json::json!({ "error": { "code": code, "message": message } }),
    )
}

/// What the Attest server answers, per the contract.
fn answer(state: &mut State, request: &Received) -> (u16, serde_json::Value) {
    if request.method != "POST" || request.path != "/api/v1/reports" {
        return error(404, "not-found", "no such endpoint");
    }
    if request.authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return error(401, "unauthorized", "missing, unknown or revoked token");
    }
    if request.content_type.as_deref() != Some("application/json") {
        return error(415, "unsupported-media-type", "send application/json");
    }
    let report: AgentReport = match serde_json::from_str(&request.body) {
        Ok(report) => report,
        Err(e) => return error(400, "invalid-report", &e.to_string()),
    };
    if let Err(problem) = report.validate() {
        return error(400, "invalid-report", &problem.to_string());
    }
    if report.host != HOST {
        return error(403, "wrong-host", "the report names another host");
    }
    if let Some((status, code)) = state.script.pop_front() {
        let mut answer = error(status, code, "scripted answer");
        if code == "unknown-check" {
            answer.1["error"]["message"] = "no check `host.made_up`".into();
            answer.1["error"]["field"] = "results[3].check".into();
        }
        return answer;
    }
    if let Some(run) = state
        .recorded
        .iter()
        .position(|r| r.report_id == report.report_id)
    {
        return (
            200,
            serde_json::json!({ "report_id": report.report_id, "run_id": run + 1, "duplicate": true }),
        );
    }
    if state
        .recorded
        .last()
        .is_some_and(|last| last.observed_at > report.observed_at)
    {
        return error(409, "out-of-order", "older than the host's latest run");
    }
    state.recorded.push(report.clone());
    (
        201,
        serde_json::json!({ "report_id": report.report_id, "run_id": state.recorded.len(), "duplicate": false }),
    )
}

/// A port on 127.0.0.1 where nothing listens.
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A sandbox with the `hardened` host root and a private token file.
struct Host {
    sandbox: Sandbox,
    root: PathBuf,
    token_file: PathBuf,
}

impl Host {
    fn new() -> Self {
        let sandbox = Sandbox::new();
        let root = fixture_root(&sandbox, "hardened", &[]);
        let token_file = sandbox.write("etc/agent.token", &format!("{TOKEN}\n"));
        fs_err::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        Host {
            sandbox,
            root,
            token_file,
        }
    }

    fn spool(&self) -> PathBuf {
        self.sandbox.path().join("spool")
    }

    fn args(&self, url: &str) -> Vec<String> {
        [
            "agent",
            "--server",
            url,
            "--token-file",
            self.token_file.to_str().unwrap(),
            "--spool",
            self.spool().to_str().unwrap(),
            "--root",
            self.root.to_str().unwrap(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    /// `attest agent --once` against `url`.
    fn once(&self, url: &str) -> std::process::Output {
        self.once_with(url, &[])
    }

    /// `attest agent --once EXTRA` against `url`.
    fn once_with(&self, url: &str, extra: &[&str]) -> std::process::Output {
        let mut args = self.args(url);
        args.push("--once".into());
        let args: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
            .collect();
        self.sandbox.attest(&args).output().unwrap()
    }

    /// The report ids waiting in the spool, in spool order.
    fn spooled(&self) -> Vec<String> {
        report_files(&self.spool())
            .iter()
            .map(|p| {
                let report: AgentReport =
                    serde_json::from_str(&fs_err::read_to_string(p).unwrap()).unwrap();
                report.report_id
            })
            .collect()
    }
}

/// The report files in `dir`, by name.
fn report_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs_err::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// Every file under `dir`.
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in fs_err::read_dir(&path).unwrap() {
                pending.push(entry.unwrap().path());
            }
        } else {
            out.push(path);
        }
    }
    out
}

/// (check, resource, status, severity) of a list of results, sorted.
fn outcomes(results: &serde_json::Value) -> Vec<(String, String, String, String)> {
    let mut out: Vec<_> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let field = |name: &str| r[name].as_str().unwrap().to_owned();
            (
                field("check"),
                field("resource"),
                field("status"),
                field("severity"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_agent_pushes_what_a_scan_finds_with_its_token_and_keeps_no_store() {
    let host = Host::new();
    let server = FakeServer::start(0, &[]);
    let output = host.once(&server.url());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "the agent logs to stderr only");
    let received = server.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let request = &received[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/v1/reports");
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    assert_eq!(request.status, 201);
    let report: AgentReport = serde_json::from_str(&request.body).unwrap();
    assert_eq!(report.validate(), Ok(()));
    assert_eq!(report.schema_version, 1);
    assert_eq!(report.host, HOST);
    assert_eq!(report.agent_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(report.report_id.len(), 32);
    assert!(report.report_id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(
        (jiff::Timestamp::now() - report.observed_at)
            .get_seconds()
            .abs()
            < 600,
        "{}",
        report.observed_at
    );
    assert!(report.results.len() > 50, "{}", report.results.len());
    assert!(report.results.iter().all(|r| r.check.starts_with("host.")));
    // Delivered reports leave the spool; the agent made no store, ledger or key.
    assert!(host.spooled().is_empty());
    let files = all_files(host.sandbox.path());
    assert!(
        !files.iter().any(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("attest.db") || name == "ledger.key"
        }),
        "{files:?}"
    );
    // The same results as `attest scan` of the same root.
    let scan = host.sandbox.json(&[
        "scan",
        "--root",
        host.root.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let pushed = serde_json::to_value(&report.results).unwrap();
    assert_eq!(outcomes(&pushed), outcomes(&scan["results"]));
    // A second run is a new report with a new id.
    let again = host.once(&server.url());
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let ids = server.recorded_ids();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn reports_wait_in_order_while_the_server_is_down_and_are_all_delivered_once_it_is_up() {
    let host = Host::new();
    let port = dead_port();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..3 {
        let output = host.once(&url);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("not delivered"),
            "{}",
            stderr(&output)
        );
    }
    let waiting = host.spooled();
    assert_eq!(waiting.len(), 3);
    // The spool's order is the order the reports were made in.
    let times: Vec<jiff::Timestamp> = report_files(&host.spool())
        .iter()
        .map(|p| {
            serde_json::from_str::<AgentReport>(&fs_err::read_to_string(p).unwrap())
                .unwrap()
                .observed_at
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    let server = FakeServer::start(port, &[]);
    let output = host.once(&server.url());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let recorded = server.recorded_ids();
    assert_eq!(recorded.len(), 4, "{recorded:?}");
    assert_eq!(recorded[..3], waiting[..]);
    // None was sent twice, and the server refused none as out of order.
    let received = server.received();
    assert_eq!(received.len(), 4);
    assert!(received.iter().all(|r| r.status == 201), "{received:?}");
    assert!(host.spooled().is_empty());
}

#[test]
fn a_full_spool_keeps_the_oldest_reports_and_says_that_the_new_one_was_not_kept() {
    let host = Host::new();
    let port = dead_port();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..2 {
        assert_eq!(
            host.once_with(&url, &["--spool-max", "2"]).status.code(),
            Some(1)
        );
    }
    let oldest = host.spooled();
    let output = host.once_with(&url, &["--spool-max", "2"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is full (2 reports wait for the server)"),
        "{}",
        stderr(&output)
    );
    assert_eq!(host.spooled(), oldest);
    // Once the server is back, the waiting reports make room for the new run's, first.
    let server = FakeServer::start(port, &[]);
    let output = host.once_with(&server.url(), &["--spool-max", "2"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let recorded = server.recorded_ids();
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[..2], oldest[..]);
    assert!(host.spooled().is_empty());
}

#[test]
fn reports_the_server_rejects_are_set_aside_with_its_reason_and_the_rest_go_on() {
    let host = Host::new();
    let url = format!("http://127.0.0.1:{}", dead_port());
    for _ in 0..3 {
        assert_eq!(host.once(&url).status.code(), Some(1));
    }
    let waiting = host.spooled();
    let server = FakeServer::start(0, &[(422, "unknown-check"), (400, "invalid-report")]);
    let output = host.once(&server.url());
    // Not everything was delivered: exit 1.
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let log = stderr(&output);
    assert!(log.contains("the server rejected the report"), "{log}");
    assert!(log.contains("unknown-check"), "{log}");
    let rejected = report_files(&host.spool().join("rejected"));
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    for (file, id) in rejected.iter().zip(&waiting) {
        assert!(file.to_string_lossy().ends_with(&format!("-{id}.json")));
    }
    let reason = fs_err::read_to_string(rejected[0].with_extension("error")).unwrap();
    assert!(
        reason.starts_with(
            "HTTP 422 Unprocessable Entity: unknown-check: no check `host.made_up` (field `results[3].check`)"
        ),
        "{reason}"
    );
    assert!(reason.contains(r#""code":"unknown-check""#), "{reason}");
    let reason = fs_err::read_to_string(rejected[1].with_extension("error")).unwrap();
    assert!(
        reason.starts_with("HTTP 400 Bad Request: invalid-report"),
        "{reason}"
    );
    // The third waiting report and this run's went on, in order.
    let recorded = server.recorded_ids();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0], waiting[2]);
    assert!(host.spooled().is_empty());
    // The next round has nothing left over: exit 0; the rejected reports stay set aside.
    assert_eq!(host.once(&server.url()).status.code(), Some(0));
    assert_eq!(report_files(&host.spool().join("rejected")).len(), 2);
}

#[test]
fn a_busy_server_keeps_the_report_spooled_for_the_next_round() {
    let host = Host::new();
    let server = FakeServer::start(0, &[(503, "busy")]);
    let output = host.once(&server.url());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("HTTP 503"), "{}", stderr(&output));
    let waiting = host.spooled();
    assert_eq!(waiting.len(), 1);
    assert!(report_files(&host.spool().join("rejected")).is_empty());
    let output = host.once(&server.url());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let recorded = server.recorded_ids();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0], waiting[0]);
    // Sent twice (503, then 201), recorded once.
    let statuses: Vec<u16> = server.received().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 201, 201]);
    assert!(host.spooled().is_empty());
}

/// `attest agent` running in the background, its standard error read line by line.
struct Running {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    log: Arc<Mutex<String>>,
}

impl Running {
    fn start(host: &Host, url: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("attest"))
            .current_dir(host.sandbox.path())
            .env("HOME", host.sandbox.path().join("home"))
            .env("NO_COLOR", "1")
            .env_remove("ATTEST_LOG")
            .env_remove("ATTEST_WORKSPACE")
            .args(host.args(url))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let log = Arc::new(Mutex::new(String::new()));
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut all = kept.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
                drop(all);
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines, log }
    }

    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => {}
                Err(err) => panic!(
                    "no line with `{text}` within a minute ({err}):\n{}",
                    self.log.lock().unwrap()
                ),
            }
        }
    }
}

#[test]
fn a_running_agent_retries_with_back_off_and_stops_cleanly_on_sigterm() {
    let host = Host::new();
    let server = FakeServer::start(0, &[(503, "busy"), (429, "busy"), (503, "busy")]);
    let mut agent = Running::start(&host, &server.url(), &["--interval", "1s"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.recorded_ids().len() < 3 {
        assert!(
            Instant::now() < deadline,
            "not delivered within a minute:\n{}",
            agent.log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // One agent per spool.
    let second = host.once(&server.url());
    assert_eq!(second.status.code(), Some(2));
    assert!(
        stderr(&second).contains("another `attest agent` is using the spool"),
        "{}",
        stderr(&second)
    );
    let status = Command::new("kill")
        .args(["-TERM", &agent.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    agent.wait_for("agent stopped");
    let status = agent.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let log = agent.log.lock().unwrap().clone();
    assert!(log.contains("next attempt in"), "{log}");
    // Every report made was recorded once, in order, or still waits; none was lost.
    let recorded = server.recorded_ids();
    let mut unique = recorded.clone();
    unique.dedup();
    assert_eq!(unique, recorded);
    let received = server.received();
    assert_eq!(
        received
            .iter()
            .take(3)
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        [503, 429, 503]
    );
    let first: AgentReport = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(
        recorded[0], first.report_id,
        "the report that met 503 went first"
    );
    let waiting = host.spooled();
    for r in &received {
        let report: AgentReport = serde_json::from_str(&r.body).unwrap();
        assert!(
            recorded.contains(&report.report_id) || waiting.contains(&report.report_id),
            "{} was lost",
            report.report_id
        );
    }
    assert!(received.iter().all(|r| r.status != 409), "{received:?}");
}

#[test]
fn a_token_file_others_can_read_is_refused_before_anything_is_sent() {
    let host = Host::new();
    let server = FakeServer::start(0, &[]);
    for mode in [0o644, 0o640] {
        fs_err::set_permissions(&host.token_file, std::fs::Permissions::from_mode(mode)).unwrap();
        let output = host.once(&server.url());
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        let log = stderr(&output);
        assert!(
            log.contains(&format!("(mode {mode:04o})")) && log.contains("chmod 600"),
            "{log}"
        );
        assert!(!log.contains(TOKEN_HEX), "{log}");
    }
    fs_err::set_permissions(&host.token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    fs_err::write(&host.token_file, " \n").unwrap();
    let output = host.once(&server.url());
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("is empty"), "{}", stderr(&output));
    fs_err::remove_file(&host.token_file).unwrap();
    let output = host.once(&server.url());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read the token file"),
        "{}",
        stderr(&output)
    );
    assert!(server.received().is_empty());
    assert!(!host.spool().exists(), "nothing was collected");
}

#[test]
fn the_token_never_appears_in_logs_or_files_whatever_the_server_answers() {
    let host = Host::new();
    let server = FakeServer::start(0, &[(503, "busy"), (422, "unknown-check")]);
    let mut log = String::new();
    for _ in 0..3 {
        let output = host
            .sandbox
            .attest(
                &host
                    .args(&server.url())
                    .iter()
                    .map(String::as_str)
                    .chain(["--once"])
                    .collect::<Vec<_>>(),
            )
            .env("ATTEST_LOG", "trace")
            .output()
            .unwrap();
        log.push_str(&stderr(&output));
        log.push_str(&String::from_utf8_lossy(&output.stdout));
    }
    // A token the server does not know: 401.
    let other = "atk_0000000000000000000000000000000000000000000000000000000000000bad";
    fs_err::write(&host.token_file, other).unwrap();
    let output = host
        .sandbox
        .attest(
            &host
                .args(&server.url())
                .iter()
                .map(String::as_str)
                .chain(["--once"])
                .collect::<Vec<_>>(),
        )
        .env("ATTEST_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    log.push_str(&stderr(&output));
    // The log is detailed (the HTTP client's own request lines are in it) and names every
    // outcome, but not the token.
    for expected in [
        "attest-agent/",
        "HTTP 503",
        "unknown-check",
        "HTTP 401",
        "does not accept the token",
    ] {
        assert!(log.contains(expected), "missing `{expected}` in:\n{log}");
    }
    assert!(!log.contains(TOKEN_HEX), "the token was logged:\n{log}");
    assert!(!log.contains(&other[4..]), "the token was logged:\n{log}");
    // The server did get the token, and the 401 report still waits.
    let received = server.received();
    assert!(
        received
            .iter()
            .any(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );
    assert_eq!(received.last().unwrap().status, 401);
    assert_eq!(host.spooled().len(), 1);
    for file in all_files(&host.spool()) {
        let text = fs_err::read_to_string(&file).unwrap();
        assert!(!text.contains(TOKEN_HEX), "{}", file.display());
    }
}

#[test]
fn a_bad_server_url_or_root_is_a_usage_error() {
    let host = Host::new();
    for (url, expected) in [
        ("ftp://attest.example.com", "is not an http(s) URL"),
        ("attest.example.com", "is not an http(s) URL"),
        ("http://attest.example.com", "unencrypted"),
    ] {
        let output = host.once(url);
        assert_eq!(output.status.code(), Some(2), "{url}");
        assert!(stderr(&output).contains(expected), "{}", stderr(&output));
    }
    let output = host
        .sandbox
        .attest(&[
            "agent",
            "--server",
            "https://attest.example.com",
            "--token-file",
            host.token_file.to_str().unwrap(),
            "--root",
            "/no/such/root",
            "--once",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not a folder"),
        "{}",
        stderr(&output)
    );
}

/// An HTTPS server on 127.0.0.1 with a certificate of a fresh private CA; it answers every
/// request 201 and keeps the `Authorization` header of each.
struct TlsServer {
    port: u16,
    ca_pem: String,
    authorizations: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsServer {
    fn start() -> Self {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Attest agent test CA");
        let ca =
            rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
                .unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(
                    vec![cert.der().clone()],
                    rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
                )
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (kept, stopping) = (Arc::clone(&authorizations), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    // A client that does not trust the certificate ends the handshake: no request.
                    let _ = serve_tls(Arc::clone(&config), stream, &kept);
                }
            }
        });
        TlsServer {
            port,
            ca_pem: ca.pem(),
            authorizations,
            stop,
            thread: Some(thread),
        }
    }

    fn authorizations(&self) -> Vec<String> {
        self.authorizations.lock().unwrap().clone()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one HTTP request over TLS, keeps its `Authorization`, answers 201.
fn serve_tls(
    config: Arc<rustls::ServerConfig>,
    stream: TcpStream,
    kept: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let mut reader = BufReader::new(&mut tls);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
            if name.eq_ignore_ascii_case("authorization") {
                kept.lock().unwrap().push(value.trim().to_owned());
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    drop(reader);
    let answer = r#"{"report_id":"x","run_id":1,"duplicate":false}"#;
    write!(
        tls,
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    )?;
    tls.conn.send_close_notify();
    tls.flush()
}

#[test]
fn over_https_the_agent_trusts_the_ca_file_it_is_given_and_no_other() {
    let host = Host::new();
    let server = TlsServer::start();
    let url = format!("https://127.0.0.1:{}", server.port);
    // The private CA is not among the web roots: nothing is sent, the report waits.
    let output = host.once(&url);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("not delivered"),
        "{}",
        stderr(&output)
    );
    assert!(server.authorizations().is_empty());
    assert_eq!(host.spooled().len(), 1);
    let ca = host.sandbox.write("etc/ca.pem", &server.ca_pem);
    let output = host.once_with(&url, &["--ca-file", ca.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        server.authorizations(),
        [format!("Bearer {TOKEN}"), format!("Bearer {TOKEN}")]
    );
    assert!(host.spooled().is_empty());
    // A CA file without a certificate is a usage error.
    let empty = host.sandbox.write("etc/empty.pem", "not a certificate\n");
    let output = host.once_with(&url, &["--ca-file", empty.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("holds no PEM certificate"),
        "{}",
        stderr(&output)
    );
}
