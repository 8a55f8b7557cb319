//! The receiver: verify a webhook's signature, parse it once, store it in the inbox.

use super::{
    error::ReceiveError,
    inbox::{Inbox, InboxError, NewEvent, Stored},
};
use crate::{
    catalogue::RoutingKey,
    catalogue::{self, Reading, TraceParent, TRACEPARENT},
    settings::Settings,
    signing::{self, Scheme, VerifiedEvent},
    telemetry::{traces, Metrics},
};
use axum::{
    body::Body,
    http::{header, HeaderMap},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use ipnet::IpNet;
use sha2::{Digest, Sha256};
use std::{collections::HashMap, net::IpAddr, sync::Arc, time::Duration};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// Bodies larger than this are verified on a blocking thread: a MAC over a megabyte takes
/// milliseconds, which would stall every other request on that runtime worker.
const VERIFY_INLINE_BYTES: usize = 16 * 1024;
/// The unit of the body-bytes budget, so that a budget of terabytes fits a semaphore.
const BUDGET_UNIT: usize = 1024;

/// A configured sender: how its requests are verified and where they may come from.
struct Source {
    scheme: Arc<dyn Scheme>,
    allowed_networks: Option<Vec<IpNet>>,
}

/// Everything the webhook route needs.
pub struct Receiver {
    sources: HashMap<String, Source>,
    inbox: Inbox,
    max_body_bytes: usize,
    max_in_flight: usize,
    body_timeout: Duration,
    /// Bytes of bodies under way, in [`BUDGET_UNIT`]s (`HOOKGATE_MAX_BODY_BYTES_IN_FLIGHT`).
    body_budget: Arc<Semaphore>,
    metrics: Arc<Metrics>,
    stored: Option<Arc<Notify>>,
}

impl Receiver {
    /// `stored` is notified after every commit of a new event: the hand-off that wakes the
    /// relay. Notifications coalesce, so an unavailable broker never makes them pile up.
    pub fn new(
        config: &Settings,
        inbox: Inbox,
        metrics: Arc<Metrics>,
        stored: Option<Arc<Notify>>,
    ) -> Result<Receiver, signing::BadSecret> {
        let sources = config
            .sources
            .iter()
            .map(|source| {
                let receiving = Source {
                    scheme: Arc::from(signing::for_source(source)?),
                    allowed_networks: source.allowed_networks.clone(),
                };
                Ok((source.name.clone(), receiving))
            })
            .collect::<Result<_, _>>()?;
        let limits = config.server.limits;
        Ok(Receiver {
            sources,
            inbox,
            max_body_bytes: config.server.max_body_bytes,
            max_in_flight: limits.max_in_flight,
            body_timeout: limits.body_timeout,
            body_budget: Arc::new(Semaphore::new(
                limits.max_body_bytes_in_flight.div_ceil(BUDGET_UNIT),
            )),
            metrics,
            stored,
        })
    }
}

impl Receiver {
    /// Whether `source` names a configured source; only those become metric labels.
    pub fn knows(&self, source: &str) -> bool {
        self.sources.contains_key(source)
    }

    /// The metric label of `source`: only configured names, since anyone can invent others.
    pub fn label<'a>(&self, source: &'a str) -> &'a str {
        if self.knows(source) {
            source
        } else {
            "_unknown"
        }
    }

    /// `HOOKGATE_BODY_TIMEOUT_MS`: how long a request body may take after its headers.
    pub fn body_timeout(&self) -> Duration {
        self.body_timeout
    }

    /// `HOOKGATE_MAX_IN_FLIGHT`: webhook requests under way at once before the rest are shed.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// Counts one webhook by its outcome (a duplicate also as a duplicate, a refusal as
    /// [`Receiver::count_refusal`] does), and how long its answer took.
    pub fn record(&self, label: &str, outcome: &Result<Stored, ReceiveError>, took: Duration) {
        match outcome {
            Ok(Stored::New { .. }) => self
                .metrics
                .webhook_requests
                .with_label_values(&[label, "accepted"])
                .inc(),
            Ok(Stored::Duplicate) => {
                self.metrics
                    .webhook_requests
                    .with_label_values(&[label, "duplicate"])
                    .inc();
                self.metrics.duplicates.with_label_values(&[label]).inc();
            }
            Err(error) => self.count_refusal(label, error),
        }
        self.metrics
            .webhook_seconds
            .with_label_values(&[label])
            .observe(took.as_secs_f64());
    }

    /// Counts a refused webhook by its outcome, and a failed verification by its reason.
    pub fn count_refusal(&self, label: &str, error: &ReceiveError) {
        self.metrics
            .webhook_requests
            .with_label_values(&[label, error.code()])
            .inc();
        if matches!(
            error,
            ReceiveError::InvalidSignature(_) | ReceiveError::StaleTimestamp
        ) {
            self.metrics
                .verification_failures
                .with_label_values(&[label, error.code()])
                .inc();
        }
    }

    /// Verifies, parses and stores one webhook from `client` (`None` when the peer is not
    /// known, as in a test without a socket), with its headers and the trace they name (read
    /// once, by the caller, whose span follows it): everything but the HTTP answer.
    pub async fn accept(
        &self,
        source: &str,
        client: Option<IpAddr>,
        headers: &HeaderMap,
        sender_trace: Option<&TraceParent>,
        body: Body,
    ) -> Result<Stored, ReceiveError> {
        let configured = self
            .sources
            .get(source)
            .ok_or(ReceiveError::UnknownSource)?;
        if let Some(allowed) = &configured.allowed_networks {
            if !client.is_some_and(|client| allowed.iter().any(|net| net.contains(&client))) {
                return Err(ReceiveError::Forbidden);
            }
        }
        if !is_json(headers) {
            return Err(ReceiveError::UnsupportedMediaType);
        }
        let declared = declared_length(headers);
        if declared.is_some_and(|length| length > self.max_body_bytes as u64) {
            return Err(ReceiveError::PayloadTooLarge(self.max_body_bytes));
        }
        let _budget = self.reserve(declared)?;
        let body = tokio::time::timeout(self.body_timeout, read_limited(body, self.max_body_bytes))
            .await
            .map_err(|_| ReceiveError::RequestTimeout)??;
        let verified = verify(configured.scheme.clone(), headers, body).await?;
        tracing::Span::current().record("event_id", verified.event_id.as_str());
        let carried = traces::passed_on(&tracing::Span::current(), sender_trace);
        let event = to_new_event(source, verified, Some(carried));
        let family = catalogue::Family::named_by(&event.event_type);
        if let Reading::Unfit { family, reason, .. } = &event.reading {
            tracing::warn!(error = %reason, %family, "resource does not fit its family; stored for the dead-letter queue");
        }
        let stored = self.inbox.store(event).await.map_err(|error| match error {
            InboxError::Full => {
                tracing::debug!("inbox queue full; answered 503 at once");
                ReceiveError::Busy
            }
            error => {
                tracing::error!(%error, "event not stored");
                ReceiveError::Unavailable
            }
        })?;
        match stored {
            Stored::New {
                seq,
                clamped,
                resent,
            } => {
                tracing::info!(seq, clamped, resent, "event stored");
                if clamped {
                    self.metrics
                        .envelope_time_clamped
                        .with_label_values(&[source])
                        .inc();
                }
                if resent {
                    self.metrics
                        .resent_resources
                        .with_label_values(&[source, family.as_str()])
                        .inc();
                }
                if let Some(stored) = &self.stored {
                    stored.notify_one();
                }
            }
            Stored::Duplicate => tracing::info!("duplicate event ignored"),
        }
        Ok(stored)
    }
}

