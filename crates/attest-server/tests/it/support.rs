//! A real server on `127.0.0.1:0` over a SQLite store in a temporary folder, the built-in
//! workspace, three people (one per role), and data to show: hosts with a month of agent
//! reports (some failing, one host gone silent), findings and evidence.

use std::sync::Arc;

use attest_model::{
    Category, ControlKind, Finding, FindingSource, FindingStatus, NewEvidence, Period, Role,
    Severity, Status,
};
use attest_server::{AppState, Backend, ServerOptions};
use attest_store::accounts::{Actor, NewUser};
use attest_store::FindingChange;
use jiff::{SignedDuration, Timestamp, ToSpan as _};

/// The password of every test user.
pub(crate) const PASSWORD: &str = "correct horse battery";

/// The admin, editor and auditor.
pub(crate) const ADMIN: &str = "alice";
pub(crate) const EDITOR: &str = "erin";
pub(crate) const AUDITOR: &str = "olga";

/// A running server.
pub(crate) struct Server {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// Its state (for seeding through the library).
    pub(crate) state: AppState,
    /// The runtime it runs on.
    pub(crate) runtime: tokio::runtime::Runtime,
    /// Hosts with their agent tokens.
    pub(crate) hosts: Vec<(String, String)>,
    /// A manual control in scope with no evidence (missing evidence).
    pub(crate) bare_control: String,
    /// A control with failing results.
    pub(crate) failing_control: String,
    /// An open finding's id.
    pub(crate) finding: i64,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Server {
    /// A URL on the server.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Starts a server with `secure_cookies` and seeds it.
pub(crate) fn start(secure_cookies: bool) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut workspace, _) = attest_catalog::load(None);
    workspace.scope.categories = vec![
        Category::Security,
        Category::Availability,
        Category::Confidentiality,
    ];
    let today = jiff::Zoned::now().date();
    workspace.scope.period = Some(Period {
        start: today.checked_sub(44.days()).unwrap(),
        end: today.checked_add(45.days()).unwrap(),
    });
    // Daily reports count as continuous monitoring here.
    workspace.monitoring.max_gap = SignedDuration::from_hours(26);
    let store = attest_store_sqlite::SqliteStore::open(dir.path())
        .expect("open store")
        .with_signing_key(attest_ledger::SigningKey::from_seed([7; 32]));
    let backend: Arc<dyn Backend> = Arc::new(store);
    let actor = Actor {
        by: "test",
        at: Timestamp::now(),
    };
    for (name, role) in [
        (ADMIN, Role::Admin),
        (EDITOR, Role::Editor),
        (AUDITOR, Role::Auditor),
    ] {
        let hash = attest_server::auth::hash_password(PASSWORD).unwrap();
        backend
            .add_user(
                &NewUser {
                    name,
                    role,
                    password_hash: &hash,
                },
                actor,
            )
            .unwrap();
    }
    let options = ServerOptions {
        secure_cookies,
        ..ServerOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let state = AppState::new(backend, workspace, options, None).expect("state");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    runtime.spawn(attest_server::serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    let mut server = Server {
        base,
        state,
        runtime,
        hosts: Vec::new(),
        bare_control: String::new(),
        failing_control: String::new(),
        finding: 0,
        stop: Some(stop),
        _dir: dir,
    };
    seed(&mut server);
    server
}

/// The host checks mapped to controls in scope, in a fixed order.
fn host_checks(state: &AppState) -> Vec<(String, Severity)> {
    let workspace = state.workspace();
    let mut mapped: Vec<&str> = workspace
        .controls_in_scope()
        .flat_map(|c| c.checks.iter().map(String::as_str))
        .collect();
    mapped.sort_unstable();
    mapped.dedup();
    mapped
        .into_iter()
        .filter_map(|id| workspace.check(id))
        .filter(|c| c.source == "host")
        .map(|c| (c.id.clone(), c.severity))
        .collect()
}

/// Pushes a report for `host` observed at `at`; `fails(i)` says which checks fail.
pub(crate) fn push_report(
    server: &Server,
    host: &str,
    token: &str,
    at: Timestamp,
    report_id: &str,
    fails: impl Fn(usize) -> Option<Status>,
) {
    let results: Vec<serde_json::Value> = host_checks(&server.state)
        .iter()
        .enumerate()
        .map(|(i, (check, severity))| {
            let status = fails(i).unwrap_or(Status::Pass);
            serde_json::json!({
                "check": check,
                "resource": "host",
                "status": status,
                "severity": severity,
                "message": match status {
                    Status::Pass => "Configured as required.".to_owned(),
                    Status::Fail => format!("{check} is not configured as required."),
                    _ => "The facts needed were not collected.".to_owned(),
                },
            })
        })
        .collect();
    let body = serde_json::json!({
        "schema_version": 1,
        "report_id": report_id,
        "host": host,
        "observed_at": at.to_string(),
        "agent_version": "0.1.0-test",
        "results": results,
    });
    let response = ureq::post(&server.url("/api/v1/reports"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .expect("push report");
    assert_eq!(response.status().as_u16(), 201, "report {report_id} recorded");
}

fn seed(server: &mut Server) {
    let state = server.state.clone();
    for name in ["web-1", "web-2", "db-1"] {
        let token = attest_server::api::issue_host_token(&state, name, ADMIN, false).unwrap();
        server.hosts.push((name.to_owned(), token.token));
    }
    let checks = host_checks(&state);
    assert!(checks.len() >= 6, "the built-in workspace has host checks");
    let now = Timestamp::now();
    // A month of daily reports; db-1 went silent three days ago.
    for days_ago in (0..30_i64).rev() {
        let at = now - SignedDuration::from_hours(24 * days_ago) - SignedDuration::from_mins(5);
        for (h, (name, token)) in server.hosts.clone().iter().enumerate() {
            if name == "db-1" && days_ago < 3 {
                continue;
            }
            let report_id = format!("{name}-day-{days_ago:02}");
            push_report(server, name, token, at, &report_id, |i| {
                // A few checks fail for a while and are then fixed; check 0 keeps failing
                // on web-1; check 1 cannot be decided on db-1.
                if h == 0 && i == 0 {
                    return Some(Status::Fail);
                }
                if h == 2 && i == 1 {
                    return Some(Status::Error);
                }
                let phase = (i * 3 + h * 5) % 11;
                let broken = usize::try_from(days_ago).unwrap() / 4 % 3 == phase % 3 && phase < 6;
                broken.then_some(Status::Fail)
            });
        }
    }
    let workspace = state.workspace().clone();
    let failing_check = &checks[0].0;
    server.failing_control = workspace
        .controls_in_scope()
        .find(|c| c.checks.contains(failing_check))
        .map(|c| c.id.clone())
        .unwrap();
    // Evidence for a few manual controls; the first manual control without any stays bare.
    let manual: Vec<&attest_model::Control> = workspace
        .controls_in_scope()
        .filter(|c| c.kind == ControlKind::Manual && c.evidence.is_some())
        .collect();
    assert!(manual.len() >= 5, "the built-in workspace has manual controls");
    let backend = state.backend();
    for (i, control) in manual.iter().skip(1).take(4).enumerate() {
        let content = format!("Access review for {} signed by the CISO.\n", control.id);
        let sha256 = backend.put_object(content.as_bytes()).unwrap();
        let days = 3 + 40 * i64::try_from(i).unwrap();
        backend
            .add_evidence(&NewEvidence {
                control: control.id.clone(),
                file_name: format!("{}-review.pdf", control.id.to_lowercase()),
                sha256,
                size: content.len() as u64,
                note: Some("Quarterly review".into()),
                effective_date: jiff::Zoned::now().date().checked_sub(days.days()).unwrap(),
                added_at: now,
                added_by: EDITOR.into(),
            })
            .unwrap();
    }
    server.bare_control = manual[0].id.clone();
    // Findings: one open and overdue, one in progress, one with its risk accepted.
    let control = workspace.control(&server.failing_control).unwrap();
    let base = Finding {
        id: 0,
        title: format!("{} fails on web-1", checks[0].0),
        controls: vec![control.id.clone()],
        criteria: control.criteria.clone(),
        severity: Severity::High,
        source: FindingSource::Automated,
        status: FindingStatus::Open,
        failing_since: now - SignedDuration::from_hours(24 * 29),
        opened_at: now - SignedDuration::from_hours(24 * 29),
        due_at: now - SignedDuration::from_hours(24 * 2),
        fixed_at: None,
        closed_at: None,
        owner: control.owner.clone(),
        root_cause: None,
        corrective_action: None,
        closure_evidence: None,
        risk_reason: None,
        risk_until: None,
        resources: vec![format!("{} on host of web-1", checks[0].0)],
    };
    let opened = |finding: &Finding, at: Timestamp| {
        backend
            .save_finding(
                finding,
                &FindingChange {
                    event: "opened",
                    by: "attest",
                    note: None,
                    at,
                },
            )
            .unwrap()
    };
    let first = opened(&base, base.opened_at);
    server.finding = first.id;
    let mut second = Finding {
        title: "Quarterly access review was not performed".into(),
        controls: vec![server.bare_control.clone()],
        criteria: manual[0].criteria.clone(),
        severity: Severity::Medium,
        source: FindingSource::Manual,
        due_at: now + SignedDuration::from_hours(24 * 20),
        resources: Vec::new(),
        ..base.clone()
    };
    second = opened(&second, now - SignedDuration::from_hours(24 * 6));
    second.status = FindingStatus::InProgress;
    backend
        .save_finding(
            &second,
            &FindingChange {
                event: "updated",
                by: EDITOR,
                note: Some("Review scheduled with the team leads."),
                at: now - SignedDuration::from_hours(24 * 5),
            },
        )
        .unwrap();
    let mut third = Finding {
        title: "Legacy host runs an unsupported kernel".into(),
        severity: Severity::Low,
        source: FindingSource::Manual,
        due_at: now + SignedDuration::from_hours(24 * 60),
        resources: Vec::new(),
        ..base
    };
    third = opened(&third, now - SignedDuration::from_hours(24 * 12));
    third.status = FindingStatus::RiskAccepted;
    third.risk_reason = Some("The host is decommissioned next quarter.".into());
    backend
        .save_finding(
            &third,
            &FindingChange {
                event: "risk_accepted",
                by: ADMIN,
                note: None,
                at: now - SignedDuration::from_hours(24 * 10),
            },
        )
        .unwrap();
}

/// An HTTP client that neither follows redirects nor treats statuses as errors.
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into()
}

/// A logged-in person: their session cookie and CSRF token.
pub(crate) struct Session {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

/// Logs `name` in through the login form.
pub(crate) fn login(server: &Server, name: &str) -> Session {
    login_with(server, name, PASSWORD)
}

/// Logs `name` in through the login form with `password`.
pub(crate) fn login_with(server: &Server, name: &str, password: &str) -> Session {
    let agent = agent();
    let mut response = agent
        .post(&server.url("/login"))
        .send_form([("name", name), ("password", password), ("next", "/")])
        .unwrap();
    assert_eq!(response.status().as_u16(), 303, "login of {name}");
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned();
    let _ = response.body_mut().read_to_string();
    let me: serde_json::Value = agent
        .get(&server.url("/api/v1/me"))
        .header("Cookie", &cookie)
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    Session {
        cookie,
        csrf: me["csrf_token"].as_str().unwrap().to_owned(),
    }
}
