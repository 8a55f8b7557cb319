//! `POST /admin/notifications/resend` (SPEC 5): a subscriber's notifications sent again, by
//! time range and family or by object.

use super::{auth::Operator, errors::ApiError, params::json_body, views::ErrorBody, AppState};
use crate::{
    catalogue::{parse_time_str, Family, ResourceId},
    ops::{
        resend::{ResendRequest, ResendSelection, Resent},
        service::Operations,
    },
    store::console as audit,
};
use axum::{body::Bytes, extract::State, Json};
use serde::Deserialize;

/// `subscriber` and either `since` (with `until` and `family` optional) or `objects`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ResendBody {
    subscriber: String,
    /// RFC 3339: transitions applied at or after this time.
    since: Option<String>,
    /// RFC 3339: and before this time; now when absent.
    until: Option<String>,
    family: Option<String>,
    objects: Option<Vec<ObjectName>>,
    /// Count what would be sent, and send nothing.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ObjectName {
    family: String,
    id: String,
}

const SHAPE: &str = r#"body must be {"subscriber","since","until","family"} or {"subscriber","objects":[{"family","id"}]}, with "dryRun" optional"#;

#[utoipa::path(
    post,
    path = "/admin/notifications/resend",
    tag = "admin",
    request_body = ResendBody,
    responses(
        (status = 200, description = "How many notifications were sent again (`resent`), or with `dryRun` would be", body = Resent),
        (status = 400, description = "`malformed_payload`: a bad body, an unknown subscriber or object, an empty range, or a range older than the notifications kept (the message names the oldest time available); `unknown_family`", body = ErrorBody),
    ),
)]
pub(super) async fn resend(
    _: Operator,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Resent>, ApiError> {
    let body: ResendBody = json_body(&body, SHAPE)?;
    let request = body.request()?;
    let operations = Operations::new(&state.changes, &*state.broker);
    let resent = operations
        .resend(&request, state.notifications_kept_days, |_, _| {})
        .await?;
    if !request.dry_run {
        let detail = request.audit_detail(resent.resent);
        if let Err(error) =
            audit::record_action(&state.changes, ("api", Some("operator")), "resend", &detail).await
        {
            tracing::error!(%error, "resend not recorded in the audit log");
        }
    }
    Ok(Json(resent))
}

impl ResendBody {
    fn request(self) -> Result<ResendRequest, ApiError> {
        let family = |name: String| {
            Family::known(&name).ok_or(ApiError::UnknownFamily {
                name,
                in_path: false,
            })
        };
        let time = |field: &str, text: String| {
            parse_time_str(&text)
                .map_err(|e| ApiError::bad_request(format!("{field} is not a time: {e}")))
        };
        let selection = match (self.since, self.objects) {
            (Some(since), None) => ResendSelection::Between {
                since: time("since", since)?,
                until: self.until.map(|t| time("until", t)).transpose()?,
                family: self.family.map(family).transpose()?,
            },
            (None, Some(objects)) if self.until.is_none() && self.family.is_none() => {
                let objects = objects
                    .into_iter()
                    .map(|o| {
                        ResourceId::parse("objects[].id", &o.id)
                            .map_err(|e| ApiError::bad_request(e.to_string()))?;
                        Ok((family(o.family)?, o.id))
                    })
                    .collect::<Result<_, ApiError>>()?;
                ResendSelection::Objects(objects)
            }
            _ => return Err(ApiError::bad_request(SHAPE)),
        };
        Ok(ResendRequest {
            subscriber: self.subscriber,
            selection,
            dry_run: self.dry_run,
        })
    }
}
