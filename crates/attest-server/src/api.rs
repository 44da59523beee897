//! The JSON API under `/api/v1`: everything the web UI does.

use std::net::SocketAddr;

use attest_model::{AgentReport, CheckResult, FindingStatus, NewEvidence, Role, RunRecord};
use attest_store::ReportOutcome;
use attest_store::accounts::{Actor, NewUser};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::auth::{self, Caller, PendingCsrf};
use crate::error::ApiError;
use crate::ingest::{Job, QueueError};
use crate::{AppState, views};

/// Largest evidence upload, in bytes.
pub const MAX_EVIDENCE_BYTES: usize = 64 * 1024 * 1024;

/// The API routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/session", post(login).delete(logout))
        .route("/api/v1/me", get(me))
        .route(
            "/api/v1/reports",
            post(push_report).layer(DefaultBodyLimit::max(attest_model::MAX_REPORT_BYTES)),
        )
        .route("/api/v1/readiness", get(readiness))
        .route("/api/v1/readiness/trend", get(trend))
        .route("/api/v1/criteria", get(criteria))
        .route("/api/v1/controls", get(controls))
        .route("/api/v1/controls/{id}", get(control))
        .route("/api/v1/hosts", get(hosts).post(add_host))
        .route("/api/v1/hosts/{name}", get(host).delete(revoke_host))
        .route("/api/v1/hosts/{name}/token", post(rotate_token))
        .route("/api/v1/findings", get(findings))
        .route("/api/v1/findings/{id}", get(finding).post(change_finding))
        .route(
            "/api/v1/evidence",
            get(evidence)
                .post(upload_evidence)
                .layer(DefaultBodyLimit::max(MAX_EVIDENCE_BYTES)),
        )
        .route("/api/v1/evidence/{id}/content", get(evidence_content))
        .route("/api/v1/timeline", get(timeline))
        .route("/api/v1/reports/{kind}", get(report))
        .route("/api/v1/package", get(package))
        .route("/api/v1/users", get(users).post(add_user))
        .route("/healthz", get(health))
}

fn caller_name(caller: &Caller) -> String {
    caller.name().to_owned()
}

// ---------------------------------------------------------------- sessions

/// Login request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// User name.
    pub name: String,
    /// Password.
    pub password: String,
}

/// The logged-in user.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Me {
    /// User name.
    pub user: String,
    /// Role.
    pub role: Role,
    /// Token to send as `X-CSRF-Token` with every state-changing request.
    pub csrf_token: String,
}

async fn login(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: LoginRequest = parse_json(&body)?;
    let client = connect.map(|Extension(ConnectInfo(addr))| addr);
    let login = state
        .blocking(move |state| auth::login(state, &request.name, &request.password, client))
        .await?;
    let cookie = auth::session_cookie(&state, &login.session_id);
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(Me {
            user: login.user.name,
            role: login.user.role,
            csrf_token: login.csrf_token,
        }),
    )
        .into_response())
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(id) = auth::session_id(&headers) {
        let hash = auth::secret_sha256(id);
        state
            .blocking(move |state| Ok(state.backend().delete_session(&hash)?))
            .await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, auth::clear_cookie(&state))],
    )
        .into_response())
}

async fn me(Extension(caller): Extension<Caller>) -> Result<Json<Me>, ApiError> {
    match caller {
        Caller::User {
            name,
            role,
            csrf_token,
        } => Ok(Json(Me {
            user: name,
            role,
            csrf_token,
        })),
        Caller::Agent { .. } => Err(ApiError::forbidden("agents have no user")),
    }
}

// ---------------------------------------------------------------- agent reports

/// What became of a pushed report.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReportReceipt {
    /// The report id.
    pub report_id: String,
    /// The run it is recorded as.
    pub run_id: i64,
    /// Whether it had been recorded before (nothing new was written).
    pub duplicate: bool,
}

