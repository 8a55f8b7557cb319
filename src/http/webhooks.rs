//! `POST /webhooks/{source}`: the receiver's answer, its metrics and its log line.

use crate::receiving::{inbox::Stored, ReceiveError, Receiver};
use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;
use std::{sync::Arc, time::Instant};
use tracing::Instrument;

pub async fn receive(
    State(receiver): State<Arc<Receiver>>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let known = receiver.knows(&source);
    // Unknown names are not metric labels: anyone can invent them.
    let label = if known { source.as_str() } else { "_unknown" };
    let span = tracing::info_span!("webhook", source = label, event_id = tracing::field::Empty);
    let outcome = receiver
        .accept(&source, &headers, body)
        .instrument(span.clone())
        .await;
    let metrics = receiver.metrics();
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
