//! The role matrix walked route by route and role by role, and the API over a real listener.

use std::sync::Arc;

use attest_model::Role;
use attest_store::accounts::{Actor, NewUser};
use attest_store_sqlite::SqliteStore;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jiff::Timestamp;
use tower::ServiceExt as _;

use super::*;
use crate::routes::{Face, ROUTES};

/// What keeps a test's store alive: its folder or its PostgreSQL schema.
enum Guard {
    Folder(#[allow(dead_code, reason = "held for its Drop")] tempfile::TempDir),
    Schema(
        #[allow(dead_code, reason = "held for its Drop")] attest_store_postgres::testing::Schema,
    ),
}

struct Fixture {
    state: AppState,
    _guard: Guard,
    agent_token: String,
    control: String,
}

/// The ledger key of test stores.
fn key() -> attest_ledger::SigningKey {
    attest_ledger::SigningKey::from_seed(attest_store::conformance::KEY_SEED)
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path())
        .unwrap()
        .with_signing_key(key());
    fixture_on(Arc::new(store), Guard::Folder(dir))
}

fn postgres_fixture() -> Fixture {
    let schema = attest_store_postgres::testing::Schema::new();
    let store = schema.store();
    fixture_on(Arc::new(store), Guard::Schema(schema))
}

fn fixture_on(backend: Arc<dyn Backend>, guard: Guard) -> Fixture {
    let (workspace, _) = attest_catalog::load(None);
    let control = workspace.controls[0].id.clone();
    let actor = Actor {
        by: "test",
        at: Timestamp::now(),
    };
    for (name, role) in [
        ("admin", Role::Admin),
        ("editor", Role::Editor),
        ("auditor", Role::Auditor),
    ] {
        backend
            .add_user(
                &NewUser {
                    name,
                    role,
                    password_hash: &auth::hash_password("correct horse battery").unwrap(),
                },
                actor,
            )
            .unwrap();
    }
    let agent_token = auth::new_agent_token().unwrap();
    backend
        .add_host("web-1", &auth::secret_sha256(&agent_token), actor)
        .unwrap();
    backend
        .add_host("spare", &auth::secret_sha256("atk_spare"), actor)
        .unwrap();
    let state = AppState::new(backend, workspace, ServerOptions::default(), Some(key())).unwrap();
    Fixture {
        state,
        _guard: guard,
        agent_token,
        control,
    }
}

/// Who calls: nobody, a person of a role (with a fresh session), or the agent of web-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Person(Role),
    Agent,
}

const EVERYONE: [Who; 5] = [
    Who::Anonymous,
    Who::Person(Role::Admin),
    Who::Person(Role::Editor),
    Who::Person(Role::Auditor),
    Who::Agent,
];

/// A fresh session of the user named like `role`; returns (cookie, csrf token).
fn session(state: &AppState, role: Role) -> (String, String) {
    let user = state.backend().user(role.as_str()).unwrap().unwrap();
    let id = auth::random_hex(32).unwrap();
    let csrf = auth::random_hex(32).unwrap();
    state
        .backend()
        .create_session(
            &auth::secret_sha256(&id),
            user.id,
            &csrf,
            Timestamp::now() + jiff::SignedDuration::from_hours(1),
        )
        .unwrap();
    (format!("{}={id}", auth::SESSION_COOKIE), csrf)
}

fn concrete(path: &str, control: &str) -> String {
    path.replace(
        "{id}",
        if path.contains("controls") {
            control
        } else {
            "1"
        },
    )
    .replace("{name}", "spare")
    .replace("{kind}", "readiness")
    .replace("{file}", "app.css")
}

fn request(fixture: &Fixture, method: &str, path: &str, who: Who, csrf: bool) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    match who {
        Who::Anonymous => {}
        Who::Agent => {
            builder = builder.header(
                header::AUTHORIZATION,
                format!("Bearer {}", fixture.agent_token),
            );
        }
        Who::Person(role) => {
            let (cookie, token) = session(&fixture.state, role);
            builder = builder.header(header::COOKIE, cookie);
            if csrf {
                builder = builder.header(auth::CSRF_HEADER, token);
            }
        }
    }
    builder.body(Body::empty()).unwrap()
}

async fn call(fixture: &Fixture, request: Request<Body>) -> axum::response::Response {
    app(fixture.state.clone()).oneshot(request).await.unwrap()
}

