//! `attest serve`, `attest users`, `attest hosts` and `attest agent` together, as a new user
//! would run them: the first admin, a registered host, its agent pushing through an outage.

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::scan::fixture_root;
use crate::{Sandbox, stderr};

const PASSWORD: &str = "correct horse battery staple";

/// `attest serve` running in a sandbox on a free loopback port.
pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
}

impl Server {
    pub(crate) fn start(sandbox: &Sandbox, port: u16) -> Self {
        Self::start_with(sandbox, port, &[])
    }

    fn start_with(sandbox: &Sandbox, port: u16, extra: &[&str]) -> Self {
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("attest"));
        cmd.current_dir(sandbox.path())
            .env("HOME", sandbox.path().join("home"))
            .env("ATTEST_USER", "auditor-test")
            .env_remove("ATTEST_WORKSPACE")
            .env_remove("ATTEST_STORE")
            .env_remove("ATTEST_DATABASE")
            .args(["serve", "--listen", &listen, "--findings-every", "1"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().unwrap();
        let server = Server {
            child,
            url: format!("http://{listen}"),
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if ureq::get(format!("{}/healthz", self.url)).call().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("attest serve did not answer on {}", self.url);
    }

    /// Stops the server with SIGKILL, as a crash would.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP client that hands back 4xx/5xx answers instead of failing.
fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn login(url: &str, name: &str, password: &str) -> Option<String> {
    let mut response = http()
        .post(format!("{url}/api/v1/session"))
        .header("content-type", "application/json")
        .send(serde_json::json!({ "name": name, "password": password }).to_string())
        .unwrap();
    if response.status().as_u16() != 200 {
        let _ = response.body_mut().read_to_string();
        return None;
    }
    response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

fn get(url: &str, cookie: &str, path: &str) -> serde_json::Value {
    let mut response = http()
        .get(format!("{url}{path}"))
        .header("cookie", cookie)
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "GET {path}");
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

struct Agent {
    token_file: PathBuf,
    root: PathBuf,
    spool: PathBuf,
}

impl Agent {
    fn once(&self, sandbox: &Sandbox, url: &str) -> std::process::Output {
        sandbox
            .attest(&[
                "agent",
                "--server",
                url,
                "--token-file",
                self.token_file.to_str().unwrap(),
                "--root",
                self.root.to_str().unwrap(),
                "--spool",
                self.spool.to_str().unwrap(),
                "--host",
                "web-1",
                "--once",
            ])
            .output()
            .unwrap()
    }

    fn spooled(&self) -> usize {
        fs_err::read_dir(&self.spool).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
    }
}

/// The README's path: first admin, `attest serve`, `attest hosts add`, an agent pushing, the
/// host and its results in the API, findings opened by the sweep; then the server goes away,
/// the agent spools, and everything arrives once the server is back.
#[test]
fn a_new_user_starts_the_server_registers_a_host_and_its_agent_reports_through_an_outage() {
    let sandbox = Sandbox::with_workspace();
    let password = sandbox.write("pw.txt", &format!("{PASSWORD}\n"));
    sandbox
        .attest(&[
            "users",
            "add",
            "alice",
            "--role",
            "admin",
            "--password-file",
        ])
        .arg(&password)
        .assert()
        .success();
    // A weak password and the agent role are refused as input errors.
    let weak = sandbox.write("weak.txt", "short\n");
    let out = sandbox
        .attest(&["users", "add", "bob", "--role", "editor", "--password-file"])
        .arg(&weak)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = sandbox
        .attest(&["users", "add", "bob", "--role", "agent", "--password-file"])
        .arg(&password)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    let out = sandbox.attest(&["hosts", "add", "web-1"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("atk_") && token.len() == 68, "{token}");
    let again = sandbox.attest(&["hosts", "add", "web-1"]).output().unwrap();
    assert_eq!(again.status.code(), Some(2), "a host is registered once");
    // Bad names and unknown accounts are input errors that name the problem.
    for args in [
        &["hosts", "add", "web 1"][..],
        &["hosts", "revoke", "db-9"][..],
        &["users", "disable", "nobody"][..],
    ] {
        let out = sandbox.attest(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).trim().is_empty(), "{args:?} says why");
    }
    assert!(
        stderr(
            &sandbox
                .attest(&["hosts", "revoke", "db-9"])
                .output()
                .unwrap()
        )
        .contains("db-9")
    );
    let token_file = sandbox.write("agent.token", &format!("{token}\n"));
    fs_err::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let agent = Agent {
        token_file,
        root: fixture_root(&sandbox, "hardened", &[]),
        spool: sandbox.path().join("spool"),
    };

    let port = free_port();
    let server = Server::start(&sandbox, port);
    let out = agent.once(&sandbox, &server.url);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(agent.spooled(), 0);
    assert!(login(&server.url, "alice", "wrong password!").is_none());
    let cookie = login(&server.url, "alice", PASSWORD).expect("alice logs in");
    let hosts = get(&server.url, &cookie, "/api/v1/hosts");
    let web = hosts
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "web-1")
        .expect("web-1 is listed");
    assert_eq!(web["runs"], 1);
    assert_eq!(web["registered"], true);
    let results = get(&server.url, &cookie, "/api/v1/hosts/web-1");
    assert!(results.as_array().unwrap().len() > 10, "{results}");

    // The server goes away: reports wait in the spool, in order.
    server.kill();
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(1100));
        let out = agent.once(&sandbox, &format!("http://127.0.0.1:{port}"));
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    }
    assert_eq!(agent.spooled(), 2);
    let server = Server::start(&sandbox, port);
    std::thread::sleep(Duration::from_millis(1100));
    let out = agent.once(&sandbox, &server.url);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(agent.spooled(), 0);
    let cookie = login(&server.url, "alice", PASSWORD).unwrap();
    let hosts = get(&server.url, &cookie, "/api/v1/hosts");
    let web = hosts
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "web-1")
        .unwrap();
    assert_eq!(web["runs"], 4, "every report arrived once: {web}");
    server.kill();
    sandbox.assert_verifies();
}

