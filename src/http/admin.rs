//! `GET /admin/dlq` and `POST /admin/dlq/replay` (SPEC 5): the DLQ commands over HTTP.

use super::{auth::Authorized, errors::ApiError, params::Params, AppState};
use crate::{
    catalogue::Family,
    ops::{dlq, verify, Counts},
};
use axum::{body::Bytes, extract::State, Json};
use lapin::Channel;
use serde::Deserialize;
use std::time::Duration;

/// A channel of its own for one admin operation, or 503 when the broker does not answer soon.
async fn channel(state: &AppState) -> Result<Channel, ApiError> {
    tokio::time::timeout(Duration::from_secs(5), state.amqp.publishing_channel())
        .await
        .map_err(|_| ApiError::Broker)
}

async fn close(channel: Channel) {
    let _ = channel.close(200, "done".into()).await;
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    limit: Option<usize>,
}

pub(super) async fn list(
    _: Authorized,
    State(state): State<AppState>,
    Params(query): Params<ListQuery>,
) -> Result<Json<Vec<dlq::DeadLetter>>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    Ok(Json(dlq::list(&state.pool, limit).await?.letters))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReplayRequest {
    event_ids: Option<Vec<String>>,
    #[serde(default)]
    all: bool,
}

pub(super) async fn replay(
    _: Authorized,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Counts>, ApiError> {
    let request: ReplayRequest = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request(r#"body must be {"eventIds":[...]} or {"all":true}"#))?;
    let selector = match (request.all, request.event_ids) {
        (true, None) => dlq::Selector::All,
        (false, Some(ids)) if !ids.is_empty() => dlq::Selector::EventIds(ids),
        _ => {
            return Err(ApiError::bad_request(
                "give either a non-empty eventIds or all: true",
            ))
        }
    };
    let plan = dlq::plan(&state.pool, &selector).await?;
    let channel = channel(&state).await?;
    let counts = dlq::replay(
        &channel,
        &state.amqp.topology().names,
        &state.pool,
        plan,
        |_, _| {},
    )
    .await;
    close(channel).await;
    Ok(Json(counts?))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VerifyRequest {
    family: Option<String>,
    #[serde(default)]
    repair: bool,
}

/// `hookgate verify` over HTTP: the report, with every difference (and what was repaired).
pub(super) async fn verify_read_model(
    _: Authorized,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<verify::Report>, ApiError> {
    let request: VerifyRequest = if body.is_empty() {
        VerifyRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            ApiError::bad_request(
                r#"body must be {"family":"<family>","repair":true|false}, both optional"#,
            )
        })?
    };
    let family = match request.family.as_deref() {
        None => None,
        Some(name) => Some(
            Family::parse(name)
                .filter(|f| *f != Family::Unknown)
                .ok_or_else(|| ApiError::UnknownFamily {
                    name: name.to_owned(),
                    in_path: false,
                })?,
        ),
    };
    Ok(Json(
        verify::verify(&state.pool, family, request.repair, |_, _| {}).await?,
    ))
}