fn is_login_redirect(response: &axum::response::Response) -> bool {
    response.status() == StatusCode::SEE_OTHER
        && response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|l| l.starts_with("/login?next="))
}

/// Every route with every role: refused exactly when the matrix says so, in the way its face
/// answers (401 or a redirect to the login page when nobody is logged in, 403 for a role
/// not allowed), and never refused for a role the matrix allows.
#[test]
fn every_route_answers_every_role_as_the_matrix_says() {
    matrix(&fixture());
}

/// The same on PostgreSQL.
#[test]
fn every_route_answers_every_role_as_the_matrix_says_on_postgres() {
    matrix(&postgres_fixture());
}

/// A runtime to call the app in from synchronous tests (the store's sessions are created
/// outside it: a blocking store may not be called from async code).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn matrix(fixture: &Fixture) {
    let runtime = runtime();
    let mut checked = 0;
    for route in ROUTES {
        let path = concrete(route.path, &fixture.control);
        for who in EVERYONE {
            let request = request(fixture, route.method, &path, who, true);
            let response = runtime.block_on(call(fixture, request));
            let status = response.status();
            let allowed = match who {
                _ if route.is_public() => true,
                Who::Anonymous => false,
                Who::Person(role) => route.allows(role),
                Who::Agent => route.allows(Role::Agent),
            };
            let context = format!("{} {path} as {who:?}: {status}", route.method);
            if allowed {
                assert!(
                    status != StatusCode::UNAUTHORIZED
                        && status != StatusCode::FORBIDDEN
                        && !is_login_redirect(&response),
                    "allowed but refused: {context}"
                );
            } else if who == Who::Anonymous {
                match route.face {
                    Face::Api => assert_eq!(status, StatusCode::UNAUTHORIZED, "{context}"),
                    Face::Page => assert!(is_login_redirect(&response), "{context}"),
                }
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{context}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * EVERYONE.len());
}

/// A state-changing request of a session without its CSRF token is refused, on every such
/// route and for every role allowed on it; with a cross-site `Origin` too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_requests_of_a_session_need_its_csrf_token_and_the_same_origin() {
    let fixture = fixture();
    let mut checked = 0;
    for route in ROUTES
        .iter()
        .filter(|r| r.method != "GET" && !r.is_public())
    {
        let path = concrete(route.path, &fixture.control);
        for role in [Role::Admin, Role::Editor, Role::Auditor] {
            if !route.allows(role) {
                continue;
            }
            let response = call(
                &fixture,
                request(&fixture, route.method, &path, Who::Person(role), false),
            )
            .await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{} {path} as {role} without a CSRF token",
                route.method
            );
            let mut cross = request(&fixture, route.method, &path, Who::Person(role), true);
            cross
                .headers_mut()
                .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
            cross
                .headers_mut()
                .insert(header::HOST, "attest.example".parse().unwrap());
            let response = call(&fixture, cross).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "cross-site {path}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} unsafe routes checked");
    // A multipart body does not defer the token check on a route that never reads one.
    let mut rotate = request(
        &fixture,
        "POST",
        "/api/v1/hosts/spare/token",
        Who::Person(Role::Admin),
        false,
    );
    rotate.headers_mut().insert(
        header::CONTENT_TYPE,
        "multipart/form-data; boundary=x".parse().unwrap(),
    );
    assert_eq!(call(&fixture, rotate).await.status(), StatusCode::FORBIDDEN);
    // A login posted from another site is refused as well.
    let mut login = request(&fixture, "POST", "/login", Who::Anonymous, false);
    login
        .headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    login
        .headers_mut()
        .insert(header::HOST, "attest.example".parse().unwrap());
    assert_eq!(call(&fixture, login).await.status(), StatusCode::FORBIDDEN);
}

/// Every route the router serves is in the matrix, and every API row is in the OpenAPI
/// document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_and_the_openapi_document_cover_every_route() {
    let fixture = fixture();
    // Non-public routes are proven routed by the matrix test (the authorisation layer only
    // runs on routed paths); public ones must not be 404 or 405.
    for route in ROUTES.iter().filter(|r| r.is_public()) {
        let path = concrete(route.path, &fixture.control);
        let response = call(
            &fixture,
            request(&fixture, route.method, &path, Who::Anonymous, false),
        )
        .await;
        assert_ne!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{} {path}",
            route.method
        );
        assert_ne!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{} {path} is not routed",
            route.method
        );
    }
    let unrouted = call(
        &fixture,
        request(
            &fixture,
            "GET",
            "/api/v1/nothing",
            Who::Person(Role::Admin),
            true,
        ),
    )
    .await;
    assert_eq!(unrouted.status(), StatusCode::NOT_FOUND);
    let document = openapi::document();
    for route in ROUTES.iter().filter(|r| r.face == Face::Api) {
        assert!(
            document["paths"][route.path][route.method.to_lowercase()].is_object(),
            "{} {} missing from the OpenAPI document",
            route.method,
            route.path
        );
    }
    assert_eq!(document["openapi"], "3.1.0");
}

