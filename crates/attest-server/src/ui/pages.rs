//! The pages that read: each gathers its data on the blocking pool into a view model (JSON
//! values shaped for its template) and renders it inside the layout.

use std::collections::{BTreeMap, HashMap};

use attest_model::{Control, EvidenceRecord, Freshness, Status};
use attest_report::readiness::{ControlReadiness, ControlStatus, ReadinessReport};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use minijinja::{Value, context};
use serde::Deserialize;
use serde_json::json;

use super::charts::{self, SegmentKind};
use super::{Layout, error_page, error_page_for, format, render};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::{AppState, api, views};

/// Runs `work` on the blocking pool and renders `template` with its context inside the
/// layout (`nav` marked current), or the error page.
pub(crate) async fn show<F>(
    state: &AppState,
    caller: &Caller,
    nav: &'static str,
    template: &'static str,
    status: StatusCode,
    work: F,
) -> Response
where
    F: FnOnce(&AppState, &Layout) -> Result<Value, ApiError> + Send + 'static,
{
    let Some(layout) = Layout::of(caller, nav) else {
        return error_page(StatusCode::FORBIDDEN, "agents have no pages");
    };
    let for_work = layout.clone();
    match state.blocking(move |s| work(s, &for_work)).await {
        Ok(ctx) => {
            let mut response = render(state, template, context! { ..ctx, ..layout.value() });
            if response.status() == StatusCode::OK {
                *response.status_mut() = status;
            }
            response
        }
        Err(err) => error_page_for(state, caller, &err),
    }
}

fn value(json: &serde_json::Value) -> Value {
    Value::from_serialize(json)
}

/// A control status's tone: how the badge reads (good, warn, bad, neutral).
fn tone(status: ControlStatus) -> &'static str {
    match status {
        ControlStatus::Passing => "good",
        ControlStatus::ExpiringSoon | ControlStatus::Stale | ControlStatus::MissingEvidence => {
            "warn"
        }
        ControlStatus::Failing => "bad",
        ControlStatus::NotEvaluated => "neutral",
    }
}

/// Whether a host's latest run is recent enough to count as reporting.
fn is_fresh(last_seen: Option<Timestamp>, state: &AppState, now: Timestamp) -> bool {
    let window = state
        .workspace()
        .monitoring
        .max_gap
        .max(jiff::SignedDuration::from_hours(2));
    last_seen.is_some_and(|t| now.duration_since(t) <= window)
}

/// "Type 1" or "Type 2".
fn audit_label(audit: attest_model::AuditType) -> &'static str {
    match audit {
        attest_model::AuditType::Type1 => "Type 1",
        attest_model::AuditType::Type2 => "Type 2",
    }
}

// ---------------------------------------------------------------- dashboard

