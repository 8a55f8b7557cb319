//! The console's page frame and the small pieces every page uses. Everything a page needs is
//! in the response: the stylesheet is embedded and nothing loads from another host.

use super::format;
use crate::{http::auth::Role, store::inbox::EventState};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};

const STYLE: &str = include_str!("console.css");

/// Which part of the console a page belongs to, for the navigation bar.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Events,
    Stuck,
    DeadLetters,
    SignIn,
}

/// The signed-in operator, their role and the session's CSRF token, for the sign-out form.
pub struct Frame<'a> {
    pub operator: &'a str,
    pub role: Role,
    pub csrf: &'a str,
}

pub fn render(title: &str, section: Section, frame: Option<&Frame<'_>>, body: Markup) -> Response {
    let nav = [
        (Section::Overview, "/console/overview", "Overview"),
        (Section::Events, "/console/events", "Events"),
        (Section::Stuck, "/console/stuck", "Stuck"),
        (Section::DeadLetters, "/console/dlq", "Dead letters"),
    ];
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · hookgate" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a.brand href="/console" { "hookgate" }
                    @if let Some(frame) = frame {
                        nav {
                            @for (target, href, label) in nav {
                                a href=(href) class=[(target == section).then_some("here")] { (label) }
                            }
                        }
                        form.signout method="post" action="/console/logout" {
                            span.who { (frame.operator) " (" (frame.role.as_str()) ")" }
                            input type="hidden" name="csrf" value=(frame.csrf);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    Html(page.into_string()).into_response()
}

/// A time in UTC with how long ago it was; the exact time is also in the tooltip.
pub fn time(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Markup {
    match at {
        None => html! { span.muted { "—" } },
        Some(at) => html! {
            time datetime=(at.to_rfc3339()) title=(format::utc(at)) {
                (format::utc(at)) " " span.muted { "(" (format::relative(at, now)) ")" }
            }
        },
    }
}

pub fn state_badge(state: EventState) -> Markup {
    let (class, label) = match state {
        EventState::Received => ("badge received", "received"),
        EventState::Published => ("badge published", "published"),
        EventState::Processed => ("badge processed", "processed"),
        EventState::DeadLettered => ("badge dead", "dead-lettered"),
    };
    html! { span class=(class) { (label) } }
}

/// A link to the event's detail page.
pub fn event_href(source: &str, event_id: &str) -> String {
    format!(
        "/console/events/{}?source={}",
        encode(event_id),
        encode(source)
    )
}

pub fn object_href(family: &str, object_id: &str) -> String {
    format!("/console/objects/{}/{}", encode(family), encode(object_id))
}

/// Percent-encodes a value for a path segment or a query value.
pub fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A table of `rows` (their `tr`s) under the header cells `head`; `empty`, muted, when there
/// is no row.
pub fn table_or(empty: &str, is_empty: bool, head: Markup, rows: Markup) -> Markup {
    html! {
        @if is_empty {
            p.muted { (empty) }
        } @else {
            table {
                thead { tr { (head) } }
                tbody { (rows) }
            }
        }
    }
}

/// A notice above a page's content: `kind` is `ok` or `error`.
pub fn notice(kind: &str, text: &str) -> Markup {
    html! { p class=(format!("notice {kind}")) role="status" { (text) } }
}

/// The error page for a failure the operator cannot fix from the form (database down, ...).
pub fn failure(frame: Option<&Frame<'_>>, message: &str) -> Response {
    let mut response = render(
        "Something is unavailable",
        Section::Overview,
        frame,
        notice("error", message),
    );
    *response.status_mut() = axum::http::StatusCode::SERVICE_UNAVAILABLE;
    response
}