/// Security headers are on every answer, errors included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_are_set_on_every_answer() {
    let fixture = fixture();
    for path in ["/login", "/api/v1/readiness", "/no/such/page"] {
        let response = call(
            &fixture,
            request(&fixture, "GET", path, Who::Anonymous, false),
        )
        .await;
        let headers = response.headers();
        for name in [
            "content-security-policy",
            "x-content-type-options",
            "x-frame-options",
            "referrer-policy",
        ] {
            assert!(headers.contains_key(name), "{path} lacks {name}");
        }
    }
}

/// A server on a real loopback listener, in its own runtime thread.
struct Running {
    base: String,
    fixture: Fixture,
    http: ureq::Agent,
}

fn running() -> Running {
    running_on(fixture())
}

fn running_on(fixture: Fixture) -> Running {
    let state = fixture.state.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            serve(listener, state, std::future::pending())
                .await
                .unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    Running {
        base: format!("http://{addr}"),
        fixture,
        http,
    }
}

fn report_json(host: &str, id: &str, observed_at: &str, check: &str) -> serde_json::Value {
    serde_json::json!({
        "schema_version": 1, "report_id": id, "host": host, "observed_at": observed_at,
        "agent_version": "test",
        "results": [{"check": check, "resource": "sshd", "status": "fail", "severity": "high", "message": "found"}]
    })
}

impl Running {
    fn push(&self, token: &str, body: &str) -> (u16, serde_json::Value) {
        let mut response = self
            .http
            .post(format!("{}/api/v1/reports", self.base))
            .header("authorization", &format!("Bearer {token}"))
            .header("content-type", "application/json")
            .send(body)
            .unwrap();
        let status = response.status().as_u16();
        let json = response
            .body_mut()
            .read_json()
            .unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    fn login(&self, name: &str, password: &str) -> (u16, Option<(String, String)>) {
        let mut response = self
            .http
            .post(format!("{}/api/v1/session", self.base))
            .header("content-type", "application/json")
            .send(serde_json::json!({"name": name, "password": password}).to_string())
            .unwrap();
        let status = response.status().as_u16();
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let body: serde_json::Value = response.body_mut().read_json().unwrap_or_default();
        let csrf = body["csrf_token"].as_str().map(str::to_owned);
        (status, cookie.zip(csrf))
    }

    fn get_json(&self, cookie: &str, path: &str) -> (u16, serde_json::Value) {
        let mut response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .call()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_json().unwrap_or_default())
    }
}

/// Agent reports: recorded once, refused with a clear error naming the field when bad, for
/// another host, too large, of unknown checks, or with a revoked token.
#[test]
fn agent_reports_are_recorded_once_and_bad_ones_are_refused_clearly() {
    agent_reports(&running());
}

/// The same on PostgreSQL.
#[test]
fn agent_reports_are_recorded_once_and_bad_ones_are_refused_clearly_on_postgres() {
    agent_reports(&running_on(postgres_fixture()));
}

