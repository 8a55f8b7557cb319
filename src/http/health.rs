//! `/healthz`, `/readyz` and `/metrics`.

use super::{
    views::{Liveness, Readiness},
    AppState,
};
use crate::{
    ops::status::queue_depths,
    store::{
        self,
        archive::processing_backlog,
        outbox::{backlog, OutboxTable},
    },
    supervisor::TaskHealth,
};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    Json,
};
use prometheus::{GaugeVec, IntGaugeVec};
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
/// broker at each scrape, so they cannot freeze when the task that used to set them stops;
/// while their source does not answer they are absent rather than stale.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"))
)]
pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let metrics = &state.metrics;
    let broker_up = state.broker.describe() == "up";
    metrics.broker_up.set(i64::from(broker_up));
    let depths = async {
        if broker_up {
            tokio::time::timeout(Duration::from_secs(2), queue_depths(&state.amqp))
                .await
                .ok()
                .and_then(Result::ok)
        } else {
            None
        }
    };
    let (events, notifications, processing, depths) = tokio::join!(
        within_two_seconds(backlog(&state.pool, OutboxTable::Events)),
        within_two_seconds(backlog(&state.pool, OutboxTable::Notifications)),
        within_two_seconds(processing_backlog(&state.pool)),
        depths,
    );
    for (table, found) in OutboxTable::ALL.into_iter().zip([events, notifications]) {
        show_backlog(
            &metrics.outbox_backlog,
            &metrics.outbox_oldest_seconds,
            &[table.name()],
            found,
        );
    }
    show_backlog(
        &metrics.processing_backlog,
        &metrics.processing_oldest_seconds,
        &[],
        processing,
    );
    metrics.queue_messages.reset();
    metrics.queue_consumers.reset();
    for depth in depths.into_iter().flatten() {
        let queue = [depth.queue.as_str()];
        metrics
            .queue_messages
            .with_label_values(&queue)
            .set(i64::from(depth.messages));
        metrics
            .queue_consumers
            .with_label_values(&queue)
            .set(i64::from(depth.consumers));
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// Sets a backlog's size and oldest age, or removes both when the database did not answer.
fn show_backlog(
    count: &IntGaugeVec,
    oldest: &GaugeVec,
    labels: &[&str],
    found: Option<(i64, f64)>,
) {
    match found {
        Some((waiting, age)) => {
            count.with_label_values(labels).set(waiting);
            oldest.with_label_values(labels).set(age);
        }
        None => {
            let _ = count.remove_label_values(labels);
            let _ = oldest.remove_label_values(labels);
        }
    }
}

async fn within_two_seconds(
    query: impl std::future::Future<Output = Result<(i64, f64), sqlx::Error>>,
) -> Option<(i64, f64)> {
    tokio::time::timeout(Duration::from_secs(2), query)
        .await
        .ok()?
        .ok()
}