pub(crate) async fn dashboard(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Response {
    show(
        &state,
        &caller,
        "dashboard",
        "dashboard.html",
        StatusCode::OK,
        |s, _| {
            let readiness = views::readiness(s)?;
            let trend = views::trend(s, 30)?;
            let hosts = views::hosts(s)?;
            let now = Timestamp::now();
            let categories: Vec<attest_model::Category> =
                readiness.categories.iter().map(|c| c.category).collect();
            let chart = charts::trend_svg(&trend, &categories);
            let trend_rows: Vec<serde_json::Value> = trend
            .iter()
            .map(|p| {
                json!({
                    "date": p.date.to_string(),
                    "values": categories.iter().map(|c| p.categories.get(c)).collect::<Vec<_>>(),
                })
            })
            .collect();
            let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
            for control in &readiness.controls {
                *by_status.entry(control.status.as_str()).or_default() += 1;
            }
            let statuses: Vec<serde_json::Value> = [
                ControlStatus::Passing,
                ControlStatus::ExpiringSoon,
                ControlStatus::Failing,
                ControlStatus::Stale,
                ControlStatus::MissingEvidence,
                ControlStatus::NotEvaluated,
            ]
            .iter()
            .map(|status| {
                json!({
                    "status": status.as_str(),
                    "tone": tone(*status),
                    "count": by_status.get(status.as_str()).copied().unwrap_or(0),
                })
            })
            .collect();
            let fresh: Vec<&views::HostSummary> = hosts
                .iter()
                .filter(|h| !h.revoked && is_fresh(h.last_seen, s, now))
                .collect();
            let silent: Vec<serde_json::Value> = hosts
                .iter()
                .filter(|h| !h.revoked && !is_fresh(h.last_seen, s, now))
                .map(|h| json!({ "name": h.name, "last_seen": h.last_seen }))
                .collect();
            let failing_hosts = hosts.iter().filter(|h| h.fail > 0).count();
            let findings: Vec<serde_json::Value> = readiness
                .findings
                .iter()
                .take(5)
                .map(|f| json!({ "finding": f.finding, "overdue": f.overdue }))
                .collect();
            let remediation: Vec<serde_json::Value> = readiness
                .remediation
                .iter()
                .take(6)
                .map(|r| json!({ "item": r, "tone": tone(r.status) }))
                .collect();
            Ok(context! {
                audit => audit_label(readiness.audit_type),
                readiness => value(&json!(readiness)),
                categories => value(&json!(readiness.categories)),
                category_titles => categories.iter().map(|c| c.title()).collect::<Vec<_>>(),
                category_keys => categories.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                chart => chart.map(Value::from_safe_string),
                trend_rows => value(&json!(trend_rows)),
                statuses => value(&json!(statuses)),
                hosts_total => hosts.iter().filter(|h| !h.revoked).count(),
                hosts_fresh => fresh.len(),
                hosts_silent => value(&json!(silent)),
                failing_hosts => failing_hosts,
                findings => value(&json!(findings)),
                remediation => value(&json!(remediation)),
            })
        },
    )
    .await
}

// ---------------------------------------------------------------- criteria

pub(crate) async fn criteria(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Response {
    show(
        &state,
        &caller,
        "criteria",
        "criteria.html",
        StatusCode::OK,
        |s, _| {
            let readiness = views::readiness(s)?;
            let groups: Vec<serde_json::Value> = readiness
                .categories
                .iter()
                .map(|category| {
                    let criteria: Vec<serde_json::Value> = readiness
                        .criteria
                        .iter()
                        .filter(|c| c.category == category.category)
                        .map(|c| {
                            let controls: Vec<serde_json::Value> = c
                                .controls
                                .iter()
                                .map(|r| json!({ "ref": r, "tone": tone(r.status) }))
                                .collect();
                            json!({ "criterion": c, "controls": controls })
                        })
                        .collect();
                    json!({ "category": category, "criteria": criteria })
                })
                .collect();
            Ok(context! {
                summary => value(&json!(readiness.summary)),
                groups => value(&json!(groups)),
            })
        },
    )
    .await
}

// ---------------------------------------------------------------- controls

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ControlsQuery {
    status: Option<String>,
    family: Option<String>,
}

fn family_names(state: &AppState) -> HashMap<String, String> {
    state
        .workspace()
        .families
        .iter()
        .map(|f| (f.id.clone(), f.name.clone()))
        .collect()
}

pub(crate) async fn controls(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<ControlsQuery>,
) -> Response {
    show(&state, &caller, "controls", "controls.html", StatusCode::OK, move |s, _| {
        let readiness = views::readiness(s)?;
        let names = family_names(s);
        let status = query.status.filter(|v| !v.is_empty());
        let family = query.family.filter(|v| !v.is_empty());
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut families: BTreeMap<String, String> = BTreeMap::new();
        for control in &readiness.controls {
            *counts.entry(control.status.as_str()).or_default() += 1;
            families.insert(
                control.family.clone(),
                names.get(&control.family).cloned().unwrap_or_else(|| control.family.clone()),
            );
        }
        let statuses: Vec<serde_json::Value> = ControlStatus::ALL
            .iter()
            .map(|st| {
                json!({
                    "status": st.as_str(),
                    "tone": tone(*st),
                    "count": counts.get(st.as_str()).copied().unwrap_or(0),
                })
            })
            .collect();
        let rows: Vec<serde_json::Value> = readiness
            .controls
            .iter()
            .filter(|c| status.as_deref().is_none_or(|st| c.status.as_str() == st))
            .filter(|c| family.as_deref().is_none_or(|f| c.family == f))
            .map(|c| {
                json!({
                    "control": c,
                    "tone": tone(c.status),
                    "family_name": names.get(&c.family).cloned().unwrap_or_else(|| c.family.clone()),
                })
            })
            .collect();
        let families: Vec<serde_json::Value> = families
            .into_iter()
            .map(|(id, name)| json!({ "id": id, "name": name }))
            .collect();
        Ok(context! {
            rows => value(&json!(rows)),
            total => readiness.controls.len(),
            statuses => value(&json!(statuses)),
            families => value(&json!(families)),
            status => status,
            family => family,
        })
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UploadedQuery {
    uploaded: Option<i64>,
    control: Option<String>,
}

/// Freshness of `record` for `control` today, with its expiry day.
fn freshness_of(control: Option<&Control>, record: &EvidenceRecord) -> serde_json::Value {
    let today = views::today();
    match control.and_then(|c| c.evidence.as_ref()) {
        Some(requirement) => {
            let freshness = Freshness::on(today, record.effective_date, requirement);
            let tone = match freshness {
                Freshness::Current => "good",
                Freshness::ExpiringSoon => "warn",
                Freshness::Expired => "bad",
            };
            json!({
                "freshness": freshness.as_str(),
                "tone": tone,
                "expires_on": Freshness::expires_on(record.effective_date, requirement).to_string(),
            })
        }
        None => json!({ "freshness": "not_required", "tone": "neutral", "expires_on": null }),
    }
}

/// The control page's context; `upload_error` is shown above the upload form.
pub(crate) fn control_context(
    state: &AppState,
    layout: &Layout,
    id: &str,
    uploaded: Option<i64>,
    upload_error: Option<&ApiError>,
) -> Result<Value, ApiError> {
    let detail = api::control_detail(state, id)?;
    let workspace = state.workspace();
    let criteria: Vec<serde_json::Value> = detail
        .control
        .criteria
        .iter()
        .map(|cid| {
            json!({
                "id": cid,
                "title": workspace.criterion(cid).map(|c| c.title.clone()),
            })
        })
        .collect();
    let checks: Vec<serde_json::Value> = detail
        .control
        .checks
        .iter()
        .map(|cid| {
            let meta = workspace.check(cid);
            let results: Vec<_> = detail.results.iter().filter(|r| &r.check == cid).collect();
            json!({
                "id": cid,
                "title": meta.map(|m| m.title.clone()),
                "severity": meta.map(|m| m.severity),
                "pass": results.iter().filter(|r| r.status == Status::Pass).count(),
                "fail": results.iter().filter(|r| r.status == Status::Fail).count(),
                "error": results.iter().filter(|r| r.status == Status::Error).count(),
            })
        })
        .collect();
    let mut results = detail.results.clone();
    results.sort_by_key(|r| (status_rank(r.status), r.target.clone(), r.check.clone()));
    let results: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            json!({
                "result": r,
                "check_title": workspace.check(&r.check).map(|m| m.title.clone()),
            })
        })
        .collect();
    let mut evidence: Vec<serde_json::Value> = detail
        .evidence
        .iter()
        .map(|e| json!({ "record": e, "fresh": freshness_of(Some(&detail.control), e) }))
        .collect();
    evidence.reverse();
    let family = family_names(state)
        .get(&detail.control.family)
        .cloned()
        .unwrap_or_else(|| detail.control.family.clone());
    let tone = tone(detail.readiness.status);
    Ok(context! {
        control => value(&json!(detail.control)),
        readiness => value(&json!(detail.readiness)),
        tone => tone,
        family_name => family,
        criteria => value(&json!(criteria)),
        checks => value(&json!(checks)),
        results => value(&json!(results)),
        evidence => value(&json!(evidence)),
        uploaded => uploaded,
        upload_error => upload_error.map(|e| e.message.clone()),
        today => views::today().to_string(),
        show_upload => layout.can_edit(),
    })
}

fn status_rank(status: Status) -> u8 {
    match status {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Pass => 2,
        Status::NotApplicable => 3,
    }
}

pub(crate) async fn control(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Query<UploadedQuery>,
) -> Response {
    show(
        &state,
        &caller,
        "controls",
        "control.html",
        StatusCode::OK,
        move |s, layout| control_context(s, layout, &id, query.uploaded, None),
    )
    .await
}

// ---------------------------------------------------------------- hosts

pub(crate) async fn hosts(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Response {
    show(
        &state,
        &caller,
        "hosts",
        "hosts.html",
        StatusCode::OK,
        |s, _| {
            let now = Timestamp::now();
            let rows: Vec<serde_json::Value> = views::hosts(s)?
                .iter()
                .map(|h| json!({ "host": h, "fresh": is_fresh(h.last_seen, s, now) }))
                .collect();
            Ok(context! { rows => value(&json!(rows)) })
        },
    )
    .await
}

pub(crate) async fn host(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Response {
    show(
        &state,
        &caller,
        "hosts",
        "host.html",
        StatusCode::OK,
        move |s, _| {
            let results = views::host_results(s, &name)?;
            let summary = views::hosts(s)?.into_iter().find(|h| h.name == name);
            let workspace = s.workspace();
            // Which controls each check evidences.
            let mut controls_of: HashMap<&str, Vec<&str>> = HashMap::new();
            for control in workspace.controls_in_scope() {
                for check in &control.checks {
                    controls_of
                        .entry(check.as_str())
                        .or_default()
                        .push(control.id.as_str());
                }
            }
            let rows: Vec<serde_json::Value> = results
                .iter()
                .map(|r| {
                    json!({
                        "result": r,
                        "check_title": workspace.check(&r.check).map(|m| m.title.clone()),
                        "controls": controls_of.get(r.check.as_str()).cloned().unwrap_or_default(),
                    })
                })
                .collect();
            let fresh = summary
                .as_ref()
                .is_some_and(|h| is_fresh(h.last_seen, s, Timestamp::now()));
            Ok(context! {
                name => name,
                summary => value(&json!(summary)),
                fresh => fresh,
                rows => value(&json!(rows)),
            })
        },
    )
    .await
}

// ---------------------------------------------------------------- findings

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FindingsQuery {
    show: Option<String>,
}

fn finding_tone(finding: &attest_model::Finding, overdue: bool) -> &'static str {
    use attest_model::FindingStatus as S;
    if overdue {
        return "bad";
    }
    match finding.status {
        S::Open => "bad",
        S::InProgress | S::RiskAccepted => "warn",
        S::Resolved => "info",
        S::Closed => "good",
    }
}

pub(crate) async fn findings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<FindingsQuery>,
) -> Response {
    show(
        &state,
        &caller,
        "findings",
        "findings.html",
        StatusCode::OK,
        move |s, _| {
            let now = Timestamp::now();
            let all = s.backend().findings()?;
            let show_all = query.show.as_deref() == Some("all");
            let active = all.iter().filter(|f| f.status.is_active()).count();
            let overdue = all.iter().filter(|f| f.is_overdue(now)).count();
            let mut list: Vec<&attest_model::Finding> = all
                .iter()
                .filter(|f| show_all || f.status.is_active())
                .collect();
            list.sort_by(|a, b| {
                b.is_overdue(now)
                    .cmp(&a.is_overdue(now))
                    .then(b.status.is_active().cmp(&a.status.is_active()))
                    .then(b.severity.cmp(&a.severity))
                    .then(a.due_at.cmp(&b.due_at))
            });
            let rows: Vec<serde_json::Value> = list
                .iter()
                .map(|f| {
                    let overdue = f.is_overdue(now);
                    json!({ "finding": f, "overdue": overdue, "tone": finding_tone(f, overdue) })
                })
                .collect();
            Ok(context! {
                rows => value(&json!(rows)),
                show_all => show_all,
                total => all.len(),
                active => active,
                overdue => overdue,
            })
        },
    )
    .await
}

/// The finding page's context; `error` is shown above the forms.
pub(crate) fn finding_context(
    state: &AppState,
    layout: &Layout,
    id: i64,
    changed: Option<&str>,
    error: Option<&ApiError>,
) -> Result<Value, ApiError> {
    let detail = api::finding_detail(state, id)?;
    let now = Timestamp::now();
    let overdue = detail.finding.is_overdue(now);
    let workspace = state.workspace();
    let controls: Vec<serde_json::Value> = detail
        .finding
        .controls
        .iter()
        .map(|c| json!({ "id": c, "title": workspace.control(c).map(|c| c.title.clone()) }))
        .collect();
    let mut trail = detail.trail.clone();
    trail.reverse();
    let trail: Vec<serde_json::Value> = trail
        .iter()
        .map(|e| json!({ "seq": e.seq, "at": e.at, "event": e.event, "by": e.by, "note": e.note }))
        .collect();
    Ok(context! {
        finding => value(&json!(detail.finding)),
        tone => finding_tone(&detail.finding, overdue),
        overdue => overdue,
        controls => value(&json!(controls)),
        trail => value(&json!(trail)),
        changed => changed.map(|event| match event {
            "update" => "Finding updated.",
            "close" => "Finding closed.",
            "accept_risk" => "Risk accepted for this finding.",
            _ => "Finding changed.",
        }),
        error => error.map(|e| e.message.clone()),
        error_field => error.and_then(|e| e.field.clone()),
        can_change => layout.can_edit() && detail.finding.status.is_active(),
        due_day => detail.finding.due_at.strftime("%Y-%m-%d").to_string(),
    })
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChangedQuery {
    changed: Option<String>,
}

pub(crate) async fn finding(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Query<ChangedQuery>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page_for(
            &state,
            &caller,
            &ApiError::not_found(format!("there is no finding `{id}`")),
        );
    };
    show(
        &state,
        &caller,
        "findings",
        "finding.html",
        StatusCode::OK,
        move |s, layout| finding_context(s, layout, id, query.changed.as_deref(), None),
    )
    .await
}

// ---------------------------------------------------------------- evidence

/// The evidence page's context; `error` is shown above the upload form.
pub(crate) fn evidence_context(
    state: &AppState,
    layout: &Layout,
    uploaded: Option<i64>,
    selected: Option<&str>,
    error: Option<&ApiError>,
) -> Result<Value, ApiError> {
    let workspace = state.workspace();
    let readiness: ReadinessReport = views::readiness(state)?;
    let names = family_names(state);
    let mut records = state.backend().list_evidence(None)?;
    records.reverse();
    let rows: Vec<serde_json::Value> = records
        .iter()
        .map(|e| {
            let control = workspace.control(&e.control);
            json!({
                "record": e,
                "control_title": control.map(|c| c.title.clone()),
                "fresh": freshness_of(control, e),
            })
        })
        .collect();
    // The upload form's choices: controls in scope by family, those awaiting evidence first.
    let mut by_family: BTreeMap<String, Vec<&ControlReadiness>> = BTreeMap::new();
    for control in &readiness.controls {
        by_family
            .entry(control.family.clone())
            .or_default()
            .push(control);
    }
    let needing: Vec<serde_json::Value> = readiness
        .controls
        .iter()
        .filter(|c| {
            matches!(
                c.status,
                ControlStatus::MissingEvidence | ControlStatus::Stale | ControlStatus::ExpiringSoon
            )
        })
        .map(|c| json!({ "id": c.id, "title": c.title }))
        .collect();
    let groups: Vec<serde_json::Value> = by_family
        .iter()
        .map(|(family, controls)| {
            json!({
                "name": names.get(family).cloned().unwrap_or_else(|| family.clone()),
                "controls": controls.iter().map(|c| json!({ "id": c.id, "title": c.title })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let uploaded_record = uploaded.and_then(|id| records.iter().find(|e| e.id == id));
    Ok(context! {
        rows => value(&json!(rows)),
        groups => value(&json!(groups)),
        needing => value(&json!(needing)),
        selected => selected,
        uploaded => value(&json!(uploaded_record)),
        upload_error => error.map(|e| e.message.clone()),
        today => views::today().to_string(),
        show_upload => layout.can_edit(),
    })
}

pub(crate) async fn evidence(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<UploadedQuery>,
) -> Response {
    show(
        &state,
        &caller,
        "evidence",
        "evidence.html",
        StatusCode::OK,
        move |s, layout| {
            evidence_context(s, layout, query.uploaded, query.control.as_deref(), None)
        },
    )
    .await
}

// ---------------------------------------------------------------- reports

pub(crate) async fn reports(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Response {
    show(
        &state,
        &caller,
        "reports",
        "reports.html",
        StatusCode::OK,
        |s, _| {
            let readiness = views::readiness(s)?;
            let period = views::period(s)?;
            Ok(context! {
                organisation => &readiness.organisation,
                readiness_percent => readiness.summary.readiness_percent,
                audit_type => readiness.audit_type.as_str(),
                period_start => period.start.to_string(),
                period_end => period.end.to_string(),
                period_set => s.workspace().scope.period.is_some(),
            })
        },
    )
    .await
}

// ---------------------------------------------------------------- timeline

/// Start of `date` (UTC), in seconds.
fn day_start(date: jiff::civil::Date) -> i64 {
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map_or(0, |z| z.timestamp().as_second())
}

/// Month labels across `[start, end)`: (position in percent, label).
fn month_ticks(start: i64, end: i64) -> Vec<serde_json::Value> {
    let mut ticks = Vec::new();
    let Ok(first) = Timestamp::from_second(start) else {
        return ticks;
    };
    let first = first.to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut month = first.first_of_month();
    for _ in 0..40 {
        let at = day_start(month);
        if at >= end {
            break;
        }
        if at >= start {
            #[allow(clippy::cast_precision_loss, reason = "seconds within a few years")]
            let percent = (at - start) as f64 * 100.0 / ((end - start).max(1) as f64);
            if percent <= 88.0 {
                ticks.push(json!({
                    "left": format::width_class(percent).replace("w-", "l-"),
                    "label": month.strftime("%b %Y").to_string(),
                }));
            }
        }
        let Ok(next) = month.checked_add(jiff::Span::new().months(1)) else {
            break;
        };
        month = next;
    }
    ticks
}

pub(crate) async fn timeline(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Response {
    show(&state, &caller, "timeline", "timeline.html", StatusCode::OK, |s, _| {
        let report = api::type2(s)?;
        let start = report.period_start.as_second();
        let end = report
            .period
            .end
            .tomorrow()
            .map_or(report.assessed_until.as_second(), day_start)
            .max(report.assessed_until.as_second());
        let assessed = report.assessed_until.as_second();
        let mut rows = Vec::new();
        for control in &report.controls {
            let mut exceptions = Vec::new();
            let mut gaps = Vec::new();
            let (mut exception_seconds, mut gap_seconds) = (0_i64, 0_i64);
            if let Some(auto) = &control.automated {
                for e in &auto.exceptions {
                    exceptions.push((e.from.as_second(), e.to.as_second()));
                    exception_seconds += e.seconds;
                }
                for g in &auto.gaps {
                    gaps.push((g.from.as_second(), g.to.as_second()));
                    gap_seconds += g.seconds;
                }
            }
            let mut lapse_days = 0;
            if let Some(manual) = &control.manual {
                for lapse in &manual.lapses {
                    let to = lapse.to.tomorrow().map_or(end, day_start);
                    exceptions.push((day_start(lapse.from), to));
                    lapse_days += lapse.days;
                }
            }
            let tested =
                control.conclusion != attest_report::type2::Conclusion::NotTested;
            let segments = charts::segments(start, assessed, end, tested, &exceptions, &gaps);
            let label = format!(
                "{}: {} operating over the period; {} exceptions, {} gaps",
                control.design.id,
                format::pct(control.operating_percent),
                exceptions.len(),
                gaps.len()
            );
            let bar = charts::bar_svg(&segments, start, end, &label);
            let conclusion_tone = match control.conclusion {
                attest_report::type2::Conclusion::NoExceptions => "good",
                attest_report::type2::Conclusion::ExceptionsNoted => "bad",
                attest_report::type2::Conclusion::NotTested => "neutral",
            };
            rows.push(json!({
                "id": control.design.id,
                "title": control.design.title,
                "kind": control.design.kind,
                "conclusion": control.conclusion,
                "tone": conclusion_tone,
                "operating_percent": control.operating_percent,
                "exceptions": exceptions.len(),
                "exception_time": (exception_seconds > 0).then(|| format::duration(exception_seconds)),
                "lapse_days": lapse_days,
                "gaps": gaps.len(),
                "gap_time": (gap_seconds > 0).then(|| format::duration(gap_seconds)),
                "bar": bar,
            }));
        }
        let legend: Vec<serde_json::Value> = [
            SegmentKind::Operating,
            SegmentKind::Exception,
            SegmentKind::Gap,
            SegmentKind::Untested,
            SegmentKind::Future,
        ]
        .iter()
        .map(|k| {
            let (class, name) = k.name();
            json!({ "class": class, "name": name })
        })
        .collect();
        Ok(context! {
            report_summary => value(&json!(report.summary)),
            period => value(&json!(report.period)),
            period_set => s.workspace().scope.period.is_some(),
            assessed_until => report.assessed_until.to_string(),
            rows => value(&json!(rows)),
            ticks => value(&json!(month_ticks(start, end))),
            legend => value(&json!(legend)),
        })
    })
    .await
}

// ---------------------------------------------------------------- admin

/// The admin page's context; `error` is shown above the form named by `form`.
pub(crate) fn admin_context(
    state: &AppState,
    notice: Option<&str>,
    form: Option<&str>,
    error: Option<&ApiError>,
) -> Result<Value, ApiError> {
    let users: Vec<serde_json::Value> = state
        .backend()
        .users()?
        .iter()
        .map(|u| {
            json!({
                "name": u.name,
                "role": u.role,
                "disabled": u.disabled,
                "created_at": u.created_at,
            })
        })
        .collect();
    let summaries: HashMap<String, views::HostSummary> = views::hosts(state)?
        .into_iter()
        .map(|h| (h.name.clone(), h))
        .collect();
    let hosts: Vec<serde_json::Value> = state
        .backend()
        .hosts()?
        .iter()
        .map(|h| {
            json!({
                "name": h.name,
                "created_at": h.created_at,
                "revoked_at": h.revoked_at,
                "last_seen": summaries.get(&h.name).and_then(|s| s.last_seen),
            })
        })
        .collect();
    Ok(context! {
        users => value(&json!(users)),
        hosts => value(&json!(hosts)),
        notice => notice,
        form => form,
        error => error.map(|e| e.message.clone()),
    })
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AdminQuery {
    added: Option<String>,
    revoked: Option<String>,
}

pub(crate) async fn admin(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<AdminQuery>,
) -> Response {
    show(
        &state,
        &caller,
        "admin",
        "admin.html",
        StatusCode::OK,
        move |s, _| {
            let notice = match (&query.added, &query.revoked) {
                (Some(name), _) => Some(format!("Added user `{name}`.")),
                (_, Some(name)) => Some(format!(
                    "Revoked the agent token of `{name}`; its reports are refused from now on."
                )),
                _ => None,
            };
            admin_context(s, notice.as_deref(), None, None)
        },
    )
    .await
}
