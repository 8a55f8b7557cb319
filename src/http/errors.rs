//! How every error that reaches HTTP is answered. Each layer has its own error enum; this is
//! the one place that turns them into status codes and SPEC error codes. Internals (database
//! and broker messages) are logged here and never shown to the caller.

use crate::{catalogue::quote, ops::OpsError, receiving::ReceiveError};
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;
use std::borrow::Cow;

/// Seconds a sender is asked to wait after a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

/// The one error body shape: `{"error":{"code":"...","message":"..."}}`.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// Why a read or admin request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    BadRequest(Cow<'static, str>),
    /// A family name hookgate does not know: 404 in a path, 400 in a query or body.
    #[error("no family {name}; one of: {known}", name = quote(.name), known = known_families())]
    UnknownFamily { name: String, in_path: bool },
    #[error("the database is unavailable")]
    Database,
    #[error("the broker is unavailable")]
    Broker,
    #[error("{0}")]
    Conflict(String),
    /// A viewer asked for a change (SPEC 5).
    #[error("a viewer token may read but not change anything")]
    Forbidden,
    /// A change asked for while no operator token is configured.
    #[error("no operator token is configured (HOOKGATE_API_TOKEN)")]
    NoOperatorToken,
}

impl ApiError {
    pub(super) fn bad_request(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::BadRequest(message.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        match self {
            ApiError::NotFound(_) => error_response(StatusCode::NOT_FOUND, "not_found", &message),
            ApiError::BadRequest(_) => {
                error_response(StatusCode::BAD_REQUEST, "malformed_payload", &message)
            }
            ApiError::UnknownFamily { in_path, .. } => {
                let status = if in_path {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::BAD_REQUEST
                };
                error_response(status, "unknown_family", &message)
            }
            ApiError::Conflict(_) => error_response(StatusCode::CONFLICT, "conflict", &message),
            ApiError::Forbidden => error_response(StatusCode::FORBIDDEN, "forbidden", &message),
            ApiError::Database | ApiError::Broker | ApiError::NoOperatorToken => {
                error_response(StatusCode::SERVICE_UNAVAILABLE, "unavailable", &message)
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        tracing::warn!(%error, "request failed: database");
        ApiError::Database
    }
}

impl From<lapin::Error> for ApiError {
    fn from(error: lapin::Error) -> Self {
        tracing::warn!(%error, "request failed: broker");
        ApiError::Broker
    }
}

fn known_families() -> String {
    crate::catalogue::Family::KNOWN
        .iter()
        .map(|family| family.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<OpsError> for ApiError {
    fn from(error: OpsError) -> Self {
        match error {
            OpsError::Broker(error) => error.into(),
            OpsError::Database(error) => error.into(),
            OpsError::Selection(message) => ApiError::bad_request(message),
            OpsError::BrokerUnavailable => ApiError::Broker,
            OpsError::Busy(_) => ApiError::Conflict(error.to_string()),
            OpsError::NotConfirmed(event_id) => {
                tracing::warn!(event_id = %quote(&event_id), "request failed: publish not confirmed");
                ApiError::Broker
            }
        }
    }
}

impl IntoResponse for ReceiveError {
    fn into_response(self) -> Response {
        let status = match self {
            ReceiveError::MalformedPayload(_) => StatusCode::BAD_REQUEST,
            ReceiveError::InvalidSignature(_) | ReceiveError::StaleTimestamp => {
                StatusCode::UNAUTHORIZED
            }
            ReceiveError::UnknownSource => StatusCode::NOT_FOUND,
            ReceiveError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ReceiveError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ReceiveError::Unavailable | ReceiveError::Busy | ReceiveError::Overloaded => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ReceiveError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ReceiveError::Forbidden => StatusCode::FORBIDDEN,
        };
        let mut response = error_response(status, self.code(), &self.to_string());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        if status == StatusCode::REQUEST_TIMEOUT {
            // The rest of a stalled body would still be on the connection: close it (SPEC 2.3).
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
