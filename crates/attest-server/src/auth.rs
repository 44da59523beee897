//! Who is calling, and may they: passwords, agent tokens, sessions, CSRF, login limits and
//! security headers.
//!
//! - Passwords are hashed with argon2id (the `argon2` crate's defaults, OWASP's minimum).
//! - Agent tokens are `atk_` and 64 hex digits (256 random bits); the store keeps their
//!   SHA-256 only, which is enough for a random secret of that size and cheap per request.
//! - Sessions: a random id in an `HttpOnly`, `SameSite=Strict` (and by default `Secure`)
//!   cookie; the store keeps its SHA-256. Every state-changing request of a session must
//!   carry the session's CSRF token (`X-CSRF-Token` header, or a `csrf_token` form field),
//!   and a cross-site `Origin` is refused.
//! - Failed logins are counted per user name and per client address in the store (so every
//!   app server sees them); past the limit, logins are refused with 429 for the window.

use std::net::SocketAddr;

use argon2::password_hash::{PasswordHasher as _, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash, PasswordVerifier as _};
use attest_model::Role;
use attest_store::accounts::{Session, User};
use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::AppState;
use crate::error::ApiError;
use crate::routes::{self, Face};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "attest_session";

/// Header carrying the CSRF token of a session.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Prefix of agent tokens.
pub const TOKEN_PREFIX: &str = "atk_";

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A logged-in person.
    User {
        /// The user.
        name: String,
        /// Their role.
        role: Role,
        /// Their session's CSRF token.
        csrf_token: String,
    },
    /// A host's agent.
    Agent {
        /// The host its token belongs to.
        host: String,
    },
}

impl Caller {
    /// The caller's role.
    pub fn role(&self) -> Role {
        match self {
            Caller::User { role, .. } => *role,
            Caller::Agent { .. } => Role::Agent,
        }
    }

    /// The name changes are recorded under.
    pub fn name(&self) -> &str {
        match self {
            Caller::User { name, .. } => name,
            Caller::Agent { host } => host,
        }
    }
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(String);

/// The argon2id PHC string of `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash to verify against when the user does not exist, so that the answer takes as long
/// as for a real user and does not reveal which names exist.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password").unwrap_or_default())
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> Result<String, getrandom::Error> {
    let mut bytes = vec![0_u8; n];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// A new agent token.
pub fn new_agent_token() -> Result<String, getrandom::Error> {
    Ok(format!("{TOKEN_PREFIX}{}", random_hex(32)?))
}

/// SHA-256 of a token or session id, as the store keeps it.
pub fn secret_sha256(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Why a password is not acceptable, or `None`.
pub fn password_problem(password: &str) -> Option<&'static str> {
    if password.chars().count() < 12 {
        Some("a password needs at least 12 characters")
    } else if password.len() > 1024 {
        Some("a password may have at most 1024 bytes")
    } else {
        None
    }
}

/// Whether `name` is acceptable for a user or a host.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 128 {
        Some("a name has 1 to 128 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'@'))
    {
        Some("a name may hold letters, digits, `.`, `-`, `_` and `@` only")
    } else {
        None
    }
}

/// What a successful login yields: the session id for the cookie, and the session.
#[derive(Debug, Clone)]
pub struct Login {
    /// The session id (goes into the cookie, never stored).
    pub session_id: String,
    /// The user.
    pub user: User,
    /// The session's CSRF token.
    pub csrf_token: String,
}

/// Checks `name` and `password`, counting failures per name and per client address; starts
/// a session on success. Runs on the blocking pool (argon2 and the store block).
pub fn login(
    state: &AppState,
    name: &str,
    password: &str,
    client: Option<SocketAddr>,
) -> Result<Login, ApiError> {
    let backend = state.backend();
    let options = state.options();
    let now = Timestamp::now();
    let since = now - options.login_window;
    let keys = [
        format!("user:{name}"),
        client.map_or_else(|| "addr:unknown".to_owned(), |a| format!("addr:{}", a.ip())),
    ];
    // Addresses get more attempts than names: several people may share one.
    let limits = [
        options.login_attempts,
        options.login_attempts.saturating_mul(4),
    ];
    for (key, limit) in keys.iter().zip(limits) {
        if backend.login_failures(key, since)? >= limit {
            return Err(ApiError::busy(
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed logins; try again later",
                u64::try_from(options.login_window.as_secs()).unwrap_or(900),
            ));
        }
    }
    let user = backend.user(name)?;
    let hash = user
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
    let matches = verify_password(password, &hash);
    let user = match user {
        Some(user) if matches && !user.disabled => user,
        _ => {
            for key in &keys {
                backend.record_login_failure(key, now)?;
            }
            tracing::info!(user = name, "failed login");
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad-credentials",
                "unknown user name or wrong password",
            ));
        }
    };
    backend.clear_login_failures(&keys[0])?;
    let session_id = random_hex(32).map_err(ApiError::internal)?;
    let csrf_token = random_hex(32).map_err(ApiError::internal)?;
    backend.create_session(
        &secret_sha256(&session_id),
        user.id,
        &csrf_token,
        now + options.session_lifetime,
    )?;
    tracing::info!(user = name, "logged in");
    Ok(Login {
        session_id,
        user,
        csrf_token,
    })
}

