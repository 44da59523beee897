//! A real server on `127.0.0.1:0` over a SQLite store in a temporary folder, the built-in
//! workspace, three people (one per role), and data to show: hosts with a month of agent
//! reports (some failing, one host gone silent), findings and evidence.

use std::sync::Arc;

use attest_model::{
    Category, ControlKind, Finding, FindingSource, FindingStatus, NewEvidence, Period, Role,
    Severity, Status,
};
use attest_server::{AppState, Backend, ServerOptions};
use attest_store::FindingChange;
use attest_store::accounts::{Actor, NewUser};
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
    workspace.organisation = "Acme Cloud".into();
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
    assert_eq!(
        response.status().as_u16(),
        201,
        "report {report_id} recorded"
    );
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
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::UTC)
        .date();
    // A month of reports at 00:10 and 12:10 UTC; results change only at the 12:10 run, and
    // fewer fail as the month goes on. db-1 went silent three days ago.
    for days_ago in (0..30_i64).rev() {
        let day = today.checked_sub(days_ago.days()).unwrap();
        for (half, hour) in [(0, 0), (1, 12)] {
            let at = day
                .at(hour, 10, 0, 0)
                .to_zoned(jiff::tz::TimeZone::UTC)
                .unwrap()
                .timestamp();
            if at > now {
                continue;
            }
            // The 12:10 run whose results this run repeats, in days before today.
            let epoch = if half == 1 { days_ago } else { days_ago + 1 };
            for (h, (name, token)) in server.hosts.clone().iter().enumerate() {
                if name == "db-1" && days_ago < 3 {
                    continue;
                }
                let report_id = format!("{name}-{days_ago:02}-{half}");
                push_report(server, name, token, at, &report_id, |i| {
                    // Check 0 keeps failing on web-1; check 1 cannot be decided on db-1.
                    if h == 0 && i == 0 {
                        return Some(Status::Fail);
                    }
                    if h == 2 && i == 1 {
                        return Some(Status::Error);
                    }
                    let bucket = u64::try_from(epoch / 3).unwrap();
                    let seed = (i as u64 * 7_919 + h as u64 * 104_729 + bucket * 1_299_709)
                        .wrapping_mul(2_654_435_761)
                        % 1000;
                    let threshold = 60 + 12 * u64::try_from(epoch).unwrap();
                    (seed < threshold).then_some(Status::Fail)
                });
            }
        }
    }
    let workspace = state.workspace().clone();
    let failing_check = &checks[0].0;
    server.failing_control = workspace
        .controls_in_scope()
        .find(|c| c.checks.contains(failing_check))
        .map(|c| c.id.clone())
        .unwrap();
    // Evidence for most controls that need it, some about to expire and some expired; the
    // first manual control and every fourth other one have none.
    let manual: Vec<&attest_model::Control> = workspace
        .controls_in_scope()
        .filter(|c| c.kind == ControlKind::Manual && c.evidence.is_some())
        .collect();
    assert!(
        manual.len() >= 5,
        "the built-in workspace has manual controls"
    );
    let backend = state.backend();
    let evidenced = workspace
        .controls_in_scope()
        .filter(|c| c.evidence.is_some() && c.id != manual[0].id);
    for (i, control) in evidenced.enumerate() {
        if i % 4 == 3 {
            continue;
        }
        let freshness = i64::from(control.evidence.as_ref().unwrap().freshness_days);
        // The last day still current and not yet expiring soon.
        let settled = freshness - (freshness * 15 + 99) / 100 - 1;
        let days = match i % 7 {
            2 => freshness + 5,
            5 => freshness - 1,
            _ => (5 + i64::try_from(i).unwrap() * 7 % 35).min(settled),
        };
        let content = format!("Evidence for {}, signed by the CISO.\n", control.id);
        let sha256 = backend.put_object(content.as_bytes()).unwrap();
        backend
            .add_evidence(&NewEvidence {
                control: control.id.clone(),
                file_name: format!("{}-review.pdf", control.id.to_lowercase()),
                sha256,
                size: 48_213 + 977 * u64::try_from(i).unwrap(),
                note: (i % 3 == 0).then(|| "Quarterly review".to_owned()),
                effective_date: jiff::Zoned::now().date().checked_sub(days.days()).unwrap(),
                added_at: now - SignedDuration::from_hours(24 * days.min(40)),
                added_by: EDITOR.into(),
            })
            .unwrap();
    }
    server.bare_control.clone_from(&manual[0].id);
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
        resources_omitted: 41,
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
        resources_omitted: 0,
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
        resources_omitted: 0,
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