fn agent_reports(server: &Running) {
    let token = server.fixture.agent_token.clone();
    let check = server.fixture.state.workspace().checks[0].id.clone();
    let good = report_json("web-1", "report-000001", "2026-11-01T10:00:00Z", &check).to_string();
    let (status, first) = server.push(&token, &good);
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["duplicate"], false);
    let (status, again) = server.push(&token, &good);
    assert_eq!(status, 200);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["run_id"], first["run_id"]);

    let cases: Vec<(String, u16, &str, Option<&str>)> = vec![
        ("{not json".into(), 400, "invalid-report", None),
        // A whole report followed by something else is not a report either.
        (
            format!(
                "{} {{}}",
                report_json("web-1", "report-000006", "2026-11-01T11:00:00Z", &check)
            ),
            400,
            "invalid-report",
            None,
        ),
        (
            report_json("web-1", "report-000002", "2026-11-01T11:00:00Z", &check)
                .to_string()
                .replace("\"fail\"", "\"broken\""),
            400,
            "invalid-report",
            Some("results[0].status"),
        ),
        (
            report_json("web-1", "bad id!", "2026-11-01T11:00:00Z", &check).to_string(),
            400,
            "invalid-report",
            Some("report_id"),
        ),
        (
            report_json("db-9", "report-000003", "2026-11-01T11:00:00Z", &check).to_string(),
            403,
            "wrong-host",
            Some("host"),
        ),
        (
            report_json(
                "web-1",
                "report-000004",
                "2026-11-01T11:00:00Z",
                "no.such.check",
            )
            .to_string(),
            422,
            "unknown-check",
            Some("results[0].check"),
        ),
        (
            report_json("web-1", "report-000005", "2026-11-01T09:00:00Z", &check).to_string(),
            409,
            "out-of-order",
            None,
        ),
        (
            format!(
                "{{\"pad\": \"{}\"}}",
                "x".repeat(attest_model::MAX_REPORT_BYTES + 1)
            ),
            413,
            "too-large",
            None,
        ),
    ];
    for (body, want_status, want_code, want_field) in cases {
        let (status, answer) = server.push(&token, &body);
        assert_eq!(status, want_status, "{answer}");
        assert_eq!(answer["error"]["code"], want_code, "{answer}");
        if let Some(field) = want_field {
            assert_eq!(answer["error"]["field"], field, "{answer}");
        }
        assert!(!answer["error"]["message"].as_str().unwrap_or("").is_empty());
    }
    let mut wrong_type = server
        .http
        .post(format!("{}/api/v1/reports", server.base))
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "text/plain")
        .send(good.as_str())
        .unwrap();
    assert_eq!(wrong_type.status().as_u16(), 415);
    let _ = wrong_type.body_mut().read_to_string();
    let (status, _) = server.push("atk_0000", &good);
    assert_eq!(status, 401);
    // Only the good report was recorded.
    let targets = server.fixture.state.backend().targets().unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].runs, 1);
    // A revoked token stops working at once.
    server
        .fixture
        .state
        .backend()
        .revoke_host(
            "web-1",
            Actor {
                by: "test",
                at: Timestamp::now(),
            },
        )
        .unwrap();
    let next = report_json("web-1", "report-000006", "2026-11-01T12:00:00Z", &check).to_string();
    assert_eq!(server.push(&token, &next).0, 401);
}

/// People: log in, read, upload evidence (readiness changes), log out; wrong passwords are
/// limited per user name.
#[test]
fn a_person_logs_in_uploads_evidence_and_readiness_changes() {
    person_flow(&running());
}

/// The same on PostgreSQL.
#[test]
fn a_person_logs_in_uploads_evidence_and_readiness_changes_on_postgres() {
    person_flow(&running_on(postgres_fixture()));
}

fn person_flow(server: &Running) {
    let (status, session) = server.login("editor", "correct horse battery");
    assert_eq!(status, 200);
    let (cookie, csrf) = session.unwrap();
    let (status, before) = server.get_json(&cookie, "/api/v1/readiness");
    assert_eq!(status, 200);
    // A control evidenced by documents, with none yet.
    let control = before["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["evidence"].is_null() && c["kind"] != "automated" && c["status"] != "operating")
        .expect("a control waiting for evidence")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let boundary = "XattestX";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"control\"\r\n\r\n{control}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"review.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF-1.4 quarterly review\r\n--{boundary}--\r\n"
    );
    let mut response = server
        .http
        .post(format!("{}/api/v1/evidence", server.base))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send(body.as_str())
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        201,
        "{}",
        response.body_mut().read_to_string().unwrap()
    );
    let (_, after) = server.get_json(&cookie, "/api/v1/readiness");
    let status_of = |report: &serde_json::Value| {
        report["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == control.as_str())
            .unwrap()["status"]
            .clone()
    };
    assert_ne!(
        status_of(&before),
        status_of(&after),
        "uploading evidence changes {control}"
    );
    assert!(
        after["summary"]["readiness_percent"].as_f64()
            > before["summary"]["readiness_percent"].as_f64()
            || after["controls"] != before["controls"]
    );
    // The upload is in the ledger, by the editor.
    let (_, evidence) = server.get_json(&cookie, "/api/v1/evidence");
    assert_eq!(evidence[0]["added_by"], "editor");
    // Logging out ends the session.
    let response = server
        .http
        .delete(format!("{}/api/v1/session", server.base))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(server.get_json(&cookie, "/api/v1/readiness").0, 401);
    // Five wrong passwords, then even the right one is refused for a while.
    for _ in 0..5 {
        assert_eq!(server.login("auditor", "wrong password!!").0, 401);
    }
    assert_eq!(server.login("auditor", "correct horse battery").0, 429);
    assert_eq!(server.login("nobody", "correct horse battery").0, 401);
}

