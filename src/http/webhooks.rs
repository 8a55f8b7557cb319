//! `POST /webhooks/{source}`: the receiver's answer and its log line (the receiver counts it).

use super::{
    client::ClientAddress,
    views::{ErrorBody, Received},
};
use crate::{
    receiving::{inbox::Stored, incoming_trace, ReceiveError, Receiver},
    telemetry::traces,
};
use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use std::{sync::Arc, time::Instant};
use tracing::Instrument;

/// Verifies, deduplicates and stores one platform callback. The body is taken as the exact
/// bytes that were signed; which headers carry the signature depends on the source's scheme.
#[utoipa::path(
    post,
    path = "/webhooks/{source}",
    tag = "webhooks",
    params(
        ("source" = String, Path, description = "A configured source name, e.g. interlace"),
        ("Signature" = Option<String>, Header, description = "Interlace: base64 HMAC-SHA256 of the resource string"),
        ("Signature-Method" = Option<String>, Header, description = "Interlace: `HMAC-SHA256` when present"),
        ("Timestamp" = Option<String>, Header, description = "Interlace: Unix milliseconds"),
        ("webhook-id" = Option<String>, Header, description = "Standard Webhooks: the event id"),
        ("webhook-timestamp" = Option<String>, Header, description = "Standard Webhooks: Unix seconds"),
        ("webhook-signature" = Option<String>, Header, description = "Standard Webhooks: space-separated `v1,<base64>`"),
    ),
    request_body(content = Object, content_type = "application/json", description = "The platform's envelope, as signed"),
    responses(
        (status = 200, description = "Stored now, or already stored (`duplicate`)", body = Received),
        (status = 400, description = "`malformed_payload`", body = ErrorBody),
        (status = 401, description = "`invalid_signature` or `stale_timestamp`", body = ErrorBody),
        (status = 404, description = "`unknown_source`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the client is outside the source's `allowed_networks`", body = ErrorBody),
        (status = 408, description = "`request_timeout`: the body did not arrive in time; the connection is closed", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 431, description = "Request headers over 32 KiB; the connection is closed"),
        (status = 503, description = "`unavailable`, or `busy` past the in-flight limits, with `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
pub async fn receive(
    State(receiver): State<Arc<Receiver>>,
    ClientAddress(client): ClientAddress,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let label = receiver.label(&source);
    let span = tracing::info_span!("receive", source = label, event_id = tracing::field::Empty);
    let sender_trace = incoming_trace(&headers);
    traces::follow(&span, sender_trace.as_ref());
    let outcome = receiver
        .accept(&source, client, &headers, sender_trace.as_ref(), body)
        .instrument(span.clone())
        .await;
    receiver.record(label, &outcome, started.elapsed());
    match outcome {
        Ok(stored) => {
            let body = Received {
                received: true,
                duplicate: (stored == Stored::Duplicate).then_some(true),
            };
            (StatusCode::OK, Json(body)).into_response()
        }
        Err(error) => {
            span.in_scope(
                || tracing::info!(code = error.code(), reason = %error, "webhook refused"),
            );
            error.into_response()
        }
    }
}

/// The answer to a webhook request shed beyond `HOOKGATE_MAX_IN_FLIGHT` (SPEC 2.3): 503
/// `busy`, counted like any refusal.
pub(super) async fn shed(receiver: Arc<Receiver>, source: String) -> Response {
    receiver.count_refusal(receiver.label(&source), &ReceiveError::Overloaded);
    ReceiveError::Overloaded.into_response()
}
