//! The HTTP surface: one router per resource, merged here.

mod admin;
mod auth;
mod errors;
mod health;
mod read_api;
mod webhooks;

use crate::{receiving, telemetry::Metrics};
use axum::{extract::FromRef, http::StatusCode, routing::post, Router};
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
    let webhooks = if receive {
        Router::new().route("/webhooks/{source}", post(webhooks::receive))
    } else {
        Router::new()
    };
    webhooks
        .merge(health::router())
        .merge(read_api::router())
        .merge(admin::router())
        .fallback(|| async { error_response(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .with_state(state)
}