impl Receiver {
    /// Holds the body's share of the bytes-in-flight budget until the request is answered:
    /// its declared length, or the largest body when it declares none. Refused at once when
    /// the budget is spent (SPEC 2.3).
    fn reserve(&self, declared: Option<u64>) -> Result<OwnedSemaphorePermit, ReceiveError> {
        let bytes = declared.map_or(self.max_body_bytes, |length| length as usize);
        let units = u32::try_from(bytes.div_ceil(BUDGET_UNIT).max(1)).unwrap_or(u32::MAX);
        self.body_budget
            .clone()
            .try_acquire_many_owned(units)
            .map_err(|_| ReceiveError::Overloaded)
    }
}

/// Verifies small bodies where they are, large ones on a blocking thread.
async fn verify(
    scheme: Arc<dyn Scheme>,
    headers: &HeaderMap,
    body: Vec<u8>,
) -> Result<VerifiedEvent, ReceiveError> {
    let now = chrono::Utc::now();
    if body.len() <= VERIFY_INLINE_BYTES {
        return Ok(scheme.verify(headers, &body, now)?);
    }
    let headers = headers.clone();
    tokio::task::spawn_blocking(move || scheme.verify(&headers, &body, now))
        .await
        .map_err(|_| ReceiveError::Unavailable)?
        .map_err(ReceiveError::from)
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_limited(body: Body, limit: usize) -> Result<Vec<u8>, ReceiveError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(error) if error.is::<LengthLimitError>() => Err(ReceiveError::PayloadTooLarge(limit)),
        Err(_) => Err(ReceiveError::MalformedPayload(
            "body could not be read".into(),
        )),
    }
}

/// Applies the catalogue to a verified event. The resource is kept byte for byte, as signed;
/// what the catalogue read from it goes beside it.
pub fn to_new_event(
    source: &str,
    verified: VerifiedEvent,
    traceparent: Option<TraceParent>,
) -> NewEvent {
    let description = catalogue::describe(
        &verified.event_type,
        &verified.resource,
        verified.envelope_time,
    );
    NewEvent {
        source: source.to_owned(),
        routing_key: RoutingKey::of(&verified.event_type, &description.reading),
        event_id: verified.event_id,
        event_type: verified.event_type,
        envelope_time: verified.envelope_time,
        reading: description.reading,
        content_hash: Sha256::digest(&verified.resource).to_vec(),
        resource_raw: verified.resource,
        traceparent,
    }
}

/// The sender's `traceparent`, when it reads as one: unsigned, it only names a trace.
pub fn incoming_trace(headers: &HeaderMap) -> Option<TraceParent> {
    let value = headers.get(TRACEPARENT)?.to_str().ok()?;
    TraceParent::parse(value)
}