/// Parses JSON, naming the offending field on error.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // The plain parser is several times faster than one tracking its path; a body it refuses
    // is parsed again to name the field.
    let plain = match serde_json::from_slice(body) {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        // A well-formed value followed by something else.
        Ok(_) => Err(ApiError::bad_request("invalid-json", plain.to_string())),
        Err(err) => {
            let field = err.path().to_string();
            let mut error = ApiError::bad_request("invalid-json", err.into_inner().to_string());
            if field != "." {
                error = error.field(field);
            }
            Err(error)
        }
    }
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send the report as `application/json`",
        ))
    }
}

async fn push_report(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let Caller::Agent { host } = caller else {
        return Err(ApiError::forbidden("only agents push reports"));
    };
    require_json(&headers)?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!(
                    "a report may have at most {} bytes",
                    attest_model::MAX_REPORT_BYTES
                ),
            )
        } else {
            ApiError::bad_request("invalid-report", rejection.body_text())
        }
    })?;
    let report: AgentReport = parse_json(&body).map_err(|mut e| {
        e.code = "invalid-report";
        e
    })?;
    report.validate().map_err(|problem| {
        ApiError::bad_request("invalid-report", problem.problem).field(problem.field)
    })?;
    if report.host != host {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong-host",
            format!(
                "this agent token belongs to host `{host}`, not `{}`",
                report.host
            ),
        )
        .field("host"));
    }
    if let Some((i, unknown)) = report
        .results
        .iter()
        .enumerate()
        .find(|(_, r)| !state.knows_check(&r.check))
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-check",
            format!("the server knows no check `{}`", unknown.check),
        )
        .field(format!("results[{i}].check")));
    }
    let (reply, answer) = oneshot::channel();
    let report_id = report.report_id.clone();
    let job = Job {
        report_id: report.report_id,
        run: RunRecord {
            source: "host".into(),
            target: report.host,
            observed_at: report.observed_at,
            max_gap: state.workspace().monitoring.max_gap,
        },
        results: report.results.into_iter().map(CheckResult::from).collect(),
        reply,
        queued: std::time::Instant::now(),
    };
    match state.ingest().submit(job) {
        Ok(()) => {}
        Err(QueueError::Full) => {
            return Err(ApiError::busy(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is busy; the report was not recorded, send it again",
                1,
            ));
        }
        Err(QueueError::Stopped) => {
            return Err(ApiError::busy(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is stopping; the report was not recorded, send it again",
                5,
            ));
        }
    }
    let outcome = answer
        .await
        .map_err(|_| ApiError::internal("the ingest writer dropped a report"))??;
    let (status, duplicate) = match outcome {
        ReportOutcome::Recorded(_) => (StatusCode::CREATED, false),
        ReportOutcome::Duplicate { .. } => (StatusCode::OK, true),
    };
    Ok((
        status,
        Json(ReportReceipt {
            report_id,
            run_id: outcome.run_id(),
            duplicate,
        }),
    )
        .into_response())
}

// ---------------------------------------------------------------- reading

async fn readiness(
    State(state): State<AppState>,
) -> Result<Json<attest_report::readiness::ReadinessReport>, ApiError> {
    Ok(Json(state.blocking(views::readiness).await?))
}

/// Query of the trend.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TrendQuery {
    /// Days up to today (1 to 366; 30 by default).
    pub days: Option<u16>,
}

async fn trend(
    State(state): State<AppState>,
    Query(query): Query<TrendQuery>,
) -> Result<Json<Vec<views::TrendPoint>>, ApiError> {
    let days = query.days.unwrap_or(30).clamp(1, 366);
    Ok(Json(state.blocking(move |s| views::trend(s, days)).await?))
}

async fn criteria(
    State(state): State<AppState>,
) -> Result<Json<Vec<attest_report::readiness::CriterionReadiness>>, ApiError> {
    Ok(Json(state.blocking(views::readiness).await?.criteria))
}

async fn controls(
    State(state): State<AppState>,
) -> Result<Json<Vec<attest_report::readiness::ControlReadiness>>, ApiError> {
    Ok(Json(state.blocking(views::readiness).await?.controls))
}

/// One control with its definition, status, checks' current results and evidence.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ControlDetail {
    /// The control as defined.
    pub control: attest_model::Control,
    /// Its readiness.
    pub readiness: attest_report::readiness::ControlReadiness,
    /// Current results of its checks.
    pub results: Vec<attest_model::ResultInterval>,
    /// Its evidence, oldest first.
    pub evidence: Vec<attest_model::EvidenceRecord>,
}

