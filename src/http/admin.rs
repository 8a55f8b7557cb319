//! `GET /admin/dlq` and `POST /admin/dlq/replay` (SPEC 5): the DLQ commands over HTTP.

use super::{
    auth::{Authorized, Operator},
    errors::ApiError,
    params::{json_body, Params},
    views::ErrorBody,
    AppState,
};
use crate::{
    catalogue::Family,
    ops::{
        dlq,
        service::Operations,
        verify::{self, VerifyRequest as Verify},
        Counts,
    },
};
use axum::{body::Bytes, extract::State, Json};
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// At most this many, 1-500; 50 when absent
    limit: Option<u32>,
}

/// One request reads a bounded page of dead letters (SPEC 5).
const LIST_LIMITS: std::ops::RangeInclusive<u32> = 1..=500;
const DEFAULT_LIST_LIMIT: u32 = 50;

#[utoipa::path(
    get,
    path = "/admin/dlq",
    tag = "admin",
    params(ListQuery),
    responses(
        (status = 200, description = "Dead letters, oldest failure first, then parked events", body = Vec<dlq::DeadLetter>),
        (status = 400, description = "`malformed_payload`", body = ErrorBody),
    ),
)]
pub(super) async fn list(
    _: Authorized,
    State(state): State<AppState>,
    Params(query): Params<ListQuery>,
) -> Result<Json<Vec<dlq::DeadLetter>>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    if !LIST_LIMITS.contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1-500"));
    }
    Ok(Json(dlq::list(&state.pool, limit as usize).await?.letters))
}

/// Either `eventIds` (not empty) or `all: true`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ReplayRequest {
    event_ids: Option<Vec<String>>,
    /// The source of `eventIds`, which an id that two sources' events share needs.
    source: Option<String>,
    #[serde(default)]
    all: bool,
}

#[utoipa::path(
    post,
    path = "/admin/dlq/replay",
    tag = "admin",
    request_body = ReplayRequest,
    responses(
        (status = 200, description = "What was sent back (`replayed`) and left (`skipped`)", body = Counts),
        (status = 400, description = "`malformed_payload`: a bad body, an unknown event id, an id two sources share without `source`, or nothing selected", body = ErrorBody),
    ),
)]
pub(super) async fn replay(
    _: Operator,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Counts>, ApiError> {
    let request: ReplayRequest =
        json_body(&body, r#"body must be {"eventIds":[...]} or {"all":true}"#)?;
    let selector = match (request.all, request.event_ids) {
        (true, None) => dlq::Selector::All,
        (false, Some(ids)) if !ids.is_empty() => dlq::Selector::EventIds(ids, request.source),
        _ => {
            return Err(ApiError::bad_request(
                "give either a non-empty eventIds or all: true",
            ))
        }
    };
    let operations = Operations::new(&state.changes, &*state.broker);
    let counts = operations
        .replay_dead_letters(&selector, false, |_, _| {})
        .await?;
    Ok(Json(counts))
}

/// Both optional: one family (every family when absent), and whether to repair.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct VerifyRequest {
    family: Option<String>,
    #[serde(default)]
    repair: bool,
}

/// `hookgate verify` over HTTP: the report, with every difference (and what was repaired).
#[utoipa::path(
    post,
    path = "/admin/verify",
    tag = "admin",
    request_body(content = Option<VerifyRequest>, description = "May be empty"),
    responses(
        (status = 200, description = "Objects and events read, the differences, what was repaired", body = verify::Report),
        (status = 400, description = "`malformed_payload` or `unknown_family`", body = ErrorBody),
        (status = 409, description = "`conflict`: a verify is already running, in this process or another", body = ErrorBody),
    ),
)]
pub(super) async fn verify_read_model(
    authorized: Authorized,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<verify::Report>, ApiError> {
    let request: VerifyRequest = if body.is_empty() {
        VerifyRequest::default()
    } else {
        json_body(
            &body,
            r#"body must be {"family":"<family>","repair":true|false}, both optional"#,
        )?
    };
    let family = match request.family.as_deref() {
        None => None,
        Some(name) => Some(Family::known(name).ok_or_else(|| ApiError::UnknownFamily {
            name: name.to_owned(),
            in_path: false,
        })?),
    };
    if request.repair {
        authorized.may_change(&state)?;
    }
    let request = Verify {
        family,
        repair: request.repair,
    };
    let operations = Operations::new(&state.changes, &*state.broker);
    Ok(Json(operations.verify(&request, |_, _| {}).await?))
}