/// The `Set-Cookie` value starting a session.
pub fn session_cookie(state: &AppState, session_id: &str) -> String {
    let secure = if state.options().secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        state.options().session_lifetime.as_secs()
    )
}

/// The `Set-Cookie` value ending a session.
pub fn clear_cookie(state: &AppState) -> String {
    let secure = if state.options().secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

/// The session id in the request's cookies.
pub fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Equal in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Finds the caller of a request: an agent token, else a session cookie.
async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, ApiError> {
    if let Some(token) = bearer(headers) {
        let hash = secret_sha256(token);
        let host = state
            .blocking(move |state| Ok(state.backend().host_by_token(&hash)?))
            .await?;
        return Ok(host.map(|host| Caller::Agent { host: host.name }));
    }
    let Some(id) = session_id(headers) else {
        return Ok(None);
    };
    let hash = secret_sha256(id);
    let session: Option<Session> = state
        .blocking(move |state| Ok(state.backend().session(&hash, Timestamp::now())?))
        .await?;
    Ok(session.map(|s| Caller::User {
        name: s.user.name,
        role: s.user.role,
        csrf_token: s.csrf_token,
    }))
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request's `Origin` (if any) is this server.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority == host)
}

/// A CSRF token that a handler must still find in the request body (multipart forms).
#[derive(Debug, Clone)]
pub struct PendingCsrf(pub String);

fn refuse(face: Face, err: ApiError, path: &str) -> Response {
    match face {
        Face::Api => err.into_response(),
        Face::Page if err.status == StatusCode::UNAUTHORIZED => {
            Redirect::to(&format!("/login?next={}", crate::ui::url_encode(path))).into_response()
        }
        Face::Page => crate::ui::error_page(err.status, &err.message),
    }
}

/// The routes whose handlers read a multipart body and check its CSRF token.
const MULTIPART_ROUTES: &[&str] = &["/evidence", "/api/v1/evidence"];

/// Largest urlencoded form body read to find its CSRF token.
const FORM_LIMIT: usize = 64 * 1024;

async fn authorise(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| routes::find(method.as_str(), m.as_str()));
    let Some(route) = route else {
        // A route without a row in the matrix is refused, whoever calls.
        return ApiError::forbidden("this route has no access rule").into_response();
    };
    if route.is_public() {
        // A login posted from another site is refused too (login CSRF).
        if is_unsafe(&method) && !same_origin(request.headers()) {
            return refuse(
                route.face,
                ApiError::forbidden("cross-site request refused"),
                &path,
            );
        }
        return next.run(request).await;
    }
    let caller = match identify(&state, request.headers()).await {
        Ok(Some(caller)) => caller,
        Ok(None) => return refuse(route.face, ApiError::unauthorized(), &path),
        Err(err) => return refuse(route.face, err, &path),
    };
    if !route.allows(caller.role()) {
        let err = ApiError::forbidden(format!(
            "the {} role may not {} {}",
            caller.role(),
            route.method,
            route.path
        ));
        if route.face == Face::Page {
            return crate::ui::error_page_for(&state, &caller, &err);
        }
        return refuse(route.face, err, &path);
    }
    let mut request = request;
    if let Caller::User { csrf_token, .. } = &caller
        && is_unsafe(&method)
    {
        if !same_origin(request.headers()) {
            return refuse(
                route.face,
                ApiError::forbidden("cross-site request refused"),
                &path,
            );
        }
        match check_csrf(request, csrf_token, route.path).await {
            Ok(checked) => request = checked,
            Err(err) => return refuse(route.face, err, &path),
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Checks the session's CSRF token in the header, or in an urlencoded form body; a multipart
/// body's token is left to its handler ([`PendingCsrf`]).
async fn check_csrf(request: Request, expected: &str, route: &str) -> Result<Request, ApiError> {
    let missing = || ApiError::forbidden("missing or wrong CSRF token");
    if let Some(given) = request.headers().get(CSRF_HEADER) {
        return if same_secret(given.to_str().unwrap_or(""), expected) {
            Ok(request)
        } else {
            Err(missing())
        };
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    // Only the evidence uploads read a multipart body (and check its token themselves);
    // anywhere else a multipart body would carry a token nobody looks at.
    if content_type.starts_with("multipart/form-data") && MULTIPART_ROUTES.contains(&route) {
        let mut request = request;
        request
            .extensions_mut()
            .insert(PendingCsrf(expected.to_owned()));
        return Ok(request);
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(missing());
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", "form too large"))?;
    let given = form_urlencoded_value(&bytes, "csrf_token");
    if !given.is_some_and(|given| same_secret(&given, expected)) {
        return Err(missing());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The value of `field` in an urlencoded form.
pub fn form_urlencoded_value(body: &[u8], field: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == field)
        .map(|(_, v)| v)
}

/// Wraps `routes` with the authorisation layer (routes only: unknown paths are 404).
pub fn protect(routes: Router<AppState>, state: AppState) -> Router<AppState> {
    routes.route_layer(middleware::from_fn_with_state(state, authorise))
}

/// Headers set on every response that does not set them itself.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    // Not `no-referrer`: under it browsers send `Origin: null` with same-origin form posts,
    // which the origin check refuses.
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cache-control", "no-store"),
    ("strict-transport-security", "max-age=31536000"),
];

/// Adds the security headers to a response.
pub async fn add_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// Answers `response` as is (helper for handlers returning either).
pub fn into_response(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}