/// The detail of control `id`.
pub fn control_detail(state: &AppState, id: &str) -> Result<ControlDetail, ApiError> {
    let control = state
        .workspace()
        .control(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("there is no control `{id}`")))?;
    let readiness = views::readiness(state)?
        .controls
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::not_found(format!("control `{id}` is out of scope")))?;
    let results = state
        .backend()
        .current_results()?
        .into_iter()
        .filter(|r| control.checks.contains(&r.check))
        .collect();
    let evidence = state.backend().list_evidence(Some(id))?;
    Ok(ControlDetail {
        control,
        readiness,
        results,
        evidence,
    })
}

async fn control(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ControlDetail>, ApiError> {
    Ok(Json(state.blocking(move |s| control_detail(s, &id)).await?))
}

async fn hosts(State(state): State<AppState>) -> Result<Json<Vec<views::HostSummary>>, ApiError> {
    Ok(Json(state.blocking(views::hosts).await?))
}

async fn host(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Vec<attest_model::ResultInterval>>, ApiError> {
    Ok(Json(
        state
            .blocking(move |s| views::host_results(s, &name))
            .await?,
    ))
}

async fn findings(
    State(state): State<AppState>,
) -> Result<Json<Vec<attest_model::Finding>>, ApiError> {
    Ok(Json(state.blocking(|s| Ok(s.backend().findings()?)).await?))
}

/// One finding with its trail.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FindingDetail {
    /// The finding now.
    pub finding: attest_model::Finding,
    /// Every change, oldest first.
    pub trail: Vec<attest_model::FindingEvent>,
}

/// The finding `id` with its trail.
pub fn finding_detail(state: &AppState, id: i64) -> Result<FindingDetail, ApiError> {
    let finding = state
        .backend()
        .findings()?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or_else(|| ApiError::not_found(format!("there is no finding {id}")))?;
    let trail = state.backend().finding_history(id)?;
    Ok(FindingDetail { finding, trail })
}

async fn finding(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<FindingDetail>, ApiError> {
    Ok(Json(state.blocking(move |s| finding_detail(s, id)).await?))
}

/// A change to a finding.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingChangeRequest {
    /// `update`, `close` or `accept_risk`.
    pub action: String,
    /// For `update`: `open` or `in_progress`.
    pub status: Option<String>,
    /// For `update`: new owner.
    pub owner: Option<String>,
    /// For `update`: new due date (YYYY-MM-DD).
    pub due: Option<String>,
    /// For `close`: the root cause.
    pub root_cause: Option<String>,
    /// For `close`: the corrective action taken.
    pub corrective_action: Option<String>,
    /// For `accept_risk`: why the risk is accepted.
    pub reason: Option<String>,
    /// For `accept_risk`: until when (YYYY-MM-DD).
    pub until: Option<String>,
    /// Free text recorded with the change.
    pub note: Option<String>,
}

fn non_empty(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn end_of_day(text: &str, field: &str) -> Result<Timestamp, ApiError> {
    let date: jiff::civil::Date = text.trim().parse().map_err(|_| {
        ApiError::bad_request(
            "invalid-date",
            format!("`{text}` is not a date (YYYY-MM-DD)"),
        )
        .field(field)
    })?;
    date.to_zoned(jiff::tz::TimeZone::system())
        .and_then(|z| z.end_of_day())
        .map(|z| z.timestamp())
        .map_err(ApiError::internal)
}

/// Applies `change` to finding `id` as `by`; every change is a ledger entry.
pub fn change_finding_as(
    state: &AppState,
    id: i64,
    change: &FindingChangeRequest,
    by: &str,
) -> Result<attest_model::Finding, ApiError> {
    let before = finding_detail(state, id)?.finding;
    if !before.status.is_active() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "finding-closed",
            format!("finding {id} is {}; it can no longer change", before.status),
        ));
    }
    let mut finding = before.clone();
    let now = Timestamp::now();
    let note = non_empty(change.note.as_ref());
    let event = match change.action.as_str() {
        "update" => {
            if let Some(status) = non_empty(change.status.as_ref()) {
                finding.status = match status.as_str() {
                    "open" => FindingStatus::Open,
                    "in_progress" => FindingStatus::InProgress,
                    other => {
                        return Err(ApiError::bad_request(
                            "invalid-status",
                            format!("`{other}` is not `open` or `in_progress`"),
                        )
                        .field("status"));
                    }
                };
            }
            if let Some(owner) = non_empty(change.owner.as_ref()) {
                finding.owner = owner;
            }
            if let Some(due) = non_empty(change.due.as_ref()) {
                finding.due_at = end_of_day(&due, "due")?;
            }
            if finding == before && note.is_none() {
                return Err(ApiError::bad_request(
                    "nothing-to-change",
                    "give a status, owner, due date or note",
                ));
            }
            "updated"
        }
        "close" => {
            let (Some(root_cause), Some(action)) = (
                non_empty(change.root_cause.as_ref()),
                non_empty(change.corrective_action.as_ref()),
            ) else {
                return Err(ApiError::bad_request(
                    "missing-field",
                    "closing a finding needs a root cause and a corrective action",
                )
                .field("root_cause"));
            };
            if finding.source == attest_model::FindingSource::Automated
                && finding.fixed_at.is_none()
            {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "still-failing",
                    format!(
                        "finding {id} cannot be closed: its control has not passed since; fix it, or accept the risk"
                    ),
                ));
            }
            finding.root_cause = Some(root_cause);
            finding.corrective_action = Some(action);
            finding.status = FindingStatus::Closed;
            finding.closed_at = Some(now);
            "closed"
        }
        "accept_risk" => {
            let Some(reason) = non_empty(change.reason.as_ref()) else {
                return Err(ApiError::bad_request(
                    "missing-field",
                    "accepting a risk needs a reason",
                )
                .field("reason"));
            };
            finding.status = FindingStatus::RiskAccepted;
            finding.risk_reason = Some(reason);
            finding.risk_until = non_empty(change.until.as_ref())
                .map(|until| end_of_day(&until, "until"))
                .transpose()?;
            "risk_accepted"
        }
        other => {
            return Err(ApiError::bad_request(
                "invalid-action",
                format!("`{other}` is not `update`, `close` or `accept_risk`"),
            )
            .field("action"));
        }
    };
    Ok(state.backend().save_finding(
        &finding,
        &attest_store::FindingChange {
            event,
            by,
            note: note.as_deref(),
            at: now,
        },
    )?)
}

