//! `GET /console/events`: the event search with its filters, a page at a time; and
//! `GET /console/events/{eventId}?source=`: one event with its message, its state, its
//! errors and its resource with personal data masked.

use super::{
    page::{self, Section},
    session::Session,
};
use crate::{
    catalogue::{mask_personal_data, Family},
    http::{
        event_search::{cursor_after, read_query, SearchQuery},
        AppState,
    },
    ops::dlq,
    store::{
        event_search::{self, Position},
        inbox::{self, EventDetail},
    },
    wire::{event_message, headers_json},
};
use axum::{
    extract::{rejection::QueryRejection, Path, Query, State},
    http::StatusCode,
    response::Response,
};
use chrono::Utc;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

const PAGE_SIZE: i64 = 50;
const STATES: [&str; 4] = ["received", "published", "processed", "dead_lettered"];

pub async fn search(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Response {
    let frame = session.frame();
    let query = match query {
        Ok(Query(query)) => query.without_blanks(),
        Err(rejection) => {
            let body = html! {
                (filters(&SearchQuery::default()))
                (page::notice("error", &rejection.body_text()))
            };
            return status(
                page::render("Events", Section::Events, Some(&frame), body),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let form = filters(&query);
    let links: Vec<(&str, String)> = query
        .filters()
        .into_iter()
        .map(|(name, value)| (name, value.to_owned()))
        .collect();
    let search = match read_query(query.with_limit(PAGE_SIZE)) {
        Ok(search) => search,
        Err(problem) => {
            let body = html! { (form) (page::notice("error", &problem.to_string())) };
            return status(
                page::render("Events", Section::Events, Some(&frame), body),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let Ok(found) = event_search::search(&state.pool, &search).await else {
        return page::failure(
            Some(&frame),
            "The database is unavailable: try again shortly.",
        );
    };
    let next = match found.last() {
        Some(last) if found.len() as i64 == PAGE_SIZE => Some(cursor_after(Position {
            received_at: last.record.received_at,
            seq: last.seq,
        })),
        _ => None,
    };
    let now = Utc::now();
    let body = html! {
        (form)
        (page::table_or("No event matches.", found.is_empty(), html! {
            th { "Received" } th { "Event" } th { "Type" } th { "Object" }
            th { "Status" } th { "State" }
        }, html! {
            @for event in &found {
                tr {
                    td { (page::time(Some(event.record.received_at), now)) }
                    td.id { a href=(page::event_href(&event.record.key.source, &event.record.key.event_id)) { (event.record.key.event_id) } }
                    td.mono { (event.record.key.event_type) }
                    td.id {
                        @if let Some(object_id) = &event.object_id {
                            a href=(page::object_href(event.family.as_str(), object_id)) { (event.family) " / " (object_id) }
                        } @else { span.muted { (event.family) } }
                    }
                    td.mono { (event.status.as_deref().unwrap_or("—")) }
                    td { (page::state_badge(event.record.state)) }
                }
            }
        }))
        div.pager {
            @if search.after.is_some() { a href="/console/events" { "First page" } }
            @if let Some(next) = next { a href=(next_page(&links, &next)) { "Older events →" } }
        }
    };
    page::render("Events", Section::Events, Some(&frame), body)
}

fn next_page(links: &[(&str, String)], cursor: &str) -> String {
    let mut href = String::from("/console/events?");
    for (name, value) in links {
        href.push_str(&format!("{name}={}&", page::encode(value)));
    }
    href.push_str(&format!("cursor={}", page::encode(cursor)));
    href
}

fn filters(query: &SearchQuery) -> Markup {
    let text = |label: &str, name: &str, hint: &str| {
        html! { label { (label) input type="text" name=(name) value=(query.field(name)) placeholder=(hint); } }
    };
    html! {
        form.filters method="get" action="/console/events" {
            label { "Family"
                select name="family" {
                    option value="" { "any" }
                    @for family in Family::KNOWN {
                        option value=(family.as_str()) selected[query.field("family") == family.as_str()] { (family.as_str()) }
                    }
                }
            }
            (text("Object id", "objectId", ""))
            (text("Account id", "accountId", ""))
            (text("Status", "status", "e.g. closed"))
            (text("Event type", "eventType", "e.g. TRANSFER.UPDATED"))
            label { "State"
                select name="state" {
                    option value="" { "any" }
                    @for name in STATES {
                        option value=(name) selected[query.field("state") == name] { (name) }
                    }
                }
            }
            (text("Received from", "from", "RFC 3339, UTC"))
            (text("Received before", "to", ""))
            button type="submit" { "Search" }
        }
    }
}

#[derive(Deserialize)]
pub struct DetailQuery {
    source: Option<String>,
}

pub async fn detail(
    State(state): State<AppState>,
    session: Session,
    Path(event_id): Path<String>,
    query: Result<Query<DetailQuery>, QueryRejection>,
) -> Response {
    let frame = session.frame();
    let source = query
        .ok()
        .and_then(|Query(query)| query.source)
        .unwrap_or_else(|| crate::settings::INTERLACE_SOURCE.to_owned());
    let found = inbox::event_detail(&state.pool, &source, &event_id).await;
    let dead_letter = dlq::show(&state.pool, &event_id, Some(&source)).await;
    let (Ok(found), Ok(dead_letter)) = (found, dead_letter) else {
        return page::failure(
            Some(&frame),
            "The database is unavailable: try again shortly.",
        );
    };
    let Some(event) = found else {
        let body = page::notice("error", "No such event.");
        return status(
            page::render("Event", Section::Events, Some(&frame), body),
            StatusCode::NOT_FOUND,
        );
    };
    let dead_letter =
        dead_letter.filter(|letter| letter.summary.source.as_deref() == Some(&source));
    let body = html! {
        (facts(&event))
        @if let Some(letter) = &dead_letter {
            h2 { "Dead letter" }
            dl.facts {
                dt { "Queue" } dd.mono { (letter.summary.queue.as_deref().unwrap_or("—")) }
                dt { "Attempts" } dd { (letter.summary.attempts) }
                dt { "Failed at" } dd { (letter.summary.failed_at.as_deref().unwrap_or("—")) }
                dt { "Error" } dd.mono { (letter.summary.error.as_deref().unwrap_or("—")) }
                @for (name, value) in &letter.headers {
                    dt.mono { (name) }
                    dd.mono { (value.as_str().map_or_else(|| value.to_string(), str::to_owned)) }
                }
            }
            details {
                summary { "The dead-lettered message's body (personal data masked)" }
                pre { (serde_json::to_string_pretty(&mask_personal_data(&letter.body)).unwrap_or_default()) }
            }
            p { a href=(format!("/console/dlq?eventId={}", page::encode(&event_id))) { "Replay or purge it on the dead-letter page" } }
        }
        h2 { "Message" }
        (message(&event))
        h2 { "Resource " span.muted { "(personal data masked)" } }
        (resource(&event))
    };
    page::render(
        &format!("Event {event_id}"),
        Section::Events,
        Some(&frame),
        body,
    )
}

fn facts(event: &EventDetail) -> Markup {
    let now = Utc::now();
    let record = &event.record;
    let reading = &event.row.reading;
    html! {
        dl.facts {
            dt { "State" } dd { (page::state_badge(record.state)) }
            dt { "Event id" } dd.mono { (record.key.event_id) }
            dt { "Source" } dd.mono { (record.key.source) }
            dt { "Event type" } dd.mono { (record.key.event_type) }
            dt { "Object" } dd.mono {
                @if let Some(object_id) = &reading.object_id {
                    a href=(page::object_href(reading.family.as_str(), object_id)) { (reading.family) " / " (object_id) }
                    " · " a href=(page::object_href(reading.family.as_str(), object_id)) { "timeline" }
                } @else { (reading.family) }
            }
            dt { "Status" } dd.mono { (reading.status.as_deref().unwrap_or("—")) }
            dt { "Account" } dd.mono { (reading.account_id.as_deref().unwrap_or("—")) }
            dt { "Routing key" } dd.mono { (record.routing_key) }
            dt { "Occurred" } dd { (page::time(reading.occurred_at, now)) }
            dt { "Received" } dd { (page::time(Some(record.received_at), now)) }
            dt { "Published" } dd { (page::time(record.published_at, now)) }
            dt { "Processed" } dd { (page::time(record.processed_at, now)) }
            dt { "Dead-lettered" } dd { (page::time(record.dead_lettered_at, now)) }
            dt { "Error" } dd.mono { (record.error.as_deref().unwrap_or("—")) }
        }
    }
}

/// The routing key and headers the event's message carries: what a subscriber receives, and
/// what a replay publishes again.
fn message(event: &EventDetail) -> Markup {
    match event_message(&event.row) {
        Err(problem) => {
            html! { p.muted { "No message can be built for this event: " (problem.to_string()) } }
        }
        Ok(parts) => {
            let headers = parts
                .properties
                .headers()
                .as_ref()
                .map(headers_json)
                .unwrap_or_default();
            let properties = &parts.properties;
            let text = |value: Option<String>| value.unwrap_or_else(|| "—".to_owned());
            html! {
                dl.facts {
                    dt { "Routing key" } dd.mono { (parts.routing_key.as_str()) }
                    dt { "message_id" } dd.mono { (text(properties.message_id().as_ref().map(ToString::to_string))) }
                    dt { "type" } dd.mono { (text(properties.kind().as_ref().map(ToString::to_string))) }
                    dt { "content_type" } dd.mono { (text(properties.content_type().as_ref().map(ToString::to_string))) }
                    dt { "app_id" } dd.mono { (text(properties.app_id().as_ref().map(ToString::to_string))) }
                    @for (name, value) in &headers {
                        dt.mono { (name) }
                        dd.mono { (value.as_str().map_or_else(|| value.to_string(), str::to_owned)) }
                    }
                }
            }
        }
    }
}

fn resource(event: &EventDetail) -> Markup {
    let parsed = serde_json::from_slice::<Value>(&event.row.resource_raw).ok();
    match parsed {
        Some(value) => {
            let masked = mask_personal_data(&value);
            let pretty = serde_json::to_string_pretty(&masked).unwrap_or_default();
            html! { pre { (pretty) } }
        }
        None => html! {
            p.muted { "The resource is not JSON (" (event.row.resource_raw.len()) " bytes); it is kept as sent but not shown." }
        },
    }
}

fn status(mut response: Response, code: StatusCode) -> Response {
    *response.status_mut() = code;
    response
}
