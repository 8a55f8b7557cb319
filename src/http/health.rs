//! `/healthz`, `/readyz` and `/metrics`.

use super::{
    views::{Liveness, Readiness},
    AppState,
};
use crate::{store, supervisor::TaskHealth};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    Json,
};
use sqlx::PgPool;
use std::time::Duration;

/// What makes a process ready, by its role (SPEC 5): `serve` and `run` when they can store
/// webhooks (the inbox pool answers and the batcher runs), `work` when its pool answers.
#[derive(Clone)]
pub struct RoleReadiness {
    /// `run`, `serve` or `work`.
    pub role: &'static str,
    /// The pool the role's work cannot do without.
    pub pool: PgPool,
    /// The task that must be running, when the role has one (`inbox-batcher`).
    pub task: Option<&'static str>,
}

/// Always 200 while the process answers, so a liveness probe never restarts a pod during an
/// outage; the body says how the broker and every task are doing.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "The process answers; the broker and each task's state", body = Liveness))
)]
pub(super) async fn healthz(State(state): State<AppState>) -> Json<Liveness> {
    let tasks = state
        .supervisor
        .health()
        .into_iter()
        .map(|(name, health)| (name, health.as_str().to_owned()))
        .collect();
    Json(Liveness {
        status: "ok".to_owned(),
        broker: state.broker.describe().to_owned(),
        tasks,
    })
}

/// Ready when the role can do its work. The broker, a stalled relay, retention or a slow read
/// never make a process unready: they are in `/healthz`, the metrics and the alerts.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "The role's pool does not answer, or its batcher is down", body = Readiness),
    )
)]
pub(super) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let check = &state.readiness;
    let answer = tokio::time::timeout(Duration::from_secs(2), store::ping(&check.pool)).await;
    let database_up = matches!(answer, Ok(true));
    let task = check.task.map(|name| {
        let health = state.supervisor.health();
        let running = health.get(name) == Some(&TaskHealth::Running);
        (name, running)
    });
    let ready = database_up && task.is_none_or(|(_, running)| running);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let database = if database_up { "up" } else { "down" };
    (
        status,
        Json(Readiness {
            ready,
            role: check.role.to_owned(),
            database: database.to_owned(),
            batcher: task.map(|(_, running)| if running { "running" } else { "down" }.to_owned()),
        }),
    )
}

/// The Prometheus text. Backlog gauges are read from the database and queue gauges from the
/// broker by the scrape (see `scrape`), so they cannot freeze when the task that used to set
/// them stops; while their source does not answer they are absent rather than stale.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"))
)]
pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.scrape.refresh(&state.metrics, &state.broker).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
