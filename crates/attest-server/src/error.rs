//! Errors: what a request gets back, and why the server could not start.
//!
//! Every API error is `{"error": {"code", "message", "field"?}}` with a fitting status.
//! Internal errors reach the client as a generic message; the detail goes to the log only.

use attest_store::StoreError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The ingest writer thread could not be started.
    #[error("cannot start the ingest writer: {0}")]
    Thread(#[from] std::io::Error),
    /// A built-in template does not compile.
    #[error("a built-in template is broken: {0}")]
    Template(#[from] minijinja::Error),
}

/// An error answered to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable kebab-case code.
    pub code: &'static str,
    /// One line for the caller.
    pub message: String,
    /// The offending field, e.g. `results[3].check`.
    pub field: Option<String>,
    /// Seconds to wait before retrying (429 and 503).
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// Names the offending field.
    #[must_use]
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400: the request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no valid credentials.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "log in, or send a valid agent token",
        )
    }

    /// 403: the caller may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404: nothing here.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    /// 429 or 503 with a retry delay.
    pub fn busy(status: StatusCode, message: impl Into<String>, retry_after: u64) -> Self {
        let mut err = Self::new(status, "busy", message);
        err.retry_after = Some(retry_after);
        err
    }

    /// 500: logged in full, answered generically.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete the request; the error is in its log",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Exists { .. } => Self::new(StatusCode::CONFLICT, "exists", err.to_string()),
            StoreError::Unknown { .. } | StoreError::UnknownFinding(_) => {
                Self::not_found(err.to_string())
            }
            StoreError::Invalid(_) | StoreError::InvalidRun(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", err.to_string())
            }
            StoreError::OutOfOrder { .. } => {
                Self::new(StatusCode::CONFLICT, "out-of-order", err.to_string())
            }
            other => Self::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Detail {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
