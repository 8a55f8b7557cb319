//! `GET /v1/stuck` (SPEC 5): objects in a waiting status whose last event occurred longer ago
//! than their family's threshold, or `olderThan`.

use super::{auth::Authorized, errors::ApiError, params::Params, views::ErrorBody, AppState};
use crate::ops::stuck::{self, Stuck, StuckRequest, Unreadable};
use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct StuckQuery {
    /// One family; every family that can be stuck when absent
    family: Option<String>,
    /// An age such as 90s, 30m, 2h, 3d; the family's `stuck_after` when absent
    older_than: Option<String>,
    /// The previous page's `nextCursor`
    cursor: Option<String>,
}

/// A page of stuck objects, oldest first within a family.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StuckPageView {
    pub objects: Vec<Stuck>,
    /// The next page's `cursor`; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/stuck",
    tag = "read",
    params(StuckQuery),
    responses(
        (status = 200, description = "A page of stuck objects, 100 at most", body = StuckPageView),
        (status = 400, description = "`malformed_payload` or `unknown_family`: which parameter is wrong", body = ErrorBody),
    ),
)]
pub(super) async fn stuck(
    _: Authorized,
    State(state): State<AppState>,
    Params(query): Params<StuckQuery>,
) -> Result<Json<StuckPageView>, ApiError> {
    let request = StuckRequest::read(
        query.family.as_deref(),
        query.older_than.as_deref(),
        query.cursor.as_deref(),
    )
    .map_err(|unreadable| match unreadable {
        Unreadable::UnknownFamily(name) => ApiError::UnknownFamily {
            name,
            in_path: false,
        },
        Unreadable::Malformed(message) => ApiError::bad_request(message),
    })?;
    let page = stuck::page(
        &state.pool,
        &state.stuck_after,
        &request,
        chrono::Utc::now(),
    )
    .await?;
    Ok(Json(StuckPageView {
        objects: page.objects,
        next_cursor: page.next.map(|cursor| cursor.encode()),
    }))
}
