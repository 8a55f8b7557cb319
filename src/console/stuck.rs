//! `GET /console/stuck`: the objects `GET /v1/stuck` lists, oldest first, each linked to its
//! timeline; filtered by family and age, a page at a time.

use super::{
    page::{self, Section},
    session::Session,
};
use crate::{
    http::AppState,
    ops::stuck::{self, StuckRequest, Unreadable},
};
use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::StatusCode,
    response::Response,
};
use maud::html;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct StuckQuery {
    family: Option<String>,
    older_than: Option<String>,
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<StuckQuery>, QueryRejection>,
) -> Response {
    let frame = session.frame();
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let read = StuckRequest::read(
        query.family.as_deref(),
        query.older_than.as_deref(),
        query.cursor.as_deref(),
    );
    let request = match read {
        Ok(request) => request,
        Err(unreadable) => {
            let problem = match unreadable {
                Unreadable::UnknownFamily(name) => format!("There is no family {name:?}."),
                Unreadable::Malformed(problem) => problem.to_owned(),
            };
            let mut response = page::render(
                "Stuck objects",
                Section::Stuck,
                Some(&frame),
                page::notice("error", &problem),
            );
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return response;
        }
    };
    let now = chrono::Utc::now();
    let Ok(found) = stuck::page(&state.pool, &state.stuck_after, &request, now).await else {
        return page::failure(
            Some(&frame),
            "The database is unavailable: try again shortly.",
        );
    };
    let given = |value: &Option<String>| value.clone().unwrap_or_default();
    let next = found.next.map(|cursor| {
        format!(
            "/console/stuck?family={}&older_than={}&cursor={}",
            page::encode(&given(&query.family)),
            page::encode(&given(&query.older_than)),
            cursor.encode()
        )
    });
    let body = html! {
        form.filters method="get" action="/console/stuck" {
            label { "Family" input type="text" name="family" value=(given(&query.family)) placeholder="every family"; }
            label { "Waiting longer than" input type="text" name="older_than" value=(given(&query.older_than)) placeholder="its stuck_after"; }
            button type="submit" { "Filter" }
        }
        (page::table_or("Nothing is stuck.", found.objects.is_empty(), html! {
            th { "Object" } th { "Status" } th { "Account" } th { "Last event" }
        }, html! {
            @for object in &found.objects {
                tr {
                    td.id { a href=(page::object_href(object.family.as_str(), &object.id)) { (object.family) " / " (object.id) } }
                    td.mono { (object.status) }
                    td.mono { (object.account_id.as_deref().unwrap_or("—")) }
                    td { (object.occurred_at) }
                }
            }
        }))
        @if let Some(next) = next { div.pager { a href=(next) { "Next →" } } }
    };
    page::render("Stuck objects", Section::Stuck, Some(&frame), body)
}
