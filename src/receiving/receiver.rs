//! The receiver: verify a webhook's signature, parse it once, store it in the inbox.

use super::{
    error::ReceiveError,
    inbox::{Inbox, InboxError, NewEvent, Stored},
};
use crate::{
    catalogue::{self, Reading},
    settings::Settings,
    signing::{self, Scheme, VerifiedEvent},
    telemetry::Metrics,
    wire::RoutingKey,
};
use axum::{
    body::Body,
    http::{header, HeaderMap},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sha2::{Digest, Sha256};
use std::{collections::HashMap, sync::Arc};
use tokio::sync::Notify;

/// Everything the webhook route needs.
pub struct Receiver {
    sources: HashMap<String, Box<dyn Scheme>>,
    inbox: Inbox,
    max_body_bytes: usize,
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
            .map(|source| Ok((source.name.clone(), signing::for_source(source)?)))
            .collect::<Result<_, _>>()?;
        Ok(Receiver {
            sources,
            inbox,
            max_body_bytes: config.server.max_body_bytes,
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

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Verifies, parses and stores one webhook: everything but the HTTP answer.
    pub async fn accept(
        &self,
        source: &str,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Stored, ReceiveError> {
        let scheme = self
            .sources
            .get(source)
            .ok_or(ReceiveError::UnknownSource)?;
        if !is_json(headers) {
            return Err(ReceiveError::UnsupportedMediaType);
        }
        let body = read_limited(headers, body, self.max_body_bytes).await?;
        let verified = scheme.verify(headers, &body, chrono::Utc::now())?;
        tracing::Span::current().record("event_id", verified.event_id.as_str());
        let event = to_new_event(source, verified);
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

async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Vec<u8>, ReceiveError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ReceiveError::PayloadTooLarge(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(error) if error.is::<LengthLimitError>() => Err(ReceiveError::PayloadTooLarge(limit)),
        Err(_) => Err(ReceiveError::MalformedPayload(
            "body could not be read".into(),
        )),
    }
}

/// Applies the catalogue to a verified event. The resource is kept byte for byte; its JSON
/// form also goes to a JSONB column when JSONB can hold it.
fn to_new_event(source: &str, verified: VerifiedEvent) -> NewEvent {
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
    }
}
