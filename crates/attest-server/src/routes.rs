//! The role matrix: every route of the server, who may call it, and what it is.
//!
//! The authorisation layer refuses a request whose route is not in [`ROUTES`] or whose
//! caller's role is not listed for it; the OpenAPI document lists the API routes from here;
//! and a test walks every route with every role. Adding a route means adding a row.

use attest_model::Role;

/// Which face of the server a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// JSON under `/api/v1` (errors as JSON, 401 when not logged in).
    Api,
    /// HTML pages and forms (a redirect to the login page when not logged in).
    Page,
}

/// One route and the roles allowed on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path as the router writes it, e.g. `/api/v1/hosts/{name}`.
    pub path: &'static str,
    /// Roles allowed; empty means anyone, logged in or not.
    pub roles: &'static [Role],
    /// API or page.
    pub face: Face,
    /// What it does, in a line (the OpenAPI summary).
    pub summary: &'static str,
}

/// Anyone, logged in or not.
pub const PUBLIC: &[Role] = &[];
/// Every person: admin, editor, auditor.
pub const PEOPLE: &[Role] = &[Role::Admin, Role::Editor, Role::Auditor];
/// People who change controls, evidence and findings.
pub const EDITORS: &[Role] = &[Role::Admin, Role::Editor];
/// Administrators only.
pub const ADMINS: &[Role] = &[Role::Admin];
/// Agents only.
pub const AGENTS: &[Role] = &[Role::Agent];

const fn api(
    method: &'static str,
    path: &'static str,
    roles: &'static [Role],
    summary: &'static str,
) -> Route {
    Route {
        method,
        path,
        roles,
        face: Face::Api,
        summary,
    }
}

const fn page(
    method: &'static str,
    path: &'static str,
    roles: &'static [Role],
    summary: &'static str,
) -> Route {
    Route {
        method,
        path,
        roles,
        face: Face::Page,
        summary,
    }
}

/// Every route of the server.
pub const ROUTES: &[Route] = &[
    // API: sessions and the caller.
    api("POST", "/api/v1/session", PUBLIC, "Log in; sets the session cookie"),
    api("DELETE", "/api/v1/session", PEOPLE, "Log out"),
    api("GET", "/api/v1/me", PEOPLE, "The logged-in user"),
    // API: agents.
    api("POST", "/api/v1/reports", AGENTS, "Push an agent report (idempotent by host and observation time)"),
    // API: reading.
    api("GET", "/api/v1/readiness", PEOPLE, "Readiness per category, criterion and control"),
    api("GET", "/api/v1/readiness/trend", PEOPLE, "Share of passing check results per category, by day"),
    api("GET", "/api/v1/criteria", PEOPLE, "Criteria in scope with their status"),
    api("GET", "/api/v1/controls", PEOPLE, "Controls with their status"),
    api("GET", "/api/v1/controls/{id}", PEOPLE, "One control with its checks and evidence"),
    api("GET", "/api/v1/hosts", PEOPLE, "Hosts with their agent state and latest run"),
    api("GET", "/api/v1/hosts/{name}", PEOPLE, "One host's latest results"),
    api("GET", "/api/v1/findings", PEOPLE, "Findings"),
    api("GET", "/api/v1/findings/{id}", PEOPLE, "One finding with its trail"),
    api("GET", "/api/v1/evidence", PEOPLE, "Evidence records"),
    api("GET", "/api/v1/evidence/{id}/content", PEOPLE, "The content of one piece of evidence"),
    api("GET", "/api/v1/timeline", PEOPLE, "When each control was operating over the audit period"),
    api("GET", "/api/v1/reports/{kind}", PEOPLE, "A readiness, Type 1 or Type 2 report (html or json)"),
    api("GET", "/api/v1/package", PEOPLE, "The auditor evidence package of the audit period (zip)"),
    // API: changing.
    api("POST", "/api/v1/evidence", EDITORS, "Upload evidence for a control (multipart)"),
    api("POST", "/api/v1/findings/{id}", EDITORS, "Update a finding"),
    api("GET", "/api/v1/users", ADMINS, "Users"),
    api("POST", "/api/v1/users", ADMINS, "Add a user"),
    api("POST", "/api/v1/hosts", ADMINS, "Register a host; answers its agent token once"),
    api("DELETE", "/api/v1/hosts/{name}", ADMINS, "Revoke a host's agent token"),
    api("POST", "/api/v1/hosts/{name}/token", ADMINS, "Give a host a new agent token"),
    // Documents.
    api("GET", "/api/openapi.json", PUBLIC, "This OpenAPI document"),
    api("GET", "/healthz", PUBLIC, "Liveness: the store answers"),
    // Pages.
    page("GET", "/login", PUBLIC, "Login form"),
    page("POST", "/login", PUBLIC, "Log in"),
    page("POST", "/logout", PEOPLE, "Log out"),
    page("GET", "/", PEOPLE, "Dashboard"),
    page("GET", "/criteria", PEOPLE, "Criteria"),
    page("GET", "/controls", PEOPLE, "Controls"),
    page("GET", "/controls/{id}", PEOPLE, "One control"),
    page("GET", "/hosts", PEOPLE, "Hosts"),
    page("GET", "/hosts/{name}", PEOPLE, "One host"),
    page("GET", "/findings", PEOPLE, "Findings"),
    page("GET", "/findings/{id}", PEOPLE, "One finding"),
    page("POST", "/findings/{id}", EDITORS, "Update a finding"),
    page("GET", "/evidence", PEOPLE, "Evidence"),
    page("POST", "/evidence", EDITORS, "Upload evidence"),
    page("GET", "/reports", PEOPLE, "Reports and the auditor package"),
    page("GET", "/timeline", PEOPLE, "Type 2 timeline"),
    page("GET", "/admin", ADMINS, "Users and hosts"),
    page("POST", "/admin/users", ADMINS, "Add a user"),
    page("POST", "/admin/hosts", ADMINS, "Register a host"),
    page("POST", "/admin/hosts/{name}/revoke", ADMINS, "Revoke a host"),
    page("GET", "/static/{file}", PUBLIC, "Stylesheet and script"),
];

/// The route `method path` (as the router matched it).
pub fn find(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
}

impl Route {
    /// Whether anyone may call it.
    pub fn is_public(&self) -> bool {
        self.roles.is_empty()
    }

    /// Whether `role` may call it.
    pub fn allows(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}