/// The same server on PostgreSQL: accounts, an agent's report, and `attest verify
/// --database` over the result (which also finds an edited row).
#[test]
fn the_server_runs_on_postgres_and_its_store_verifies() {
    let schema = attest_store_postgres::testing::Schema::new();
    let url = schema.url();
    let sandbox = Sandbox::with_workspace();
    let password = sandbox.write("pw.txt", &format!("{PASSWORD}\n"));
    sandbox
        .attest(&[
            "users",
            "add",
            "alice",
            "--role",
            "admin",
            "--database",
            &url,
            "--password-file",
        ])
        .arg(&password)
        .assert()
        .success();
    let out = sandbox
        .attest(&["hosts", "add", "web-1", "--database", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let token_file = sandbox.write("agent.token", &format!("{token}\n"));
    fs_err::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let agent = Agent {
        token_file,
        root: fixture_root(&sandbox, "hardened", &[]),
        spool: sandbox.path().join("spool"),
    };
    let server = Server::start_with(&sandbox, free_port(), &["--database", &url]);
    let out = agent.once(&sandbox, &server.url);
    assert!(out.status.success(), "{}", stderr(&out));
    let cookie = login(&server.url, "alice", PASSWORD).expect("alice logs in");
    let results = get(&server.url, &cookie, "/api/v1/hosts/web-1");
    assert!(results.as_array().unwrap().len() > 10, "{results}");
    server.kill();
    let verify = |sandbox: &Sandbox| {
        sandbox
            .attest(&["verify", "--database", &url])
            .output()
            .unwrap()
    };
    let out = verify(&sandbox);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("exactly what the ledger"),
        "{}",
        stderr(&out)
    );
    let mut client = attest_store_postgres::testing::admin();
    client
        .batch_execute(&format!(
            "UPDATE {}.intervals SET status = CASE status WHEN 'pass' THEN 'fail' ELSE 'pass' END \
             WHERE id = (SELECT min(id) FROM {}.intervals)",
            schema.name(),
            schema.name()
        ))
        .unwrap();
    let out = verify(&sandbox);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("TAMPERED"), "{}", stderr(&out));
}
