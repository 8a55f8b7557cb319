//! Why a webhook was not accepted, and the status code and error code each answer carries.

use super::schemes::Rejection;
use crate::http::error_response;
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("{0}")]
    MalformedPayload(String),
    #[error("{0}")]
    InvalidSignature(&'static str),
    #[error("timestamp is outside the accepted tolerance")]
    StaleTimestamp,
    #[error("no such source")]
    UnknownSource,
    #[error("body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("storage is unavailable, retry later")]
    Unavailable,
}

/// Seconds a sender is asked to wait after a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

impl ReceiveError {
    /// The SPEC error code, also used as the `outcome` metric label.
    pub fn code(&self) -> &'static str {
        match self {
            ReceiveError::MalformedPayload(_) => "malformed_payload",
            ReceiveError::InvalidSignature(_) => "invalid_signature",
            ReceiveError::StaleTimestamp => "stale_timestamp",
            ReceiveError::UnknownSource => "unknown_source",
            ReceiveError::PayloadTooLarge(_) => "payload_too_large",
            ReceiveError::UnsupportedMediaType => "unsupported_media_type",
            ReceiveError::Unavailable => "unavailable",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ReceiveError::MalformedPayload(_) => StatusCode::BAD_REQUEST,
            ReceiveError::InvalidSignature(_) | ReceiveError::StaleTimestamp => {
                StatusCode::UNAUTHORIZED
            }
            ReceiveError::UnknownSource => StatusCode::NOT_FOUND,
            ReceiveError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ReceiveError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ReceiveError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<Rejection> for ReceiveError {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Malformed(message) => ReceiveError::MalformedPayload(message),
            Rejection::InvalidSignature(message) => ReceiveError::InvalidSignature(message),
            Rejection::StaleTimestamp => ReceiveError::StaleTimestamp,
        }
    }
}

impl IntoResponse for ReceiveError {
    fn into_response(self) -> Response {
        let mut response = error_response(self.status(), self.code(), &self.to_string());
        if matches!(self, ReceiveError::Unavailable) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        response
    }
}
