//! The JSON bodies the HTTP API answers with (SPEC 2.3 and 5). Handlers return these types,
//! and the OpenAPI document is generated from them, so the document cannot drift from the
//! answers.

use crate::{
    catalogue::format_time,
    store::{
        event_search::FoundEvent,
        inbox::{EventRecord, EventState},
    },
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Every error: `{"error":{"code":"...","message":"..."}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// One of SPEC 2.3's codes, e.g. `invalid_signature`, `not_found`, `unavailable`.
    pub code: String,
    pub message: String,
}

/// A webhook's answer: stored now, or already stored (`duplicate`).
#[derive(Serialize, ToSchema)]
pub struct Received {
    pub received: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<bool>,
}

/// An inbox event, as `GET /v1/events/{eventId}` shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: String,
    pub source: String,
    pub event_type: String,
    pub routing_key: String,
    pub state: EventState,
    pub received_at: String,
    pub published_at: Option<String>,
    pub processed_at: Option<String>,
    pub dead_lettered_at: Option<String>,
    /// Why it was dead-lettered, or why its resource could not be read.
    pub error: Option<String>,
}

impl EventView {
    pub fn of(row: &EventRecord) -> EventView {
        let time = |t: Option<DateTime<Utc>>| t.as_ref().map(format_time);
        EventView {
            id: row.key.event_id.clone(),
            source: row.key.source.clone(),
            event_type: row.key.event_type.clone(),
            routing_key: row.routing_key.clone(),
            state: row.state,
            received_at: format_time(&row.received_at),
            published_at: time(row.published_at),
            processed_at: time(row.processed_at),
            dead_lettered_at: time(row.dead_lettered_at),
            error: row.error.clone(),
        }
    }
}

/// An item of `GET /v1/events`: the event and what it is about.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FoundEventView {
    #[serde(flatten)]
    pub event: EventView,
    pub family: String,
    pub status: Option<String>,
    pub object_id: Option<String>,
    pub account_id: Option<String>,
}

impl FoundEventView {
    pub fn of(found: &FoundEvent) -> FoundEventView {
        FoundEventView {
            event: EventView::of(&found.record),
            family: found.family.to_string(),
            status: found.status.clone(),
            object_id: found.object_id.clone(),
            account_id: found.account_id.clone(),
        }
    }
}

/// A page of `GET /v1/events`, newest first.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    pub events: Vec<FoundEventView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// An object of the read model with every status event it was sent.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectView {
    pub family: String,
    pub id: String,
    pub status: String,
    pub account_id: Option<String>,
    pub occurred_at: String,
    pub last_event_id: String,
    pub updated_at: String,
    /// The resource of the event that decided the status, as the platform sent it.
    #[schema(value_type = Object)]
    pub resource: Value,
    pub history: Vec<HistoryEntry>,
}

/// One event of an object's history; `applied` is false for a stale (out-of-order) event.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub event_id: String,
    pub status: String,
    pub occurred_at: String,
    pub applied: bool,
    pub received_at: String,
    /// Its signed bytes were stored before under another event id: a genuine repeat, or a
    /// captured request re-sent (SPEC 2.1).
    pub resent: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok`: the process answers.
    pub status: String,
    /// `up`, or what is wrong with the broker.
    pub broker: String,
    /// Each supervised task by name: `running`, `stale` or `down`.
    pub tasks: std::collections::BTreeMap<String, String>,
}

/// `GET /readyz`: ready when the process's role can do its work (SPEC 5).
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub ready: bool,
    /// `run`, `serve` or `work`.
    pub role: String,
    /// The role's pool: `up` or `down`.
    pub database: String,
    /// The inbox batcher of a receiving role: `running` or `down`; absent for `work`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batcher: Option<String>,
}