async fn change_finding(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<attest_model::Finding>, ApiError> {
    let change: FindingChangeRequest = parse_json(&body)?;
    let by = caller_name(&caller);
    Ok(Json(
        state
            .blocking(move |s| change_finding_as(s, id, &change, &by))
            .await?,
    ))
}

async fn evidence(
    State(state): State<AppState>,
) -> Result<Json<Vec<attest_model::EvidenceRecord>>, ApiError> {
    Ok(Json(
        state
            .blocking(|s| Ok(s.backend().list_evidence(None)?))
            .await?,
    ))
}

/// A file to keep as evidence of a control.
#[derive(Debug, Clone, Default)]
pub struct Upload {
    /// The control.
    pub control: String,
    /// File name as uploaded.
    pub file_name: String,
    /// Content.
    pub content: Vec<u8>,
    /// Note.
    pub note: Option<String>,
    /// The day the evidence speaks for (YYYY-MM-DD); today by default.
    pub effective_date: Option<String>,
    /// The CSRF token sent in the form.
    pub csrf_token: Option<String>,
}

/// Reads a multipart upload (fields `control`, `file`, `note`, `effective_date`,
/// `csrf_token`).
pub async fn read_upload(mut multipart: Multipart) -> Result<Upload, ApiError> {
    let mut upload = Upload::default();
    let mut has_file = false;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request("invalid-upload", e.body_text()))?
    {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            upload.file_name = field.file_name().unwrap_or("evidence").to_owned();
            upload.content = field
                .bytes()
                .await
                .map_err(|e| ApiError::new(e.status(), "invalid-upload", e.body_text()))?
                .to_vec();
            has_file = true;
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|e| ApiError::bad_request("invalid-upload", e.body_text()))?;
        match name.as_str() {
            "control" => text.trim().clone_into(&mut upload.control),
            "note" => upload.note = Some(text.trim().to_owned()).filter(|t| !t.is_empty()),
            "effective_date" => {
                upload.effective_date = Some(text.trim().to_owned()).filter(|t| !t.is_empty());
            }
            "csrf_token" => upload.csrf_token = Some(text),
            other => {
                return Err(ApiError::bad_request(
                    "invalid-upload",
                    format!("unexpected form field `{other}`"),
                )
                .field(other.to_owned()));
            }
        }
    }
    if !has_file {
        return Err(ApiError::bad_request("invalid-upload", "no `file` field").field("file"));
    }
    Ok(upload)
}

