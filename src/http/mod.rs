//! The HTTP surface: every route in one table here, its handlers in a module per resource.

mod admin;
mod auth;
mod errors;
mod event_search;
mod health;
mod params;
mod read_api;
mod webhooks;

use crate::{receiving, telemetry::Metrics};
use axum::{
    extract::FromRef,
    http::StatusCode,
    routing::{get, post},
    Router,
};
use sqlx::PgPool;
use std::sync::Arc;

pub use errors::{error_response, ApiError, RETRY_AFTER_SECS};

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// Every pool the process uses, by role: all must answer for `/readyz`.
    pub pools: Vec<(&'static str, PgPool)>,
    pub receiver: Arc<receiving::Receiver>,
    pub metrics: Arc<Metrics>,
    pub broker: crate::amqp::BrokerState,
    pub api_token: Option<crate::settings::Secret>,
    pub amqp: Arc<crate::amqp::Broker>,
    pub supervisor: crate::supervisor::Supervisor,
}

impl FromRef<AppState> for Arc<receiving::Receiver> {
    fn from_ref(state: &AppState) -> Self {
        state.receiver.clone()
    }
}

/// Every role serves health, metrics and the read and admin API; only a receiving role takes
/// webhooks (what a `work` process would store, nothing there would relay promptly).
pub fn router(state: AppState, receive: bool) -> Router {
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/v1/objects/{family}/{id}", get(read_api::object))
        .route("/v1/events", get(event_search::search))
        .route("/v1/events/{event_id}", get(read_api::event))
        .route("/admin/dlq", get(admin::list))
        .route("/admin/dlq/replay", post(admin::replay))
        .route("/admin/verify", post(admin::verify_read_model));
    let routes = if receive {
        routes.route("/webhooks/{source}", post(webhooks::receive))
    } else {
        routes
    };
    routes
        .fallback(|| async { error_response(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .with_state(state)
}