/// The OpenAPI document is served, and lists the agent push with its schema.
#[test]
fn the_openapi_document_is_served() {
    let server = running();
    let mut response = server
        .http
        .get(format!("{}/api/openapi.json", server.base))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let document: serde_json::Value = response.body_mut().read_json().unwrap();
    let push = &document["paths"]["/api/v1/reports"]["post"];
    assert_eq!(push["x-roles"], serde_json::json!(["agent"]));
    assert!(
        push["requestBody"]["content"]["application/json"]["schema"]["properties"]["report_id"]
            .is_object()
    );
}

/// A failing high-severity result pushed by an agent opens a finding at the next sweep, with
/// its trail; a second sweep changes nothing.
#[test]
fn failing_reports_open_findings_at_the_sweep() {
    let server = running();
    let state = &server.fixture.state;
    let check = state
        .workspace()
        .controls
        .iter()
        .flat_map(|c| c.checks.iter())
        .find(|id| {
            state
                .workspace()
                .checks
                .iter()
                .any(|c| &c.id == *id && c.source == "host")
        })
        .unwrap()
        .clone();
    let body = report_json("web-1", "report-000010", "2026-11-01T10:00:00Z", &check).to_string();
    assert_eq!(server.push(&server.fixture.agent_token, &body).0, 201);
    // The server's own path: planned on a low-priority thread, saved on the blocking pool.
    let opened = runtime()
        .block_on(findings::sweep_in_background(state))
        .unwrap();
    assert_eq!(opened, 1);
    assert_eq!(findings::sweep(state).unwrap(), 0);
    let (_, session) = server.login("auditor", "correct horse battery");
    let (cookie, _) = session.unwrap();
    let (status, list) = server.get_json(&cookie, "/api/v1/findings");
    assert_eq!(status, 200);
    let id = list[0]["id"].as_i64().unwrap();
    let (_, detail) = server.get_json(&cookie, &format!("/api/v1/findings/{id}"));
    assert_eq!(detail["trail"][0]["event"], "opened");
    assert!(
        detail["finding"]["resources"].to_string().contains("web-1"),
        "{detail}"
    );
}

/// An auditor downloads the package of the period; it verifies with the library an auditor
/// runs, under the server's ledger key.
#[test]
fn an_auditor_downloads_a_package_that_verifies() {
    let server = running();
    let check = server.fixture.state.workspace().checks[0].id.clone();
    let body = report_json(
        "web-1",
        "report-000020",
        &Timestamp::now().to_string(),
        &check,
    )
    .to_string();
    assert_eq!(server.push(&server.fixture.agent_token, &body).0, 201);
    let (_, session) = server.login("auditor", "correct horse battery");
    let (cookie, _) = session.unwrap();
    let today = crate::views::today();
    let mut response = server
        .http
        .get(format!(
            "{}/api/v1/package?start={}&end={today}&seed=42",
            server.base,
            today.checked_sub(jiff::Span::new().days(7)).unwrap()
        ))
        .header("cookie", &cookie)
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-attest-sample-seed"], "42");
    let bytes = response
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    let key = key().public();
    let outcome =
        attest_package::verify(std::io::Cursor::new(bytes), "download.zip", Some(&key)).unwrap();
    assert!(
        matches!(outcome, attest_package::VerifyOutcome::Intact(_)),
        "{outcome:?}"
    );
    // A period that ends before it starts is refused, naming the field.
    let (status, answer) =
        server.get_json(&cookie, "/api/v1/package?start=2026-05-01&end=2026-04-01");
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["field"], "end");
}