/// Checks and stores an upload as evidence added by `by`.
pub fn store_upload(
    state: &AppState,
    upload: &Upload,
    by: &str,
    pending: Option<&PendingCsrf>,
) -> Result<attest_model::EvidenceRecord, ApiError> {
    if let Some(PendingCsrf(expected)) = pending {
        let given = upload.csrf_token.as_deref().unwrap_or("");
        if !auth::same_secret(given, expected) {
            return Err(ApiError::forbidden("missing or wrong CSRF token"));
        }
    }
    if state.workspace().control(&upload.control).is_none() {
        return Err(ApiError::bad_request(
            "unknown-control",
            format!("there is no control `{}`", upload.control),
        )
        .field("control"));
    }
    let file_name = upload
        .file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("evidence")
        .chars()
        .filter(|c| !c.is_control())
        .take(255)
        .collect::<String>();
    if file_name.is_empty() || upload.content.is_empty() {
        return Err(ApiError::bad_request("invalid-upload", "the file is empty").field("file"));
    }
    let effective_date = match &upload.effective_date {
        Some(text) => text.parse().map_err(|_| {
            ApiError::bad_request(
                "invalid-date",
                format!("`{text}` is not a date (YYYY-MM-DD)"),
            )
            .field("effective_date")
        })?,
        None => views::today(),
    };
    if effective_date > views::today() {
        return Err(ApiError::bad_request(
            "invalid-date",
            "evidence cannot be effective in the future",
        )
        .field("effective_date"));
    }
    let backend = state.backend();
    let sha256 = backend.put_object(&upload.content)?;
    Ok(backend.add_evidence(&NewEvidence {
        control: upload.control.clone(),
        file_name,
        sha256,
        size: upload.content.len() as u64,
        note: upload.note.clone(),
        effective_date,
        added_at: Timestamp::now(),
        added_by: by.to_owned(),
    })?)
}

async fn upload_evidence(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    pending: Option<Extension<PendingCsrf>>,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let upload = read_upload(multipart).await?;
    let by = caller_name(&caller);
    let record = state
        .blocking(move |s| store_upload(s, &upload, &by, pending.as_ref().map(|p| &p.0)))
        .await?;
    Ok((StatusCode::CREATED, Json(record)).into_response())
}

async fn evidence_content(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (record, content) = state
        .blocking(move |s| {
            let record = s
                .backend()
                .list_evidence(None)?
                .into_iter()
                .find(|e| e.id == id)
                .ok_or_else(|| ApiError::not_found(format!("there is no evidence {id}")))?;
            let content = s.backend().read_object(&record.sha256)?;
            Ok((record, content))
        })
        .await?;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        record.file_name.replace(['"', '\\'], "_")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        content,
    )
        .into_response())
}

async fn timeline(
    State(state): State<AppState>,
) -> Result<Json<attest_report::type2::Type2Report>, ApiError> {
    Ok(Json(state.blocking(type2).await?))
}

/// The Type 2 report of the audit period (or the last 90 days), with a fixed sample seed.
pub fn type2(state: &AppState) -> Result<attest_report::type2::Type2Report, ApiError> {
    let period = views::period(state)?;
    Ok(attest_report::type2::type2(
        attest_report::type2::Type2Input {
            workspace: state.workspace(),
            store: state.backend().as_ref(),
            period,
            seed: 0,
            generated_at: Timestamp::now(),
        },
    )?)
}

