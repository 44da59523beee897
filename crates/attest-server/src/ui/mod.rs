//! The web UI: server-rendered pages (minijinja templates in `templates/`), a stylesheet and
//! a small script in `static/`; every page works without JavaScript.
//!
//! - [`pages`]: the pages that read (dashboard, criteria, controls, hosts, findings,
//!   evidence, reports, timeline, admin);
//! - [`forms`]: the forms that change things (findings, evidence uploads, users, hosts),
//!   each answering with a redirect (303) on success and the page with the error otherwise;
//! - [`charts`]: the SVG charts, drawn on the server (the content security policy allows no
//!   inline script or style, so charts are markup with attributes and classes);
//! - [`format`]: the template filters (times, sizes, labels).
//!
//! Every page gets the layout's context from [`Layout`]: who is logged in, their CSRF token
//! (every form carries it), which nav item is current, and what their role may do.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::OnceLock;

use attest_model::Role;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Environment, Value, context};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{self, Caller};
use crate::error::ApiError;

pub mod charts;
pub mod format;
mod forms;
mod pages;

/// The embedded templates, compiled once.
pub struct Templates {
    env: Environment<'static>,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("login.html", include_str!("../../templates/login.html")),
    (
        "dashboard.html",
        include_str!("../../templates/dashboard.html"),
    ),
    (
        "criteria.html",
        include_str!("../../templates/criteria.html"),
    ),
    (
        "controls.html",
        include_str!("../../templates/controls.html"),
    ),
    ("control.html", include_str!("../../templates/control.html")),
    ("hosts.html", include_str!("../../templates/hosts.html")),
    ("host.html", include_str!("../../templates/host.html")),
    (
        "findings.html",
        include_str!("../../templates/findings.html"),
    ),
    ("finding.html", include_str!("../../templates/finding.html")),
    (
        "evidence.html",
        include_str!("../../templates/evidence.html"),
    ),
    ("reports.html", include_str!("../../templates/reports.html")),
    (
        "timeline.html",
        include_str!("../../templates/timeline.html"),
    ),
    ("admin.html", include_str!("../../templates/admin.html")),
    (
        "host_token.html",
        include_str!("../../templates/host_token.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
];

const STYLESHEET: &str = include_str!("../../static/app.css");
const SCRIPT: &str = include_str!("../../static/app.js");

/// The stylesheet with the generated classes `w-0` to `w-100` (width in percent) and `l-0`
/// to `l-100` (left offset in percent), which bars and axes use instead of inline styles.
fn stylesheet() -> &'static str {
    static CSS: OnceLock<String> = OnceLock::new();
    CSS.get_or_init(|| {
        let mut css = String::with_capacity(STYLESHEET.len() + 2048);
        css.push_str(STYLESHEET);
        css.push_str("\n/* Widths and offsets, in percent. */\n");
        for percent in 0..=100 {
            let _ = writeln!(
                css,
                ".w-{percent}{{width:{percent}%}}.l-{percent}{{left:{percent}%}}"
            );
        }
        css
    })
}

impl Templates {
    /// Compiles the templates.
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        format::register(&mut env);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Templates { env })
    }

    /// Renders `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: Value) -> Result<Html<String>, ApiError> {
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
        .route("/", get(pages::dashboard))
        .route("/criteria", get(pages::criteria))
        .route("/controls", get(pages::controls))
        .route("/controls/{id}", get(pages::control))
        .route("/hosts", get(pages::hosts))
        .route("/hosts/{name}", get(pages::host))
        .route("/findings", get(pages::findings))
        .route(
            "/findings/{id}",
            get(pages::finding).post(forms::change_finding),
        )
        .route(
            "/evidence",
            get(pages::evidence)
                .post(forms::upload_evidence)
                .layer(DefaultBodyLimit::max(crate::api::MAX_EVIDENCE_BYTES)),
        )
        .route("/reports", get(pages::reports))
        .route("/timeline", get(pages::timeline))
        .route("/admin", get(pages::admin))
        .route("/admin/users", post(forms::add_user))
        .route("/admin/hosts", post(forms::add_host))
        .route("/admin/hosts/{name}/revoke", post(forms::revoke_host))
        .route("/static/{file}", get(static_file))
        .fallback(not_found)
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

/// `text` escaped for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A short, friendly title for an error status.
fn status_title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "That did not work",
        401 => "Please log in",
        403 => "You do not have access to this",
        404 => "Page not found",
        409 => "That cannot change now",
        413 => "That is too large",
        429 => "Too many attempts",
        _ if status.is_server_error() => "Something went wrong on our side",
        _ => "That did not work",
    }
}

