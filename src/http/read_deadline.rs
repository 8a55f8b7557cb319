//! The read deadline (SPEC 5): an API or console read that has not answered within
//! `HOOKGATE_READ_TIMEOUT_MS`, pool wait and every query included, is answered 503 and its
//! queries abandoned, so a locked table holds neither the client nor the read pool for long
//! (the read pool's `statement_timeout` ends them on the server too).

use super::{error_response, AppState, RETRY_AFTER_SECS};
use axum::{
    extract::{Request, State},
    http::{header::RETRY_AFTER, Method, StatusCode},
    middleware::Next,
    response::Response,
};

pub async fn bounded(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !is_read(&request) {
        return next.run(request).await;
    }
    match tokio::time::timeout(state.read_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            state.metrics.upkeep.read_timeouts.inc();
            tracing::warn!(
                timeout_ms = state.read_timeout.as_millis() as u64,
                "read gave up at its deadline"
            );
            let mut response = error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the read did not finish within HOOKGATE_READ_TIMEOUT_MS, retry later",
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, RETRY_AFTER_SECS.into());
            response
        }
    }
}

/// A read of the API or the console; health, metrics, webhooks and changes have their own
/// bounds.
fn is_read(request: &Request) -> bool {
    let path = request.uri().path();
    matches!(*request.method(), Method::GET | Method::HEAD)
        && (path.starts_with("/v1/") || path.starts_with("/admin/") || path.starts_with("/console"))
}
