//! The Attest server: a web UI and a JSON API over one store, agents pushing reports, users
//! with roles.
//!
//! [`app`] builds the whole [`axum::Router`] from an [`AppState`]; [`serve`] runs it on a
//! listener until a shutdown signal. Every route is listed once in [`routes::ROUTES`] with
//! the roles allowed to call it: the authorisation layer, the OpenAPI document and the role
//! matrix test are all driven by that table, so a route cannot exist without a rule.
//!
//! An app server keeps no state of its own: users, sessions, agent tokens, failed logins,
//! evidence files and history all live in the store, so several servers can share one
//! PostgreSQL database behind a load balancer. Agent reports are written by one writer
//! thread per server that commits whatever arrived while the previous commit ran in one
//! transaction (group commit), and a report is acknowledged only after its commit.

use std::collections::HashSet;
use std::sync::Arc;

use attest_store::Store;
use attest_store::accounts::AccountStore;
use attest_workspace::Workspace;
use axum::Router;
use jiff::SignedDuration;

pub mod api;
pub mod auth;
pub mod error;
pub mod findings;
pub mod ingest;
pub mod openapi;
pub mod routes;
pub mod ui;
pub mod views;

#[cfg(test)]
mod tests;

/// A store the server can run on: history, ledger and evidence, plus accounts.
pub trait Backend: Store + AccountStore {}

impl<T: Store + AccountStore + ?Sized> Backend for T {}

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Mark session cookies `Secure` (sent over HTTPS and to `localhost` only).
    pub secure_cookies: bool,
    /// How long a session lasts.
    pub session_lifetime: SignedDuration,
    /// Failed logins per user name, and per client address, within [`Self::login_window`]
    /// before further attempts are refused.
    pub login_attempts: u64,
    /// The window failed logins are counted over.
    pub login_window: SignedDuration,
    /// Most agent reports waiting to be written before new ones are refused with 503.
    pub ingest_queue: usize,
    /// Most agent reports written in one transaction.
    pub ingest_batch: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            secure_cookies: true,
            session_lifetime: SignedDuration::from_hours(12),
            login_attempts: 5,
            login_window: SignedDuration::from_mins(15),
            ingest_queue: 8192,
            ingest_batch: 512,
        }
    }
}

/// Everything a request handler can reach.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Arc<dyn Backend>,
    workspace: Arc<Workspace>,
    /// Ids of the checks the workspace knows; reports naming another are refused.
    checks: HashSet<String>,
    options: ServerOptions,
    ingest: ingest::Ingest,
    templates: ui::Templates,
    /// The ledger signing key, for exporting auditor packages.
    #[allow(dead_code, reason = "the auditor package export signs with it")]
    key: Option<attest_ledger::SigningKey>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// A state serving `workspace` from `backend`; starts the ingest writer thread.
    pub fn new(
        backend: Arc<dyn Backend>,
        workspace: Workspace,
        options: ServerOptions,
        key: Option<attest_ledger::SigningKey>,
    ) -> Result<Self, error::StartError> {
        let checks = workspace.checks.iter().map(|c| c.id.clone()).collect();
        let ingest = ingest::Ingest::start(
            Arc::clone(&backend),
            options.ingest_queue,
            options.ingest_batch,
        )?;
        Ok(AppState {
            inner: Arc::new(Inner {
                backend,
                workspace: Arc::new(workspace),
                checks,
                options,
                ingest,
                templates: ui::Templates::new()?,
                key,
            }),
        })
    }

    /// The store.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.inner.backend
    }

    /// The workspace served.
    pub fn workspace(&self) -> &Arc<Workspace> {
        &self.inner.workspace
    }

    /// The server's options.
    pub fn options(&self) -> &ServerOptions {
        &self.inner.options
    }

    /// Whether the workspace has a check with `id`.
    pub fn knows_check(&self, id: &str) -> bool {
        self.inner.checks.contains(id)
    }

    pub(crate) fn ingest(&self) -> &ingest::Ingest {
        &self.inner.ingest
    }

    pub(crate) fn templates(&self) -> &ui::Templates {
        &self.inner.templates
    }

    #[allow(dead_code, reason = "the auditor package export signs with it")]
    pub(crate) fn key(&self) -> Option<&attest_ledger::SigningKey> {
        self.inner.key.as_ref()
    }

    /// Runs `work` on the blocking pool with the store (every store call blocks).
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&AppState) -> Result<T, error::ApiError> + Send + 'static,
    ) -> Result<T, error::ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || work(&state))
            .await
            .map_err(|e| error::ApiError::internal(format!("a worker stopped: {e}")))?
    }
}

/// The whole application: API, web UI, static files, security headers and authorisation.
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .merge(api::router())
        .merge(ui::router())
        .merge(openapi::router());
    auth::protect(routes, state.clone())
        .with_state(state)
        .layer(axum::middleware::map_response(auth::add_security_headers))
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
