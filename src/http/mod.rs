//! The HTTP surface: every route in one table here, its handlers in a module per resource.

mod admin;
pub mod auth;
pub mod client;
mod errors;
pub mod event_search;
pub mod health;
mod openapi;
mod params;
mod read_api;
mod read_deadline;
mod resend;
pub mod scrape;
pub mod server;
mod stuck;
mod views;
mod webhooks;

use crate::{receiving, telemetry::Metrics};
use axum::{extract::FromRef, http::StatusCode, routing::get, Router};
use sqlx::PgPool;
use std::sync::Arc;
use tower_http::timeout::RequestBodyTimeoutLayer;

pub use errors::{error_response, ApiError, RETRY_AFTER_SECS};
pub use openapi::document as openapi_document;

#[derive(Clone)]
pub struct AppState {
    /// API and console reads, on their own connections, each request within `read_timeout`.
    pub pool: PgPool,
    /// What an operator's change writes (DLQ replay and purge, repair, audit).
    pub changes: PgPool,
    /// `HOOKGATE_READ_TIMEOUT_MS`.
    pub read_timeout: std::time::Duration,
    /// What `/readyz` checks for this process's role (SPEC 5).
    pub readiness: health::RoleReadiness,
    pub receiver: Arc<receiving::Receiver>,
    pub metrics: Arc<Metrics>,
    /// `[stuck_after]`: when a waiting object counts as stuck.
    pub stuck_after: crate::settings::StuckAfter,
    /// `HOOKGATE_RETENTION_DAYS`: how far back a resend can reach.
    pub notifications_kept_days: u32,
    /// The operators' and viewers' tokens (SPEC 5).
    pub tokens: auth::Tokens,
    /// The process's broker connection, for operators' actions and the state it reports.
    pub broker: Arc<crate::amqp::Broker>,
    pub supervisor: crate::supervisor::Supervisor,
    pub trusted_proxies: client::TrustedProxies,
    pub scrape: Arc<scrape::Scrape>,
}

impl FromRef<AppState> for client::TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.trusted_proxies.clone()
    }
}

impl FromRef<AppState> for Arc<receiving::Receiver> {
    fn from_ref(state: &AppState) -> Self {
        state.receiver.clone()
    }
}

/// Every role serves health, metrics, the read and admin API, the OpenAPI document and
/// `pages` (the console, which sits above this layer); only a receiving role takes webhooks
/// (what a `work` process would store, nothing there would relay promptly). The API routes are
/// registered with their documentation in `openapi`.
pub fn router(state: AppState, receive: bool, pages: Router<AppState>) -> Router {
    let body_timeout = state.receiver.body_timeout();
    let receiver = receive.then(|| state.receiver.clone());
    let (api, _) = openapi::api_routes(receiver, body_timeout).split_for_parts();
    api.route("/openapi.json", get(openapi::serve))
        .merge(pages.layer(RequestBodyTimeoutLayer::new(body_timeout)))
        .fallback(|| async { error_response(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            read_deadline::bounded,
        ))
        .with_state(state)
}
