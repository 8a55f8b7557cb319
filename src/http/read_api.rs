//! `GET /v1/objects/{family}/{id}` and `GET /v1/events/{eventId}` (SPEC 5), behind bearer auth.

use super::{auth::Authorized, errors::ApiError, params::Params, AppState};
use crate::{
    catalogue::format_time,
    projection,
    store::{
        inbox::{self, EventRecord},
        read_model,
    },
};
use axum::{
    extract::{Path, State},
    Json,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

/// A stored JSON text as a JSON value, keeping its numbers' digits.
fn json_text(text: Option<String>) -> Value {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

pub(super) async fn object(
    _: Authorized,
    State(state): State<AppState>,
    Path((family, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let family = projection::family_of(&family).ok_or(ApiError::UnknownFamily {
        name: family,
        in_path: true,
    })?;
    let row = read_model::find_object(&state.pool, family, &id)
        .await?
        .ok_or(ApiError::NotFound("no such object"))?;
    let history = read_model::history(&state.pool, family, &id).await?;
    Ok(Json(json!({
        "family": family.as_str(),
        "id": id,
        "status": row.status,
        "accountId": row.account_id,
        "occurredAt": format_time(&row.occurred_at),
        "lastEventId": row.last_event_id,
        "updatedAt": format_time(&row.updated_at),
        "resource": json_text(row.resource),
        "history": history.iter().map(|h| json!({
            "eventId": h.event_id,
            "status": h.status,
            "occurredAt": format_time(&h.occurred_at),
            "applied": h.applied,
            "receivedAt": format_time(&h.received_at),
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
pub(super) struct EventQuery {
    source: Option<String>,
}

pub(super) async fn event(
    _: Authorized,
    State(state): State<AppState>,
    Path(event_id): Path<String>,
    Params(query): Params<EventQuery>,
) -> Result<Json<Value>, ApiError> {
    let source = query
        .source
        .unwrap_or_else(|| crate::settings::INTERLACE_SOURCE.to_owned());
    let row = inbox::find_event(&state.pool, &source, &event_id)
        .await?
        .ok_or(ApiError::NotFound("no such event"))?;
    Ok(Json(event_json(&row)))
}

/// An event as `GET /v1/events/{eventId}` shows it, and each item of `GET /v1/events`.
pub(super) fn event_json(row: &EventRecord) -> Value {
    let time = |t: Option<DateTime<Utc>>| t.as_ref().map(format_time);
    json!({
        "id": row.key.event_id,
        "source": row.key.source,
        "eventType": row.key.event_type,
        "routingKey": row.routing_key,
        "state": row.state,
        "receivedAt": format_time(&row.received_at),
        "publishedAt": time(row.published_at),
        "processedAt": time(row.processed_at),
        "deadLetteredAt": time(row.dead_lettered_at),
        "error": row.error,
    })
}
