//! `POST /webhooks/{source}`.

use super::{
    error::ReceiveError,
    inbox::{Inbox, NewEvent, Stored},
    schemes::{self, Scheme, VerifiedEvent},
};
use crate::{catalogue, config::Config, telemetry::Metrics};
use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::{collections::HashMap, sync::Arc, time::Instant};
use tokio::sync::Notify;
use tracing::Instrument;

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
        config: &Config,
        inbox: Inbox,
        metrics: Arc<Metrics>,
        stored: Option<Arc<Notify>>,
    ) -> Result<Receiver, schemes::BadSecret> {
        let sources = config
            .sources
            .iter()
            .map(|source| Ok((source.name.clone(), schemes::for_source(source)?)))
            .collect::<Result<_, _>>()?;
        Ok(Receiver {
            sources,
            inbox,
            max_body_bytes: config.max_body_bytes,
            metrics,
            stored,
        })
    }
}

pub async fn receive(
    State(receiver): State<Arc<Receiver>>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let known = receiver.sources.contains_key(&source);
    // Unknown names are not metric labels: anyone can invent them.
    let label = if known { source.as_str() } else { "_unknown" };
    let span = tracing::info_span!("webhook", source = label, event_id = tracing::field::Empty);
    let outcome = handle(&receiver, &source, &headers, body)
        .instrument(span.clone())
        .await;
    let metrics = &receiver.metrics;
    let response = match outcome {
        Ok(Stored::New { .. }) => {
            metrics
                .webhook_requests
                .with_label_values(&[label, "accepted"])
                .inc();
            (StatusCode::OK, Json(json!({"received": true}))).into_response()
        }
        Ok(Stored::Duplicate) => {
            metrics
                .webhook_requests
                .with_label_values(&[label, "duplicate"])
                .inc();
            metrics.duplicates.with_label_values(&[label]).inc();
            (
                StatusCode::OK,
                Json(json!({"received": true, "duplicate": true})),
            )
                .into_response()
        }
        Err(error) => {
            metrics
                .webhook_requests
                .with_label_values(&[label, error.code()])
                .inc();
            if matches!(
                error,
                ReceiveError::InvalidSignature(_) | ReceiveError::StaleTimestamp
            ) {
                metrics
                    .verification_failures
                    .with_label_values(&[label, error.code()])
                    .inc();
            }
            span.in_scope(
                || tracing::info!(code = error.code(), reason = %error, "webhook refused"),
            );
            error.into_response()
        }
    };
    metrics
        .webhook_seconds
        .with_label_values(&[label])
        .observe(started.elapsed().as_secs_f64());
    response
}

async fn handle(
    receiver: &Receiver,
    source: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Stored, ReceiveError> {
    let scheme = receiver
        .sources
        .get(source)
        .ok_or(ReceiveError::UnknownSource)?;
    if !is_json(headers) {
        return Err(ReceiveError::UnsupportedMediaType);
    }
    let body = read_limited(headers, body, receiver.max_body_bytes).await?;
    let verified = scheme.verify(headers, &body, chrono::Utc::now())?;
    tracing::Span::current().record("event_id", verified.event_id.as_str());
    let event = to_new_event(source, verified);
    if let Some(error) = &event.parse_error {
        tracing::warn!(%error, family = %event.family, "resource does not fit its family; stored for the dead-letter queue");
    }
    let stored = receiver.inbox.store(event).await.map_err(|error| {
        tracing::error!(%error, "event not stored");
        ReceiveError::Unavailable
    })?;
    match stored {
        Stored::New { seq } => {
            tracing::info!(seq, "event stored");
            if let Some(stored) = &receiver.stored {
                stored.notify_one();
            }
        }
        Stored::Duplicate => tracing::info!("duplicate event ignored"),
    }
    Ok(stored)
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
        event_id: verified.event_id,
        event_type: verified.event_type,
        family: description.family,
        status: description.status,
        object_id: description.object_id,
        account_id: description.account_id,
        routing_key: description.routing_key,
        occurred_at: description.occurred_at,
        envelope_time: verified.envelope_time,
        content_hash: Sha256::digest(&verified.resource).to_vec(),
        resource_raw: verified.resource,
        resource_is_json: description.storable_as_jsonb,
        parse_error: description.error,
    }
}
