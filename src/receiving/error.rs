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
    /// More events wait to be stored than the next commits take: answered at once, so the
    /// sender retries instead of waiting for a commit slot.
    #[error("too many events are waiting to be stored, retry later")]
    Busy,
    /// More requests or body bytes under way than the limits allow (SPEC 2.3): shed at once.
    #[error("too many requests are under way, retry later")]
    Overloaded,
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("this source does not accept requests from this address")]
    Forbidden,
}

/// Every `outcome` label of `hookgate_webhook_requests_total`: a new or duplicate event, or
/// the code of the refusal.
pub const WEBHOOK_OUTCOMES: [&str; 12] = [
    "accepted",
    "duplicate",
    "malformed_payload",
    "invalid_signature",
    "stale_timestamp",
    "unknown_source",
    "payload_too_large",
    "unsupported_media_type",
    "unavailable",
    "busy",
    "request_timeout",
    "forbidden",
];

/// Every `reason` label of `hookgate_verification_failures_total`.
pub const VERIFICATION_REASONS: [&str; 2] = ["invalid_signature", "stale_timestamp"];

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
            ReceiveError::Unavailable | ReceiveError::Busy => "unavailable",
            ReceiveError::Overloaded => "busy",
            ReceiveError::RequestTimeout => "request_timeout",
            ReceiveError::Forbidden => "forbidden",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_code_is_a_known_metric_label() {
        let refusals = [
            ReceiveError::MalformedPayload(String::new()),
            ReceiveError::InvalidSignature(""),
            ReceiveError::StaleTimestamp,
            ReceiveError::UnknownSource,
            ReceiveError::PayloadTooLarge(0),
            ReceiveError::UnsupportedMediaType,
            ReceiveError::Unavailable,
            ReceiveError::Busy,
            ReceiveError::Overloaded,
            ReceiveError::RequestTimeout,
            ReceiveError::Forbidden,
        ];
        for refusal in &refusals {
            assert!(WEBHOOK_OUTCOMES.contains(&refusal.code()), "{refusal:?}");
        }
        // Busy shares the `unavailable` code with Unavailable.
        assert_eq!(WEBHOOK_OUTCOMES.len(), refusals.len() + 1);
        for reason in VERIFICATION_REASONS {
            assert!(WEBHOOK_OUTCOMES.contains(&reason));
        }
    }
}
