//! The web console at `/console`: server-rendered pages (maud) for the people who answer
//! "what happened to transfer X?" and replay dead letters. It reads through the same store
//! and ops functions as the API and CLI, behind a session made from the API token.
//!
//! - [`session`]: sign-in, sign-out, the session extractor and the CSRF check; [`form`]: a
//!   form's fields, and the 403 a refused form gets.
//! - [`page`]: the page frame, the embedded stylesheet, shared bits.
//! - [`format`]: times and durations (pure); personal data is masked by
//!   `catalogue::mask_personal_data`.
//! - [`overview`], [`events`], [`objects`], [`stuck`], [`dlq`]: one module per page; [`audit_log`]: the
//!   table of recent actions the dead-letter page shows.

mod audit_log;
mod charts;
mod dlq;
mod events;
mod form;
pub mod format;
mod objects;
mod overview;
mod page;
mod resend;
mod session;
mod stuck;

use crate::http::AppState;
use axum::{
    routing::{get, post},
    Router,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(session::sign_in_page))
        .route("/console/login", post(session::sign_in))
        .route("/console/logout", post(session::sign_out))
        .route("/console/overview", get(overview::overview))
        .route("/console/events", get(events::search))
        .route("/console/events/{event_id}", get(events::detail))
        .route("/console/objects/{family}/{id}", get(objects::timeline))
        .route(
            "/console/objects/{family}/{id}/resend",
            post(resend::resend),
        )
        .route("/console/stuck", get(stuck::list))
        .route("/console/dlq", get(dlq::list))
        .route("/console/dlq/confirm", post(dlq::confirm))
        .route("/console/dlq/run", post(dlq::run))
}
