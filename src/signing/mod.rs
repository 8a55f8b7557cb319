//! Signature schemes. Each scheme turns a request's headers and raw body into a verified event,
//! and can sign an outgoing one (for `hookgate sign` and the HTTP notifier). A new scheme is
//! one new file implementing [`Scheme`] plus its arm in [`for_source`].

mod interlace;
pub mod interlace_envelope;
mod keys;
pub mod signature_header;
mod standard_webhooks;

pub use interlace::Interlace;
pub use standard_webhooks::StandardWebhooks;

use crate::catalogue::{EventId, EventType, LimitError};
use crate::settings::{SchemeKind, SourceConfig};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

/// An event whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvent {
    pub event_id: EventId,
    pub event_type: EventType,
    /// The resource exactly as signed: the bytes the content hash is taken over.
    pub resource: Vec<u8>,
    /// The envelope's own creation time, when it has one.
    pub envelope_time: Option<DateTime<Utc>>,
}

/// Why a request was refused before anything was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    InvalidSignature(&'static str),
    #[error("timestamp is outside the accepted tolerance")]
    StaleTimestamp,
}

impl Rejection {
    /// An envelope field outside the SPEC 2.3a limits: refused, nothing stored.
    fn out_of_bounds(error: LimitError) -> Rejection {
        Rejection::Malformed(error.to_string())
    }
}

/// An event to be signed and sent.
#[derive(Debug, Clone)]
pub struct OutgoingEvent<'a> {
    pub event_id: &'a str,
    pub event_type: &'a str,
    /// The resource as JSON text.
    pub resource: &'a str,
    pub time: DateTime<Utc>,
}

/// Headers and body of a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A request verified into its event, or why it was refused.
pub type Verdict = Result<VerifiedEvent, Rejection>;

pub trait Scheme: Send + Sync {
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Verdict;

    /// Signs with the first (current) secret; `None` when the source has no secret.
    fn sign(&self, event: &OutgoingEvent<'_>) -> Option<SignedRequest>;
}

#[derive(Debug, thiserror::Error)]
#[error("source {source_name:?} has an unusable secret: {reason}")]
pub struct BadSecret {
    pub source_name: String,
    pub reason: String,
}

pub fn for_source(source: &SourceConfig) -> Result<Box<dyn Scheme>, BadSecret> {
    Ok(match source.scheme {
        SchemeKind::Interlace => Box::new(Interlace::new(
            source.secrets.clone(),
            source.timestamp_tolerance_secs,
        )),
        SchemeKind::StandardWebhooks => Box::new(
            StandardWebhooks::new(&source.secrets, source.timestamp_tolerance_secs).map_err(
                |reason| BadSecret {
                    source_name: source.name.clone(),
                    reason,
                },
            )?,
        ),
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A body that did not parse as the scheme's envelope.
fn unreadable_body(error: &serde_json::Error, shape: &str) -> Rejection {
    Rejection::Malformed(json_error_text(error, shape))
}

/// `shape` says what the envelope needs when the JSON was fine but its fields were not;
/// otherwise where the JSON broke.
fn json_error_text(error: &serde_json::Error, shape: &str) -> String {
    match error.classify() {
        serde_json::error::Category::Data => shape.to_owned(),
        _ => format!(
            "body is not JSON (line {}, column {})",
            error.line(),
            error.column()
        ),
    }
}

/// `|now - then|` within `tolerance` seconds.
fn within_tolerance(now: DateTime<Utc>, then: DateTime<Utc>, tolerance_secs: u64) -> bool {
    (now - then).num_milliseconds().unsigned_abs() <= tolerance_secs.saturating_mul(1000)
}
