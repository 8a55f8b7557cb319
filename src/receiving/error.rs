//! Why a webhook was not accepted, with the SPEC error code of each reason.

use crate::signing::Rejection;

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
