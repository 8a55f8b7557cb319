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
use std::time::Duration;

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "The process answers", body = Liveness))
)]
pub(super) async fn healthz() -> Json<Liveness> {
    Json(Liveness {
        status: "ok".to_owned(),
    })
}

/// Ready when every database pool answers and every supervised task runs with a fresh
/// heartbeat; the broker is shown but not required, since webhooks are accepted without it.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "A database pool or a task is down", body = Readiness),
    )
)]
pub(super) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let checks = state.pools.iter().map(|(_, pool)| async move {
        let answer = tokio::time::timeout(Duration::from_secs(2), store::ping(pool)).await;
        matches!(answer, Ok(true))
    });
    let database_up = futures_util::future::join_all(checks)
        .await
        .into_iter()
        .all(|up| up);
    let tasks = state.supervisor.health();
    let tasks_up = tasks.values().all(|health| *health == TaskHealth::Running);
    let ready = database_up && tasks_up;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let tasks = tasks
        .into_iter()
        .map(|(name, health)| (name, health.as_str().to_owned()))
        .collect();
    let database = if database_up { "up" } else { "down" };
    (
        status,
        Json(Readiness {
            ready,
            database: database.to_owned(),
            broker: state.broker.describe().to_owned(),
            tasks,
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