/// Format of a downloaded report.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReportQuery {
    /// `html` (default) or `json`.
    pub format: Option<String>,
}

async fn report(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let format = match query.format.as_deref().unwrap_or("html") {
        "html" => attest_report::ReportFormat::Html,
        "json" => attest_report::ReportFormat::Json,
        other => {
            return Err(ApiError::bad_request(
                "invalid-format",
                format!("`{other}` is not `html` or `json`"),
            )
            .field("format"));
        }
    };
    let text = state
        .blocking(move |s| {
            let rendered = match kind.as_str() {
                "readiness" => attest_report::render(&views::readiness(s)?, format),
                "type1" => attest_report::render_type1(
                    &attest_report::type1::type1(
                        s.workspace(),
                        s.backend().as_ref(),
                        views::today(),
                        Timestamp::now(),
                    )?,
                    format,
                ),
                "type2" => attest_report::render_type2(&type2(s)?, format),
                other => {
                    return Err(ApiError::not_found(format!(
                        "there is no report `{other}`; use readiness, type1 or type2"
                    )));
                }
            };
            rendered.map_err(ApiError::internal)
        })
        .await?;
    let content_type = match format {
        attest_report::ReportFormat::Json => "application/json",
        _ => "text/html; charset=utf-8",
    };
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

/// Which period the package covers.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PackageQuery {
    /// First day (YYYY-MM-DD); the audit period's by default.
    pub start: Option<String>,
    /// Last day (YYYY-MM-DD); the audit period's by default.
    pub end: Option<String>,
    /// Seed of the sample draws; random by default (the package records it).
    pub seed: Option<u64>,
}

fn date_field(text: &str, field: &str) -> Result<jiff::civil::Date, ApiError> {
    text.trim().parse().map_err(|_| {
        ApiError::bad_request(
            "invalid-date",
            format!("`{text}` is not a date (YYYY-MM-DD)"),
        )
        .field(field)
    })
}

/// Exports the auditor package of `period` into a temporary file (unlinked once open).
fn export_package(
    state: &AppState,
    period: attest_model::Period,
    seed: u64,
) -> Result<std::fs::File, ApiError> {
    let key = state.key().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-key",
            "this server has no ledger key to sign the package with",
        )
    })?;
    let mut file = tempfile::tempfile().map_err(ApiError::internal)?;
    attest_package::export(
        attest_package::ExportInput {
            workspace: state.workspace(),
            store: state.backend().as_ref(),
            key,
            period,
            seed,
            generated_at: Timestamp::now(),
        },
        std::io::BufWriter::new(&mut file),
    )
    .map_err(ApiError::internal)?;
    std::io::Seek::rewind(&mut file).map_err(ApiError::internal)?;
    Ok(file)
}

