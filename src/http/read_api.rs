//! `GET /v1/objects/{family}/{id}` and `GET /v1/events/{eventId}` (SPEC 5), behind bearer auth.

use super::{
    auth::{Authorized, Role},
    errors::ApiError,
    params::Params,
    views::{ErrorBody, EventView, HistoryEntry, ObjectView},
    AppState,
};
use crate::{
    catalogue::{format_time, mask_personal_data, Family},
    store::{history, inbox, read_model},
};
use axum::{
    extract::{Path, State},
    Json,
};
use serde::Deserialize;
use serde_json::Value;

/// A stored JSON text as a JSON value, keeping its numbers' digits.
fn json_text(text: Option<String>) -> Value {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

#[utoipa::path(
    get,
    path = "/v1/objects/{family}/{id}",
    tag = "read",
    params(
        ("family" = String, Path, description = "A family name, e.g. transfer"),
        ("id" = String, Path, description = "The object's id at the platform"),
    ),
    responses(
        (status = 200, description = "The object and its status history", body = ObjectView),
        (status = 404, description = "`not_found`, or `unknown_family`", body = ErrorBody),
    ),
)]
pub(super) async fn object(
    Authorized(role): Authorized,
    State(state): State<AppState>,
    Path((family, id)): Path<(String, String)>,
) -> Result<Json<ObjectView>, ApiError> {
    let family = Family::known(&family).ok_or(ApiError::UnknownFamily {
        name: family,
        in_path: true,
    })?;
    let row = read_model::find_object(&state.pool, family, &id)
        .await?
        .ok_or(ApiError::NotFound("no such object"))?;
    let history = history::of_object(&state.pool, family, &id).await?;
    Ok(Json(ObjectView {
        family: family.as_str().to_owned(),
        id,
        status: row.status,
        account_id: row.account_id,
        occurred_at: format_time(&row.occurred_at),
        last_event_id: row.last_event_id,
        updated_at: format_time(&row.updated_at),
        resource: match role {
            Role::Operator => json_text(row.resource),
            Role::Viewer => mask_personal_data(&json_text(row.resource)),
        },
        history: history
            .iter()
            .map(|h| HistoryEntry {
                event_id: h.event_id.clone(),
                status: h.status.clone(),
                occurred_at: format_time(&h.occurred_at),
                applied: h.applied,
                received_at: format_time(&h.received_at),
                resent: h.resent,
            })
            .collect(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct EventQuery {
    /// The source name; `interlace` when absent
    source: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/events/{eventId}",
    tag = "read",
    params(
        ("eventId" = String, Path, description = "The event's id at its source"),
        EventQuery,
    ),
    responses(
        (status = 200, description = "The event and where it is in its life", body = EventView),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
)]
pub(super) async fn event(
    _: Authorized,
    State(state): State<AppState>,
    Path(event_id): Path<String>,
    Params(query): Params<EventQuery>,
) -> Result<Json<EventView>, ApiError> {
    let source = query
        .source
        .unwrap_or_else(|| crate::settings::INTERLACE_SOURCE.to_owned());
    let row = inbox::find_event(&state.pool, &source, &event_id)
        .await?
        .ok_or(ApiError::NotFound("no such event"))?;
    Ok(Json(EventView::of(&row)))
}