/// Two app servers on one PostgreSQL database are interchangeable: a session started on one
/// works on the other, a report pushed to one is seen (and recognised as a duplicate) by the
/// other, and failed logins count on both.
#[test]
fn app_servers_sharing_a_postgres_database_keep_no_state_of_their_own() {
    let schema = attest_store_postgres::testing::Schema::new();
    let second = schema.store();
    let first = running_on(fixture_on(Arc::new(schema.store()), Guard::Schema(schema)));
    let (workspace, _) = attest_catalog::load(None);
    let other_state = AppState::new(
        Arc::new(second),
        workspace,
        ServerOptions::default(),
        Some(key()),
    )
    .unwrap();
    let other = {
        let (tx, rx) = std::sync::mpsc::channel();
        let state = other_state.clone();
        std::thread::spawn(move || {
            runtime().block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                serve(listener, state, std::future::pending())
                    .await
                    .unwrap();
            });
        });
        format!("http://{}", rx.recv().unwrap())
    };
    let (_, session) = first.login("admin", "correct horse battery");
    let (cookie, _) = session.unwrap();
    let mut response = first
        .http
        .get(format!("{other}/api/v1/me"))
        .header("cookie", &cookie)
        .call()
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        200,
        "a session of one server works on the other"
    );
    let me: serde_json::Value = response.body_mut().read_json().unwrap();
    assert_eq!(me["user"], "admin");

    let check = first.fixture.state.workspace().checks[0].id.clone();
    let body = report_json("web-1", "report-000030", "2026-11-01T10:00:00Z", &check).to_string();
    let push = |base: &str| {
        let mut response = first
            .http
            .post(format!("{base}/api/v1/reports"))
            .header(
                "authorization",
                &format!("Bearer {}", first.fixture.agent_token),
            )
            .header("content-type", "application/json")
            .send(body.as_str())
            .unwrap();
        let status = response.status().as_u16();
        let json: serde_json::Value = response.body_mut().read_json().unwrap();
        (status, json)
    };
    let (status, recorded) = push(&other);
    assert_eq!(status, 201);
    let (status, again) = push(&first.base);
    assert_eq!(status, 200, "the first server sees the second one's report");
    assert_eq!(again["run_id"], recorded["run_id"]);
    for _ in 0..3 {
        assert_eq!(first.login("editor", "wrong password!!").0, 401);
    }
    let mut failures = 0;
    for _ in 0..3 {
        let mut response = first
            .http
            .post(format!("{other}/api/v1/session"))
            .header("content-type", "application/json")
            .send(r#"{"name":"editor","password":"wrong password!!"}"#)
            .unwrap();
        if response.status().as_u16() == 429 {
            failures += 1;
        }
        let _ = response.body_mut().read_to_string();
    }
    assert!(
        failures >= 1,
        "failed logins on one server count on the other"
    );
}

/// The trend counts, at each day's end, each series' latest result no older than `max_gap`:
/// a result observed an hour before midnight is current at midnight.
#[test]
fn the_trend_takes_each_results_latest_status_at_each_days_end() {
    let server = running();
    let state = &server.fixture.state;
    let check = state
        .workspace()
        .controls
        .iter()
        .filter(|c| c.criteria.iter().any(|id| id.starts_with("CC")))
        .flat_map(|c| c.checks.iter())
        .find(|id| {
            state
                .workspace()
                .checks
                .iter()
                .any(|c| &c.id == *id && c.source == "host")
        })
        .unwrap()
        .clone();
    let today = crate::views::today();
    let at = |days_ago: i64| {
        let date = today.checked_sub(jiff::Span::new().days(days_ago)).unwrap();
        date.at(23, 0, 0, 0)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .unwrap()
            .timestamp()
    };
    let now = Timestamp::now() - jiff::SignedDuration::from_secs(60);
    for (i, (observed_at, status)) in [(at(2), "pass"), (at(1), "fail"), (now, "pass")]
        .into_iter()
        .enumerate()
    {
        let body = report_json(
            "web-1",
            &format!("report-trend-{i}"),
            &observed_at.to_string(),
            &check,
        )
        .to_string()
        .replace("\"fail\"", &format!("\"{status}\""));
        assert_eq!(server.push(&server.fixture.agent_token, &body).0, 201);
    }
    let trend = crate::views::trend(state, 3).unwrap();
    let security: Vec<Option<f64>> = trend
        .iter()
        .map(|p| p.categories.get(&attest_model::Category::Security).copied())
        .collect();
    assert_eq!(security, [Some(100.0), Some(0.0), Some(100.0)], "{trend:?}");
    assert!(trend.iter().all(|p| p.results == 1), "{trend:?}");
}
