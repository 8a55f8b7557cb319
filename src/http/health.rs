//! `/healthz`, `/readyz` and `/metrics`.

use super::AppState;
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use serde_json::json;
use std::{
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc,
    },
    time::Duration,
};

/// What the app knows of its broker connection, shared with whoever owns that connection.
/// It starts `down` until the first connection succeeds.
#[derive(Clone, Default)]
pub struct BrokerState(Arc<AtomicU8>);

impl BrokerState {
    const DOWN: u8 = 0;
    const UP: u8 = 1;

    pub fn set_up(&self, up: bool) {
        self.0
            .store(if up { Self::UP } else { Self::DOWN }, Ordering::Relaxed);
    }

    pub fn describe(&self) -> &'static str {
        if self.0.load(Ordering::Relaxed) == Self::UP {
            "up"
        } else {
            "down"
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Ready when PostgreSQL answers: webhooks are accepted without the broker.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.pool),
    )
    .await;
    let database_up = matches!(database, Ok(Ok(1)));
    let status = if database_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "ready": database_up,
            "database": if database_up { "up" } else { "down" },
            "broker": state.broker.describe(),
        })),
    )
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
