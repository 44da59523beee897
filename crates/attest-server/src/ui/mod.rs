//! The web UI: server-rendered pages (minijinja templates in `templates/`), a stylesheet and
//! a small script in `static/`; every page works without JavaScript.

use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Extension, Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Environment, context};
use serde::Deserialize;

use crate::auth;
use crate::error::ApiError;
use crate::{AppState, views};

/// The embedded templates, compiled once.
pub struct Templates {
    env: Environment<'static>,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("login.html", include_str!("../../templates/login.html")),
    (
        "dashboard.html",
        include_str!("../../templates/dashboard.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
];

const STYLESHEET: &str = include_str!("../../static/app.css");

impl Templates {
    /// Compiles the templates.
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Templates { env })
    }

    /// Renders `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<Html<String>, ApiError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map(Html)
            .map_err(ApiError::internal)
    }
}

/// The page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/", get(dashboard))
        .route("/static/{file}", get(static_file))
}

/// `text` percent-encoded for a query value.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A plain error page (used before a template can be rendered, e.g. by the auth layer).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status} · Attest</title>\
         <link rel=\"stylesheet\" href=\"/static/app.css\"></head><body class=\"error-page\"><main>\
         <h1>{status}</h1><p>{escaped}</p><p><a href=\"/\">Back to the dashboard</a></p></main></body></html>"
    );
    (status, Html(body)).into_response()
}

fn page_error(err: &ApiError) -> Response {
    error_page(err.status, &err.message)
}

/// Where to go after logging in: a local path only.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(next) if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') => {
            next.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_form(State(state): State<AppState>, Query(query): Query<LoginQuery>) -> Response {
    render(
        &state,
        "login.html",
        context! { next => safe_next(query.next.as_deref()), error => None::<String> },
    )
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<LoginForm>,
) -> Response {
    let client = connect.map(|Extension(ConnectInfo(addr))| addr);
    let next = safe_next(form.next.as_deref());
    let name = form.name.clone();
    let result = state
        .blocking(move |state| auth::login(state, &form.name, &form.password, client))
        .await;
    match result {
        Ok(login) => (
            [(
                header::SET_COOKIE,
                auth::session_cookie(&state, &login.session_id),
            )],
            Redirect::to(&next),
        )
            .into_response(),
        Err(err) => {
            let mut response = render(
                &state,
                "login.html",
                context! { next => next, error => err.message, name => name },
            );
            *response.status_mut() = err.status;
            response
        }
    }
}

async fn logout(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(id) = auth::session_id(&headers) {
        let hash = auth::secret_sha256(id);
        let _ = state
            .blocking(move |s| Ok(s.backend().delete_session(&hash)?))
            .await;
    }
    (
        [(header::SET_COOKIE, auth::clear_cookie(&state))],
        Redirect::to("/login"),
    )
        .into_response()
}

fn render(state: &AppState, name: &str, ctx: minijinja::Value) -> Response {
    match state.templates().render(name, ctx) {
        Ok(html) => html.into_response(),
        Err(err) => page_error(&err),
    }
}

async fn dashboard(
    State(state): State<AppState>,
    axum::extract::Extension(caller): axum::extract::Extension<auth::Caller>,
) -> Response {
    let data = state
        .blocking(|s| Ok((views::readiness(s)?, views::trend(s, 30)?)))
        .await;
    match data {
        Ok((readiness, trend)) => render(
            &state,
            "dashboard.html",
            context! {
                user => caller.name(),
                role => caller.role().as_str(),
                readiness => minijinja::Value::from_serialize(&readiness),
                trend => minijinja::Value::from_serialize(&trend),
                nav => "dashboard",
            },
        ),
        Err(err) => page_error(&err),
    }
}

async fn static_file(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match file.as_str() {
        "app.css" => (
            [
                (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            STYLESHEET,
        )
            .into_response(),
        _ => error_page(StatusCode::NOT_FOUND, "no such file"),
    }
}
