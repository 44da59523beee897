//! The OpenAPI 3.1 document of the API, built from the role matrix and the JSON Schemas of
//! the request and response types.

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::routes::{Face, ROUTES};

/// The OpenAPI route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(|| async { Json(document()) }))
}

fn schema<T: schemars::JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
}

/// Request and response schemas by `METHOD path`.
fn bodies(method: &str, path: &str) -> (Option<Value>, Option<Value>) {
    use crate::api;
    match (method, path) {
        ("POST", "/api/v1/session") => (Some(schema::<api::LoginRequest>()), Some(schema::<api::Me>())),
        ("GET", "/api/v1/me") => (None, Some(schema::<api::Me>())),
        ("POST", "/api/v1/reports") => (
            Some(schema::<attest_model::AgentReport>()),
            Some(schema::<api::ReportReceipt>()),
        ),
        ("GET", "/api/v1/readiness") => (
            None,
            Some(schema::<attest_report::readiness::ReadinessReport>()),
        ),
        ("GET", "/api/v1/readiness/trend") => (None, Some(schema::<Vec<crate::views::TrendPoint>>())),
        ("GET", "/api/v1/criteria") => (
            None,
            Some(schema::<Vec<attest_report::readiness::CriterionReadiness>>()),
        ),
        ("GET", "/api/v1/controls") => (
            None,
            Some(schema::<Vec<attest_report::readiness::ControlReadiness>>()),
        ),
        ("GET", "/api/v1/controls/{id}") => (None, Some(schema::<api::ControlDetail>())),
        ("GET", "/api/v1/hosts") => (None, Some(schema::<Vec<crate::views::HostSummary>>())),
        ("GET", "/api/v1/hosts/{name}") => (None, Some(schema::<Vec<attest_model::ResultInterval>>())),
        ("POST", "/api/v1/hosts") => (Some(schema::<api::NewHostRequest>()), Some(schema::<api::HostToken>())),
        ("POST", "/api/v1/hosts/{name}/token") => (None, Some(schema::<api::HostToken>())),
        ("GET", "/api/v1/findings") => (None, Some(schema::<Vec<attest_model::Finding>>())),
        ("GET", "/api/v1/findings/{id}") => (None, Some(schema::<api::FindingDetail>())),
        ("POST", "/api/v1/findings/{id}") => (
            Some(schema::<api::FindingChangeRequest>()),
            Some(schema::<attest_model::Finding>()),
        ),
        ("GET", "/api/v1/evidence") => (None, Some(schema::<Vec<attest_model::EvidenceRecord>>())),
        ("POST", "/api/v1/evidence") => (None, Some(schema::<attest_model::EvidenceRecord>())),
        ("GET", "/api/v1/timeline") => (None, Some(schema::<attest_report::type2::Type2Report>())),
        ("GET", "/api/v1/users") => (None, Some(schema::<Vec<api::UserSummary>>())),
        ("POST", "/api/v1/users") => (Some(schema::<api::NewUserRequest>()), Some(schema::<api::UserSummary>())),
        _ => (None, None),
    }
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for route in ROUTES.iter().filter(|r| r.face == Face::Api) {
        let (request, response) = bodies(route.method, route.path);
        let mut operation = json!({
            "summary": route.summary,
            "x-roles": route.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "responses": {
                "default": { "description": "An error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        });
        let ok = if route.method == "POST" && response.is_some() && route.path != "/api/v1/session" {
            "201"
        } else {
            "200"
        };
        operation["responses"][ok] = match response {
            Some(schema) => json!({ "description": "Success", "content": { "application/json": { "schema": schema } } }),
            None => json!({ "description": "Success" }),
        };
        if let Some(schema) = request {
            operation["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": schema } } });
        }
        if route.path == "/api/v1/evidence" && route.method == "POST" {
            operation["requestBody"] = json!({ "required": true, "content": { "multipart/form-data": { "schema": {
                "type": "object", "required": ["control", "file"],
                "properties": {
                    "control": { "type": "string" }, "file": { "type": "string", "format": "binary" },
                    "note": { "type": "string" }, "effective_date": { "type": "string", "format": "date" }
                } } } } });
        }
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !params.is_empty() {
            operation["parameters"] = Value::Array(params);
        }
        if route.roles.is_empty() {
            operation["security"] = json!([]);
        } else if route.roles == crate::routes::AGENTS {
            operation["security"] = json!([{ "agentToken": [] }]);
        }
        paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}))[route.method.to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Attest API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "SOC 2 readiness, evidence, findings and agent reports. People log in with POST /api/v1/session (a session cookie) and send the returned csrf_token as X-CSRF-Token on every state-changing request; agents send their token as a Bearer token. x-roles lists the roles allowed on each operation."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "session": [] }],
        "components": {
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE },
                "agentToken": { "type": "http", "scheme": "bearer" }
            },
            "schemas": {
                "Error": {
                    "type": "object", "required": ["error"],
                    "properties": { "error": { "type": "object", "required": ["code", "message"],
                        "properties": { "code": { "type": "string" }, "message": { "type": "string" }, "field": { "type": "string" } } } }
                }
            }
        },
        "paths": paths,
    })
}
