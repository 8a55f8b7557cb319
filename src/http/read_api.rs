//! `GET /v1/objects/{family}/{id}` and `GET /v1/events/{eventId}` (SPEC 5), behind bearer auth.

use super::{auth::Authorized, errors::ApiError, AppState};
use crate::{catalogue::format_time, projection};
use axum::{
    extract::{Path, Query, State},
    routing::get,
    Json, Router,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/objects/{family}/{id}", get(object))
        .route("/v1/events/{event_id}", get(event))
}

#[derive(sqlx::FromRow)]
struct ObjectRow {
    status: String,
    account_id: Option<String>,
    occurred_at: DateTime<Utc>,
    last_event_id: String,
    updated_at: DateTime<Utc>,
    resource: Option<String>,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    event_id: String,
    status: String,
    occurred_at: DateTime<Utc>,
    applied: bool,
    received_at: DateTime<Utc>,
}

/// A stored JSON text as a JSON value, keeping its numbers' digits.
fn json_text(text: Option<String>) -> Value {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

async fn object(
    _: Authorized,
    State(state): State<AppState>,
    Path((family, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let family = projection::family_of(&family).ok_or(ApiError::NotFound("no such object"))?;
    let table = projection::table(family).ok_or(ApiError::NotFound("no such object"))?;
    let row: ObjectRow = sqlx::query_as(&format!(
        "SELECT status, account_id, occurred_at, last_event_id, updated_at, resource::text AS resource
         FROM {table} WHERE object_id = $1"
    ))
    .bind(&id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound("no such object"))?;
    let history: Vec<HistoryRow> = sqlx::query_as(
        "SELECT event_id, status, occurred_at, applied, received_at FROM status_history
         WHERE family = $1 AND object_id = $2 ORDER BY occurred_at, received_at, id",
    )
    .bind(family.as_str())
    .bind(&id)
    .fetch_all(&state.pool)
    .await?;
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
struct EventQuery {
    source: Option<String>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    event_id: String,
    source: String,
    event_type: String,
    routing_key: String,
    received_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
    processed_at: Option<DateTime<Utc>>,
    dead_lettered_at: Option<DateTime<Utc>>,
    error: Option<String>,
}

/// Where an event is in its life: the latest of processed and dead-lettered, else published,
/// else received.
fn state_of(row: &EventRow) -> &'static str {
    match (row.processed_at, row.dead_lettered_at) {
        (Some(processed), Some(dead)) if dead > processed => "dead_lettered",
        (Some(_), _) => "processed",
        (None, Some(_)) => "dead_lettered",
        (None, None) if row.published_at.is_some() => "published",
        (None, None) => "received",
    }
}

async fn event(
    _: Authorized,
    State(state): State<AppState>,
    Path(event_id): Path<String>,
    Query(query): Query<EventQuery>,
) -> Result<Json<Value>, ApiError> {
    let source = query
        .source
        .unwrap_or_else(|| crate::config::INTERLACE_SOURCE.to_owned());
    let row: EventRow = sqlx::query_as(
        "SELECT event_id, source, event_type, routing_key, received_at, published_at, processed_at,
                dead_lettered_at, COALESCE(error, parse_error) AS error
         FROM inbox_events WHERE source = $1 AND event_id = $2",
    )
    .bind(&source)
    .bind(&event_id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound("no such event"))?;
    let time = |t: Option<DateTime<Utc>>| t.as_ref().map(format_time);
    Ok(Json(json!({
        "id": row.event_id,
        "source": row.source,
        "eventType": row.event_type,
        "routingKey": row.routing_key,
        "state": state_of(&row),
        "receivedAt": format_time(&row.received_at),
        "publishedAt": time(row.published_at),
        "processedAt": time(row.processed_at),
        "deadLetteredAt": time(row.dead_lettered_at),
        "error": row.error,
    })))
}
