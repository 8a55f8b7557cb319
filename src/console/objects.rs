//! `GET /console/objects/{family}/{id}`: an object's whole story. What it is now (status,
//! account, its amounts as the platform sent them, and the resource of the event that decided
//! its state, personal data masked), the path its status took, and every event of it in order
//! of occurrence: applied or stale, where the event is in its life, and which subscribers took
//! its notification.

use super::{
    page::{self, Section},
    resend,
    session::Session,
};
use crate::{
    catalogue::{mask_personal_data, Family},
    http::AppState,
    store::{
        object_money::{self, StoredMoney},
        read_model,
        timeline::{self, NotificationTrail, TimelineEvent},
    },
    wire::notification_id,
};
use axum::{
    extract::{rejection::QueryRejection, Path, Query, State},
    http::StatusCode,
    response::Response,
};
use chrono::Utc;
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;

const PAGE_SIZE: i64 = 100;

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<u32>,
}

pub async fn timeline(
    State(state): State<AppState>,
    session: Session,
    Path((family_name, object_id)): Path<(String, String)>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let frame = session.frame();
    let title = format!("{family_name} / {object_id}");
    let Some(family) = Family::known(&family_name) else {
        let body = page::notice("error", &format!("There is no family {family_name:?}."));
        let mut response = page::render(&title, Section::Events, Some(&frame), body);
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    let page_number = query.ok().and_then(|Query(q)| q.page).unwrap_or(0);
    let offset = i64::from(page_number) * PAGE_SIZE;
    let gathered = async {
        let object = read_model::find_object(&state.pool, family, &object_id).await?;
        let (events, more) =
            timeline::object_events(&state.pool, family.as_str(), &object_id, offset, PAGE_SIZE)
                .await?;
        let ids: Vec<String> = events
            .iter()
            .map(|event| notification_id(&event.source, &event.event_id))
            .collect();
        let trails = timeline::notifications(&state.pool, &ids).await?;
        let money = object_money::money_of(&state.pool, family, &object_id).await?;
        Ok::<_, sqlx::Error>((object, events, more, trails, money.unwrap_or_default()))
    };
    let Ok((object, events, more, trails, money)) = gathered.await else {
        return page::failure(
            Some(&frame),
            "The database is unavailable: try again shortly.",
        );
    };
    let trails: HashMap<String, NotificationTrail> = trails
        .into_iter()
        .map(|trail| (trail.notification_id.clone(), trail))
        .collect();
    let now = Utc::now();
    let body = html! {
        @match &object {
            Some(object) => dl.facts {
                dt { "Status now" } dd.mono { (object.status) }
                dt { "Account" } dd.mono { (object.account_id.as_deref().unwrap_or("—")) }
                (amounts(&money))
                dt { "Decided by" } dd.mono { a href=(page::event_href(&object.last_source, &object.last_event_id)) { (object.last_event_id) } }
                dt { "Occurred" } dd { (page::time(Some(object.occurred_at), now)) }
                dt { "Updated" } dd { (page::time(Some(object.updated_at), now)) }
                dt { "Status path" } dd.path { (status_path(&events)) }
            },
            None => p.muted { "The read model has no row for this object yet." },
        }
        @if object.is_some() { (resend::form(&state, &session, family, &object_id)) }
        @if let Some(resource) = object.as_ref().and_then(|o| o.resource.as_deref()) {
            h2 { "Resource of the deciding event" }
            pre { (masked(resource)) }
        }
        h2 { "Events, in order of occurrence" }
        (page::table_or("No event of this object is stored.", events.is_empty(), html! {
            th { "Occurred" } th { "Status" } th { "Outcome" } th { "Event" }
            th { "State" } th { "Received" } th { "Notification" }
        }, html! {
            @for event in &events {
                tr class=[(event.applied == Some(false)).then_some("stale")] {
                    td { (page::time(event.occurred_at, now)) }
                    td.mono { (event.status.as_deref().unwrap_or("—")) }
                    td { (outcome(event)) }
                    td.id { a href=(page::event_href(&event.source, &event.event_id)) { (event.event_id) } }
                    td { (page::state_badge(event.state)) }
                    td { (page::time(Some(event.received_at), now)) }
                    td { (notification(trails.get(&notification_id(&event.source, &event.event_id)))) }
                }
            }
        }))
        div.pager {
            @if page_number > 0 { a href=(format!("?page={}", page_number - 1)) { "← Earlier events" } }
            @if more { a href=(format!("?page={}", page_number + 1)) { "Later events →" } }
        }
    };
    page::render(&title, Section::Events, Some(&frame), body)
}

/// Each amount the resource gave, with its currency, as stored: every digit and the scale
/// the platform sent (`12.50 USD`), never a float's rendering.
fn amounts(money: &[StoredMoney]) -> Markup {
    html! {
        @for stored in money {
            @if let Some(amount) = &stored.amount {
                dt { (stored.field.name) }
                dd.mono { (amount) " " (stored.currency.as_deref().unwrap_or("")) }
            }
        }
    }
}

/// A stored resource pretty-printed with personal data masked; nothing of one that cannot be
/// read, since it could not be masked either.
fn masked(resource: &str) -> String {
    serde_json::from_str(resource)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&mask_personal_data(&value)).ok())
        .unwrap_or_else(|| "(the resource could not be read)".to_owned())
}

fn outcome(event: &TimelineEvent) -> Markup {
    html! {
        @match event.applied {
            Some(true) => span.badge.applied { "applied" },
            Some(false) => span.badge.stale title="Older than the state already applied" { "stale" },
            None => span.badge.pending { "not yet" },
        }
        @if event.resent {
            " "
            span.badge.resent title="The same signed resource was stored before under another event id: a repeat, or a captured request sent again" { "re-sent" }
        }
    }
}

fn notification(trail: Option<&NotificationTrail>) -> Markup {
    match trail {
        None => html! { span.muted { "none" } },
        Some(trail) if trail.delivered_to.is_empty() => match trail.published_at {
            Some(_) => html! { "published" },
            None => html! { span.muted { "waiting" } },
        },
        Some(trail) => html! { "sent to " span.mono { (trail.delivered_to.join(", ")) } },
    }
}

/// The statuses the object went through at the platform, in order of occurrence, repeats
/// folded: `pending → processing → closed`. Stale events count: they arrived late, but the
/// object did pass through their status.
fn status_path(events: &[TimelineEvent]) -> Markup {
    let mut steps: Vec<&str> = Vec::new();
    for event in events {
        if let Some(status) = event.status.as_deref() {
            if steps.last() != Some(&status) {
                steps.push(status);
            }
        }
    }
    html! {
        @for (index, step) in steps.iter().enumerate() {
            @if index > 0 { " → " }
            span.step { (step) }
        }
    }
}
