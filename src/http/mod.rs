//! The HTTP surface: one router per resource, merged here.

mod admin;
mod auth;
mod health;
mod read_api;

use crate::{receiving, telemetry::Metrics};
use axum::{
    extract::FromRef,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use serde_json::json;
use sqlx::PgPool;
use std::sync::Arc;

pub use health::BrokerState;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// Every pool the process uses, by role: all must answer for `/readyz`.
    pub pools: Vec<(&'static str, PgPool)>,
    pub receiver: Arc<receiving::Receiver>,
    pub metrics: Arc<Metrics>,
    pub broker: BrokerState,
    pub api_token: Option<crate::config::Secret>,
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
        Router::new().route("/webhooks/{source}", post(receiving::receive))
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

/// The one error body shape: `{"error":{"code":"...","message":"..."}}`.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}