/// A standalone error page, for when no user is known (e.g. before logging in).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Attest</title><link rel=\"stylesheet\" href=\"/static/app.css\"></head>\
         <body class=\"bare\"><main class=\"bare-main\" id=\"main\"><div class=\"bare-card\">\
         <p class=\"brand-mark\" aria-hidden=\"true\">A</p><p class=\"error-code\">Error {code}</p>\
         <h1>{title}</h1><p>{message}</p><p><a class=\"button\" href=\"/\">Go to the dashboard</a></p>\
         </div></main></body></html>",
        title = status_title(status),
        code = status.as_u16(),
        message = escape(message),
    );
    (status, Html(body)).into_response()
}

/// An error page inside the layout, for a logged-in `caller`.
pub fn error_page_for(state: &AppState, caller: &Caller, err: &ApiError) -> Response {
    let Some(layout) = Layout::of(caller, "") else {
        return error_page(err.status, &err.message);
    };
    let ctx = context! {
        status => err.status.as_u16(),
        title => status_title(err.status),
        message => &err.message,
        ..layout.value()
    };
    let mut response = render(state, "error.html", ctx);
    *response.status_mut() = err.status;
    response
}

/// What every page's layout needs to know about the request.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    user: String,
    role: Role,
    csrf_token: String,
    nav: &'static str,
}

impl Layout {
    /// The layout for `caller` (a person) with `nav` marked current.
    pub(crate) fn of(caller: &Caller, nav: &'static str) -> Option<Layout> {
        match caller {
            Caller::User {
                name,
                role,
                csrf_token,
            } => Some(Layout {
                user: name.clone(),
                role: *role,
                csrf_token: csrf_token.clone(),
                nav,
            }),
            Caller::Agent { .. } => None,
        }
    }

    /// Whether the caller may change controls, evidence and findings.
    pub(crate) fn can_edit(&self) -> bool {
        crate::routes::EDITORS.contains(&self.role)
    }

    /// The layout as template context.
    pub(crate) fn value(&self) -> Value {
        context! {
            user => &self.user,
            role => self.role.as_str(),
            csrf_token => &self.csrf_token,
            nav => self.nav,
            is_admin => self.role == Role::Admin,
            can_edit => self.can_edit(),
        }
    }
}

/// Renders `name` with `ctx`, or an error page.
pub(crate) fn render(state: &AppState, name: &str, ctx: Value) -> Response {
    match state.templates().render(name, ctx) {
        Ok(html) => html.into_response(),
        Err(err) => error_page(err.status, &err.message),
    }
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
        context! { next => safe_next(query.next.as_deref()), error => None::<String>, name => "" },
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

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
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

/// Unknown paths: a JSON error under `/api/`, else a friendly page (in the layout when the
/// request carries a valid session).
async fn not_found(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let err = ApiError::not_found(format!("there is no page at `{}`", uri.path()));
    if uri.path().starts_with("/api/") {
        return err.into_response();
    }
    let Some(id) = auth::session_id(&headers) else {
        return error_page(err.status, &err.message);
    };
    let hash = auth::secret_sha256(id);
    let session = state
        .blocking(move |s| Ok(s.backend().session(&hash, jiff::Timestamp::now())?))
        .await;
    match session {
        Ok(Some(session)) => error_page_for(
            &state,
            &Caller::User {
                name: session.user.name,
                role: session.user.role,
                csrf_token: session.csrf_token,
            },
            &err,
        ),
        _ => error_page(err.status, &err.message),
    }
}

async fn static_file(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "app.css" => ("text/css; charset=utf-8", stylesheet()),
        "app.js" => ("text/javascript; charset=utf-8", SCRIPT),
        _ => return error_page(StatusCode::NOT_FOUND, "there is no such file"),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/controls/AC-01")), "/controls/AC-01");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn every_template_compiles() {
        let templates = Templates::new().expect("templates compile");
        for (name, _) in TEMPLATES {
            assert!(templates.env.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn the_stylesheet_has_every_width_class() {
        let css = stylesheet();
        assert!(css.contains(".w-0{width:0%}"));
        assert!(css.contains(".w-57{width:57%}"));
        assert!(css.contains(".w-100{width:100%}"));
        assert!(css.contains(".l-50{left:50%}"));
    }

    #[test]
    fn error_pages_escape_the_message() {
        let response = error_page(StatusCode::NOT_FOUND, "<script>x</script>");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
