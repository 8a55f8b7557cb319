//! `/console/dlq`: dead letters filtered and paged from the DLQ index, then replayed or
//! purged, selected or all, after a confirmation step that shows what will happen. Each action
//! is recorded in the audit log with the operator who took it, and its result is shown.

use super::{
    audit_log,
    form::{Form, Refused},
    page::{self, Section},
    session::Session,
};
use crate::{
    http::AppState,
    ops::{
        dlq,
        service::{Operations, PurgeRequest},
        OpsError,
    },
    store::{
        console as audit,
        dlq_index::{self, PageFilter},
        parked_events::{self, ParkedSelection},
    },
};
use axum::{
    extract::{rejection::QueryRejection, Query, RawForm, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use maud::html;
use serde::Deserialize;
use serde_json::json;

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    event_id: Option<String>,
    event_type: Option<String>,
    family: Option<String>,
    queue: Option<String>,
    page: Option<u32>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

pub async fn list(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let frame = session.frame();
    let may_change = session.may_change().is_ok();
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let filter = PageFilter {
        event_id: given(&query.event_id),
        event_type: given(&query.event_type),
        family: given(&query.family),
        queue: given(&query.queue),
    };
    let page_number = query.page.unwrap_or(0);
    let offset = i64::from(page_number) * PAGE_SIZE;
    let found = dlq_index::page(&state.pool, &filter, offset, PAGE_SIZE).await;
    let parked = parked_events::count_parked(&state.pool, &ParkedSelection::all()).await;
    let actions = audit::recent_actions(&state.pool, 20).await;
    let (Ok((letters, total)), Ok(parked_total), Ok(actions)) = (found, parked, actions) else {
        return page::failure(
            Some(&frame),
            "The database is unavailable: try again shortly.",
        );
    };
    let now = Utc::now();
    let filter_link = |page: u32| {
        let mut href = format!("/console/dlq?page={page}");
        for (name, value) in [
            ("eventId", filter.event_id),
            ("eventType", filter.event_type),
            ("family", filter.family),
            ("queue", filter.queue),
        ] {
            if let Some(value) = value {
                href.push_str(&format!("&{name}={}", page::encode(value)));
            }
        }
        href
    };
    let body = html! {
        form.filters method="get" action="/console/dlq" {
            label { "Event id" input type="text" name="eventId" value=(filter.event_id.unwrap_or_default()); }
            label { "Event type" input type="text" name="eventType" value=(filter.event_type.unwrap_or_default()); }
            label { "Family" input type="text" name="family" value=(filter.family.unwrap_or_default()); }
            label { "Queue" input type="text" name="queue" value=(filter.queue.unwrap_or_default()); }
            button type="submit" { "Filter" }
        }
        form method="post" action="/console/dlq/confirm" {
            input type="hidden" name="csrf" value=(session.csrf);
            p.muted { (total) @if total == 1 { " dead letter matches" } @else { " dead letters match" } @if parked_total > 0 { "; " (parked_total) " parked events wait for the relay (replay all takes them too)" } "." }
            (page::table_or("No dead letter matches.", letters.is_empty(), html! {
                @if may_change { th { "" } } th { "Failed" } th { "Event" } th { "Type" } th { "Queue" }
                th.num { "Attempts" } th { "Error" }
            }, html! {
                @for letter in &letters {
                    tr {
                        @if may_change { td { input type="checkbox" name="event" value=(letter.event_id) aria-label=(format!("select {}", letter.event_id)); } }
                        td { (page::time(Some(letter.failed_at), now)) }
                        td.id { a href=(page::event_href(letter.source.as_deref().unwrap_or(crate::settings::INTERLACE_SOURCE), &letter.event_id)) { (letter.event_id) } }
                        td.mono { (letter.event_type.as_deref().unwrap_or("—")) }
                        td.mono { (letter.queue) }
                        td.num { (letter.attempts) }
                        td.mono { (letter.error) }
                    }
                }
            }))
            @if may_change { div.actions {
                button type="submit" name="action" value="replay-selected" { "Replay selected" }
                button.secondary type="submit" name="action" value="replay-all" { "Replay all" }
                button.danger type="submit" name="action" value="purge-selected" { "Purge selected" }
                button.danger type="submit" name="action" value="purge-all" { "Purge all" }
            } }
        }
        div.pager {
            @if page_number > 0 { a href=(filter_link(page_number - 1)) { "← Previous" } }
            @if offset + PAGE_SIZE < total { a href=(filter_link(page_number + 1)) { "Next →" } }
        }
        h2 { "Recent actions" }
        (audit_log::table(&actions, now))
    };
    page::render("Dead letters", Section::DeadLetters, Some(&frame), body)
}

/// What the operator asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    ReplaySelected,
    ReplayAll,
    PurgeSelected,
    PurgeAll,
}

impl Action {
    fn parse(text: &str) -> Option<Action> {
        match text {
            "replay-selected" => Some(Action::ReplaySelected),
            "replay-all" => Some(Action::ReplayAll),
            "purge-selected" => Some(Action::PurgeSelected),
            "purge-all" => Some(Action::PurgeAll),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Action::ReplaySelected => "replay-selected",
            Action::ReplayAll => "replay-all",
            Action::PurgeSelected => "purge-selected",
            Action::PurgeAll => "purge-all",
        }
    }

    fn selector(self, event_ids: Vec<String>) -> dlq::Selector {
        match self {
            Action::ReplayAll | Action::PurgeAll => dlq::Selector::All,
            Action::ReplaySelected | Action::PurgeSelected => {
                dlq::Selector::EventIds(event_ids, None)
            }
        }
    }
}

/// Why a form's request is not carried out.
enum Refusal {
    /// A CSRF token that is not the session's, or a viewer's session (403).
    Form(Refused),
    Selection(&'static str),
}

impl Refusal {
    fn page(self, session: &Session) -> Response {
        match self {
            Refusal::Form(refused) => refused.into_response(),
            Refusal::Selection(problem) => refused(session, problem),
        }
    }
}

/// The action and selection a form names, or why it is refused.
fn read_request(session: &Session, form: &Form) -> Result<(Action, Vec<String>), Refusal> {
    session.check_csrf(form).map_err(Refusal::Form)?;
    session.may_change().map_err(Refusal::Form)?;
    let action = form.first("action").and_then(Action::parse);
    let events = form.all("event");
    match action {
        None => Err(Refusal::Selection("Choose replay or purge.")),
        Some(Action::ReplaySelected | Action::PurgeSelected) if events.is_empty() => {
            Err(Refusal::Selection("Select at least one dead letter first."))
        }
        Some(action) => Ok((action, events)),
    }
}

/// `POST /console/dlq/confirm`: what the action will do, and the button that does it.
pub async fn confirm(State(state): State<AppState>, session: Session, form: RawForm) -> Response {
    let form = Form::read(form);
    let (action, events) = match read_request(&session, &form) {
        Ok(request) => request,
        Err(refusal) => return refusal.page(&session),
    };
    let consequence = match action {
        Action::PurgeAll => match dlq_index::count(&state.changes).await {
            Ok(count) => format!(
                "Purge all: every message in the DLQ ({count} indexed) is deleted for good. \
                 Parked events are not in the DLQ and stay."
            ),
            Err(_) => return unavailable(&session),
        },
        _ => match Operations::new(&state.changes, &*state.broker)
            .plan_dead_letters(&action.selector(events.clone()))
            .await
        {
            Ok(plan) if matches!(action, Action::PurgeSelected) => format!(
                "Purge selected: {} dead letters are deleted for good; {} stay.",
                plan.in_queue(),
                plan.counts.replayed + plan.counts.skipped - plan.in_queue() as u64
            ),
            Ok(plan) => format!(
                "Replay: {} are sent back to the queues they failed in ({} from the DLQ, {} \
                 parked); {} stay.",
                plan.counts.replayed,
                plan.in_queue(),
                plan.counts.replayed - plan.in_queue() as u64,
                plan.counts.skipped
            ),
            Err(OpsError::Selection(problem)) => return refused(&session, &problem),
            Err(_) => return unavailable(&session),
        },
    };
    let danger = matches!(action, Action::PurgeAll | Action::PurgeSelected);
    let body = html! {
        p { (consequence) }
        @if !events.is_empty() {
            p.muted { "Selected: " span.mono { (events.join(", ")) } }
        }
        form method="post" action="/console/dlq/run" {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="action" value=(action.name());
            @for event in &events { input type="hidden" name="event" value=(event); }
            div.actions {
                button class=[danger.then_some("danger")] type="submit" { "Yes, " (action.name().replace('-', " ")) }
                a href="/console/dlq" { "Cancel" }
            }
        }
    };
    page::render(
        "Confirm",
        Section::DeadLetters,
        Some(&session.frame()),
        body,
    )
}

/// `POST /console/dlq/run`: does it, records it, and shows what happened.
pub async fn run(State(state): State<AppState>, session: Session, form: RawForm) -> Response {
    let form = Form::read(form);
    let (action, events) = match read_request(&session, &form) {
        Ok(request) => request,
        Err(refusal) => return refusal.page(&session),
    };
    let done = carry_out(&state, action, events.clone()).await;
    let (kind, text, detail) = match &done {
        Ok(Done { verb, count, left }) => {
            let text = format!("Done: {count} {verb}, {left} left.");
            let detail = json!({"events": events, *verb: count, "left": left});
            ("ok", text, detail)
        }
        Err(OpsError::Selection(problem)) => return refused(&session, problem),
        Err(OpsError::BrokerUnavailable) => {
            return page::failure(
                Some(&session.frame()),
                "The broker does not answer: nothing was done; try again shortly.",
            )
        }
        Err(problem) => {
            tracing::warn!(action = action.name(), error = %problem, "console action failed");
            let text = "It failed: the broker or the database did not answer. Nothing was \
                        lost; run it again."
                .to_owned();
            ("error", text, json!({"events": events, "failed": true}))
        }
    };
    if audit::record_action(&state.changes, session.actor(), action.name(), &detail)
        .await
        .is_err()
    {
        tracing::warn!(
            action = action.name(),
            "console action not recorded in the audit log"
        );
    }
    tracing::info!(action = action.name(), outcome = kind, "console action");
    let body = html! {
        (page::notice(kind, &text))
        p { a href="/console/dlq" { "Back to the dead letters" } }
    };
    let mut response = page::render("Result", Section::DeadLetters, Some(&session.frame()), body);
    if done.is_err() {
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    }
    response
}

/// What an action did, as the page and the audit log say it.
struct Done {
    verb: &'static str,
    count: u64,
    left: u64,
}

async fn carry_out(
    state: &AppState,
    action: Action,
    events: Vec<String>,
) -> Result<Done, OpsError> {
    let operations = Operations::new(&state.changes, &*state.broker);
    let purge = match action {
        Action::PurgeAll => PurgeRequest::All,
        Action::PurgeSelected => PurgeRequest::Selected(action.selector(events)),
        Action::ReplayAll | Action::ReplaySelected => {
            let selector = action.selector(events);
            let counts = operations
                .replay_dead_letters(&selector, false, |_, _| {})
                .await?;
            return Ok(Done {
                verb: "replayed",
                count: counts.replayed,
                left: counts.skipped,
            });
        }
    };
    let purged = operations.purge_dead_letters(&purge).await?;
    Ok(Done {
        verb: "purged",
        count: purged.purged,
        left: purged.left,
    })
}

fn refused(session: &Session, problem: &str) -> Response {
    let body = html! {
        (page::notice("error", problem))
        p { a href="/console/dlq" { "Back to the dead letters" } }
    };
    let mut response = page::render(
        "Dead letters",
        Section::DeadLetters,
        Some(&session.frame()),
        body,
    );
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}

fn unavailable(session: &Session) -> Response {
    page::failure(
        Some(&session.frame()),
        "The database is unavailable: try again shortly.",
    )
}
