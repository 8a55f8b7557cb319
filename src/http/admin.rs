//! `GET /admin/dlq` and `POST /admin/dlq/replay` (SPEC 5): the DLQ commands over HTTP.

use super::{auth::Authorized, error_response, AppState};
use crate::{
    catalogue::Family,
    ops::{dlq, verify, Counts},
};
use axum::{
    body::Bytes,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use lapin::Channel;
use serde::Deserialize;
use std::time::Duration;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/dlq", get(list))
        .route("/admin/dlq/replay", post(replay))
        .route("/admin/verify", post(verify_read_model))
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("the broker is unavailable")]
    Broker,
    #[error("the database is unavailable")]
    Database,
    #[error("{0}")]
    BadRequest(&'static str),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            AdminError::Broker | AdminError::Database => error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                &self.to_string(),
            ),
            AdminError::BadRequest(message) => {
                error_response(StatusCode::BAD_REQUEST, "malformed_payload", message)
            }
        }
    }
}

impl From<lapin::Error> for AdminError {
    fn from(error: lapin::Error) -> Self {
        tracing::warn!(%error, "admin DLQ operation failed");
        AdminError::Broker
    }
}

impl From<dlq::DlqError> for AdminError {
    fn from(error: dlq::DlqError) -> Self {
        match error {
            dlq::DlqError::Broker(error) => error.into(),
            dlq::DlqError::Database(error) => error.into(),
        }
    }
}

impl From<sqlx::Error> for AdminError {
    fn from(error: sqlx::Error) -> Self {
        tracing::warn!(%error, "admin operation failed: database");
        AdminError::Database
    }
}

/// A channel of its own for one admin operation, or 503 when the broker does not answer soon.
async fn channel(state: &AppState) -> Result<Channel, AdminError> {
    tokio::time::timeout(Duration::from_secs(5), state.amqp.publishing_channel())
        .await
        .map_err(|_| AdminError::Broker)
}

async fn close(channel: Channel) {
    let _ = channel.close(200, "done".into()).await;
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

async fn list(
    _: Authorized,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<dlq::DeadLetter>>, AdminError> {
    let limit = query.limit.unwrap_or(100);
    let channel = channel(&state).await?;
    let letters = dlq::list(&channel, &state.amqp.topology().names, &state.pool, limit).await;
    close(channel).await;
    Ok(Json(letters?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReplayRequest {
    event_ids: Option<Vec<String>>,
    #[serde(default)]
    all: bool,
}

async fn replay(
    _: Authorized,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Counts>, AdminError> {
    let request: ReplayRequest = serde_json::from_slice(&body).map_err(|_| {
        AdminError::BadRequest(r#"body must be {"eventIds":[...]} or {"all":true}"#)
    })?;
    let selector = match (request.all, request.event_ids) {
        (true, None) => dlq::Selector::All,
        (false, Some(ids)) if !ids.is_empty() => dlq::Selector::EventIds(ids),
        _ => {
            return Err(AdminError::BadRequest(
                "give either a non-empty eventIds or all: true",
            ))
        }
    };
    let channel = channel(&state).await?;
    let counts = dlq::replay(
        &channel,
        &state.amqp.topology().names,
        &state.pool,
        &selector,
        false,
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
async fn verify_read_model(
    _: Authorized,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<verify::Report>, AdminError> {
    let request: VerifyRequest = if body.is_empty() {
        VerifyRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            AdminError::BadRequest(
                r#"body must be {"family":"<family>","repair":true|false}, both optional"#,
            )
        })?
    };
    let family = match request.family.as_deref() {
        None => None,
        Some(name) => Some(
            Family::parse(name)
                .filter(|f| *f != Family::Unknown)
                .ok_or(AdminError::BadRequest("no such family"))?,
        ),
    };
    Ok(Json(
        verify::verify(&state.pool, family, request.repair, |_, _| {}).await?,
    ))
}