async fn package(
    State(state): State<AppState>,
    Query(query): Query<PackageQuery>,
) -> Result<Response, ApiError> {
    let default = state.blocking(views::period).await?;
    let period = attest_model::Period {
        start: query
            .start
            .as_deref()
            .map(|t| date_field(t, "start"))
            .transpose()?
            .unwrap_or(default.start),
        end: query
            .end
            .as_deref()
            .map(|t| date_field(t, "end"))
            .transpose()?
            .unwrap_or(default.end),
    };
    if period.end < period.start {
        return Err(
            ApiError::bad_request("invalid-period", "the period ends before it starts")
                .field("end"),
        );
    }
    let seed = if let Some(seed) = query.seed {
        seed
    } else {
        let mut bytes = [0_u8; 8];
        getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
        u64::from_le_bytes(bytes) % 1_000_000_000_000
    };
    let file = state
        .blocking(move |s| export_package(s, period, seed))
        .await?;
    let name = format!("attest-package-{}-{}.zip", period.start, period.end);
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (
                header::HeaderName::from_static("x-attest-sample-seed"),
                seed.to_string(),
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

// ---------------------------------------------------------------- administration

/// A user as listed (never with the password hash).
#[derive(Debug, Serialize, JsonSchema)]
pub struct UserSummary {
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Whether the user may no longer log in.
    pub disabled: bool,
    /// When they were added (RFC 3339).
    #[schemars(with = "String")]
    pub created_at: Timestamp,
}

async fn users(State(state): State<AppState>) -> Result<Json<Vec<UserSummary>>, ApiError> {
    let users = state.blocking(|s| Ok(s.backend().users()?)).await?;
    Ok(Json(
        users
            .into_iter()
            .map(|u| UserSummary {
                name: u.name,
                role: u.role,
                disabled: u.disabled,
                created_at: u.created_at,
            })
            .collect(),
    ))
}

/// A user to add.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// Name.
    pub name: String,
    /// Role: admin, editor or auditor.
    pub role: Role,
    /// Password (at least 12 characters).
    pub password: String,
}

/// Adds a user as `by`.
pub fn add_user_as(
    state: &AppState,
    request: &NewUserRequest,
    by: &str,
) -> Result<UserSummary, ApiError> {
    if let Some(problem) = auth::name_problem(&request.name) {
        return Err(ApiError::bad_request("invalid-name", problem).field("name"));
    }
    if request.role == Role::Agent {
        return Err(ApiError::bad_request(
            "invalid-role",
            "agents are hosts, not users: register the host instead",
        )
        .field("role"));
    }
    if let Some(problem) = auth::password_problem(&request.password) {
        return Err(ApiError::bad_request("weak-password", problem).field("password"));
    }
    let hash = auth::hash_password(&request.password).map_err(ApiError::internal)?;
    let user = state.backend().add_user(
        &NewUser {
            name: &request.name,
            role: request.role,
            password_hash: &hash,
        },
        Actor {
            by,
            at: Timestamp::now(),
        },
    )?;
    Ok(UserSummary {
        name: user.name,
        role: user.role,
        disabled: user.disabled,
        created_at: user.created_at,
    })
}

async fn add_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: NewUserRequest = parse_json(&body)?;
    let by = caller_name(&caller);
    let user = state
        .blocking(move |s| add_user_as(s, &request, &by))
        .await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

/// A host to register.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHostRequest {
    /// Host name, as its agent reports it.
    pub name: String,
}

/// A registered host and its agent token, shown once.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HostToken {
    /// Host name.
    pub name: String,
    /// The agent token; the server keeps only its hash.
    pub token: String,
}

/// Registers host `name` as `by`, or gives it a new token; returns the token.
pub fn issue_host_token(
    state: &AppState,
    name: &str,
    by: &str,
    rotate: bool,
) -> Result<HostToken, ApiError> {
    if let Some(problem) = auth::name_problem(name) {
        return Err(ApiError::bad_request("invalid-name", problem).field("name"));
    }
    let token = auth::new_agent_token().map_err(ApiError::internal)?;
    let hash = auth::secret_sha256(&token);
    let actor = Actor {
        by,
        at: Timestamp::now(),
    };
    if rotate {
        state.backend().rotate_host_token(name, &hash, actor)?;
    } else {
        state.backend().add_host(name, &hash, actor)?;
    }
    Ok(HostToken {
        name: name.to_owned(),
        token,
    })
}

async fn add_host(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: NewHostRequest = parse_json(&body)?;
    let by = caller_name(&caller);
    let token = state
        .blocking(move |s| issue_host_token(s, &request.name, &by, false))
        .await?;
    Ok((StatusCode::CREATED, Json(token)).into_response())
}

async fn rotate_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Json<HostToken>, ApiError> {
    let by = caller_name(&caller);
    Ok(Json(
        state
            .blocking(move |s| issue_host_token(s, &name, &by, true))
            .await?,
    ))
}

async fn revoke_host(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let by = caller_name(&caller);
    state
        .blocking(move |s| {
            s.backend().revoke_host(
                &name,
                Actor {
                    by: &by,
                    at: Timestamp::now(),
                },
            )?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn health(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state
        .blocking(|s| {
            s.backend()
                .latest_event(attest_store::payload::CONFIG_CHANGED)?;
            Ok(())
        })
        .await?;
    Ok("ok\n")
}
