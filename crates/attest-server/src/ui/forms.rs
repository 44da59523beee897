//! The forms that change things. Each answers a redirect (303) to the page that shows the
//! change, or that page again with the error above its form and the error's status.
//!
//! The authorisation layer has checked the role and, for urlencoded forms, the CSRF token;
//! evidence uploads are multipart, so their token is checked here ([`PendingCsrf`]).

use attest_model::Role;
use attest_store::accounts::Actor;
use axum::extract::{Extension, Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use minijinja::context;
use serde::Deserialize;

use super::pages::{admin_context, control_context, evidence_context, finding_context, show};
use super::{Layout, error_page_for, render, url_encode};
use crate::AppState;
use crate::api::{self, FindingChangeRequest, NewUserRequest};
use crate::auth::{Caller, PendingCsrf};
use crate::error::ApiError;

/// A finding form: any of the change fields, and the CSRF token.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct FindingForm {
    action: String,
    status: Option<String>,
    owner: Option<String>,
    due: Option<String>,
    root_cause: Option<String>,
    corrective_action: Option<String>,
    reason: Option<String>,
    until: Option<String>,
    note: Option<String>,
    #[serde(rename = "csrf_token")]
    _csrf_token: Option<String>,
}

pub(crate) async fn change_finding(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Form(form): Form<FindingForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page_for(
            &state,
            &caller,
            &ApiError::not_found(format!("there is no finding `{id}`")),
        );
    };
    let change = FindingChangeRequest {
        action: form.action,
        status: form.status,
        owner: form.owner,
        due: form.due,
        root_cause: form.root_cause,
        corrective_action: form.corrective_action,
        reason: form.reason,
        until: form.until,
        note: form.note,
    };
    let by = caller.name().to_owned();
    let event = change.action.clone();
    let result = state
        .blocking(move |s| api::change_finding_as(s, id, &change, &by))
        .await;
    match result {
        Ok(_) => {
            Redirect::to(&format!("/findings/{id}?changed={}", url_encode(&event))).into_response()
        }
        Err(err) if err.status == StatusCode::NOT_FOUND => error_page_for(&state, &caller, &err),
        Err(err) => {
            let status = err.status;
            show(
                &state,
                &caller,
                "findings",
                "finding.html",
                status,
                move |s, layout| finding_context(s, layout, id, None, Some(&err)),
            )
            .await
        }
    }
}

/// Where an upload form sits, so that the answer goes back there.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct UploadFrom {
    from: Option<String>,
}

pub(crate) async fn upload_evidence(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(from): Query<UploadFrom>,
    pending: Option<Extension<PendingCsrf>>,
    multipart: Multipart,
) -> Response {
    let from_control = from.from.as_deref() == Some("control");
    let upload = match api::read_upload(multipart).await {
        Ok(upload) => upload,
        Err(err) => return error_page_for(&state, &caller, &err),
    };
    let by = caller.name().to_owned();
    let control = upload.control.clone();
    let for_store = upload.clone();
    let result = state
        .blocking(move |s| api::store_upload(s, &for_store, &by, pending.as_ref().map(|p| &p.0)))
        .await;
    match result {
        Ok(record) if from_control => Redirect::to(&format!(
            "/controls/{}?uploaded={}",
            url_encode(&record.control),
            record.id
        ))
        .into_response(),
        Ok(record) => Redirect::to(&format!("/evidence?uploaded={}", record.id)).into_response(),
        Err(err) if err.status == StatusCode::FORBIDDEN => error_page_for(&state, &caller, &err),
        Err(err) => {
            let status = err.status;
            let known = state.workspace().control(&control).is_some();
            if from_control && known {
                show(
                    &state,
                    &caller,
                    "controls",
                    "control.html",
                    status,
                    move |s, layout| control_context(s, layout, &control, None, Some(&err)),
                )
                .await
            } else {
                show(
                    &state,
                    &caller,
                    "evidence",
                    "evidence.html",
                    status,
                    move |s, layout| evidence_context(s, layout, None, Some(&control), Some(&err)),
                )
                .await
            }
        }
    }
}

/// The add-user form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UserForm {
    name: String,
    role: String,
    password: String,
    #[serde(rename = "csrf_token")]
    _csrf_token: Option<String>,
}

async fn admin_error(
    state: &AppState,
    caller: &Caller,
    form: &'static str,
    err: ApiError,
) -> Response {
    let status = err.status;
    show(state, caller, "admin", "admin.html", status, move |s, _| {
        admin_context(s, None, Some(form), Some(&err))
    })
    .await
}

pub(crate) async fn add_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<UserForm>,
) -> Response {
    let Ok(role) = form.role.parse::<Role>() else {
        let err = ApiError::bad_request(
            "invalid-role",
            format!(
                "`{}` is not a role; choose admin, editor or auditor",
                form.role
            ),
        )
        .field("role");
        return admin_error(&state, &caller, "user", err).await;
    };
    let request = NewUserRequest {
        name: form.name.trim().to_owned(),
        role,
        password: form.password,
    };
    let by = caller.name().to_owned();
    let result = state
        .blocking(move |s| api::add_user_as(s, &request, &by))
        .await;
    match result {
        Ok(user) => {
            Redirect::to(&format!("/admin?added={}", url_encode(&user.name))).into_response()
        }
        Err(err) => admin_error(&state, &caller, "user", err).await,
    }
}

/// The register-host form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct HostForm {
    name: String,
    #[serde(rename = "csrf_token")]
    _csrf_token: Option<String>,
}

pub(crate) async fn add_host(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<HostForm>,
) -> Response {
    let by = caller.name().to_owned();
    let name = form.name.trim().to_owned();
    let result = state
        .blocking(move |s| api::issue_host_token(s, &name, &by, false))
        .await;
    match result {
        Ok(token) => {
            let Some(layout) = Layout::of(&caller, "admin") else {
                return error_page_for(&state, &caller, &ApiError::forbidden("people only"));
            };
            let mut response = render(
                &state,
                "host_token.html",
                context! { host => token.name, token => token.token, ..layout.value() },
            );
            if response.status() == StatusCode::OK {
                *response.status_mut() = StatusCode::CREATED;
            }
            response
        }
        Err(err) => admin_error(&state, &caller, "host", err).await,
    }
}

pub(crate) async fn revoke_host(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Response {
    let by = caller.name().to_owned();
    let host = name.clone();
    let result = state
        .blocking(move |s| {
            s.backend().revoke_host(
                &host,
                Actor {
                    by: &by,
                    at: Timestamp::now(),
                },
            )?;
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Redirect::to(&format!("/admin?revoked={}", url_encode(&name))).into_response(),
        Err(err) if err.status == StatusCode::NOT_FOUND => error_page_for(&state, &caller, &err),
        Err(err) => admin_error(&state, &caller, "hosts", err).await,
    }
}
