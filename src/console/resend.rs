//! The object page's resend (SPEC 5): an operator sends one subscriber again every kept
//! notification of the object, each with its original id; audited like every console action.

use super::{
    form::Form,
    page::{self, Section},
    session::Session,
};
use crate::{
    catalogue::Family,
    http::AppState,
    ops::{
        resend::{ResendRequest, ResendSelection},
        service::Operations,
        OpsError,
    },
    store::console as audit,
};
use axum::{
    extract::{Path, RawForm, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use maud::{html, Markup};

/// The form on the object page, for an operator's session when there are subscribers.
pub fn form(state: &AppState, session: &Session, family: Family, object_id: &str) -> Markup {
    let subscribers = &state.broker.topology().subscribers;
    if session.may_change().is_err() || subscribers.is_empty() {
        return html! {};
    }
    html! {
        form.resend method="post" action=(format!("{}/resend", page::object_href(family.as_str(), object_id))) {
            input type="hidden" name="csrf" value=(session.csrf);
            label { "Send this object's notifications again to "
                select name="subscriber" {
                    @for (name, _) in subscribers { option value=(name) { (name) } }
                }
            }
            button type="submit" { "Resend" }
        }
    }
}

/// `POST /console/objects/{family}/{id}/resend`.
pub async fn resend(
    State(state): State<AppState>,
    session: Session,
    Path((family_name, object_id)): Path<(String, String)>,
    form: RawForm,
) -> Response {
    let form = Form::read(form);
    if let Err(refused) = session.check_csrf(&form).and(session.may_change()) {
        return refused.into_response();
    }
    let back = page::object_href(&family_name, &object_id);
    let (Some(family), Some(subscriber)) = (Family::known(&family_name), form.first("subscriber"))
    else {
        return outcome(
            &session,
            &back,
            StatusCode::BAD_REQUEST,
            "error",
            "Choose a subscriber of a known family's object.",
        );
    };
    let request = ResendRequest {
        subscriber: subscriber.to_owned(),
        selection: ResendSelection::Objects(vec![(family, object_id.clone())]),
        dry_run: false,
    };
    let operations = Operations::new(&state.changes, &*state.broker);
    let done = operations
        .resend(&request, state.notifications_kept_days, |_, _| {})
        .await;
    let (status, kind, text, detail) = match done {
        Ok(resent) => {
            let text = format!(
                "Done: {} notification(s) of {family_name}/{object_id} resent to {subscriber}.",
                resent.resent
            );
            let detail = request.audit_detail(resent.resent);
            (StatusCode::OK, "ok", text, detail)
        }
        Err(OpsError::Selection(problem)) => {
            return outcome(&session, &back, StatusCode::BAD_REQUEST, "error", &problem)
        }
        Err(problem) => {
            tracing::warn!(error = %problem, "console resend failed");
            let text = "It failed: the broker or the database did not answer. Whatever was \
                        resent stays resent; run it again."
                .to_owned();
            let mut detail = request.audit_detail(0);
            detail["failed"] = true.into();
            (StatusCode::SERVICE_UNAVAILABLE, "error", text, detail)
        }
    };
    if audit::record_action(&state.changes, session.actor(), "resend", &detail)
        .await
        .is_err()
    {
        tracing::warn!("console resend not recorded in the audit log");
    }
    outcome(&session, &back, status, kind, &text)
}

fn outcome(session: &Session, back: &str, status: StatusCode, kind: &str, text: &str) -> Response {
    let body = html! {
        (page::notice(kind, text))
        p { a href=(back) { "Back to the object" } }
    };
    let mut response = page::render("Resend", Section::Events, Some(&session.frame()), body);
    *response.status_mut() = status;
    response
}
