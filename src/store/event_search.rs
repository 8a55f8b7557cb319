//! `GET /v1/events`: the inbox searched by what an event is about, newest first by time of
//! receipt, one page at a time by keyset ((received_at, seq) below the previous page's last).
//! Only the filters given become predicates, so each query can use the index made for it
//! (migration 0007). An object is found through `inbox_events_object`, the index its timeline
//! and `verify` walk, which leads with the family: without a family filter the search names
//! every family, so that one index serves both (migration 0024 dropped the search's own).

use super::inbox::{EventRecord, EventState};
use crate::catalogue::Family;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

/// What to look for; `None` leaves a filter out.
#[derive(Debug, Default)]
pub struct EventSearch {
    pub family: Option<String>,
    pub status: Option<String>,
    pub event_type: Option<String>,
    pub object_id: Option<String>,
    pub account_id: Option<String>,
    pub state: Option<EventState>,
    /// Received at or after.
    pub from: Option<DateTime<Utc>>,
    /// Received before.
    pub to: Option<DateTime<Utc>>,
    /// Only events listed after this one (the cursor): received earlier, or at the same time
    /// and stored earlier.
    pub after: Option<Position>,
    pub limit: i64,
}

/// Where an event stands in the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub received_at: DateTime<Utc>,
    pub seq: i64,
}

#[derive(sqlx::FromRow)]
pub struct FoundEvent {
    pub seq: i64,
    #[sqlx(flatten)]
    pub record: EventRecord,
    pub family: Family,
    pub status: Option<String>,
    pub object_id: Option<String>,
    pub account_id: Option<String>,
}

pub async fn search(pool: &PgPool, search: &EventSearch) -> Result<Vec<FoundEvent>, sqlx::Error> {
    let mut query: QueryBuilder<Postgres> = QueryBuilder::new(concat!(
        "SELECT seq, event_id, source, event_type, routing_key, received_at, published_at,
                processed_at, dead_lettered_at, COALESCE(error, parse_error) AS error, ",
        event_state!(),
        " AS state, family, status, object_id, account_id FROM ",
        inbox_with_times!(),
        " WHERE true"
    ));
    let text_filters = [
        ("family", &search.family),
        ("status", &search.status),
        ("event_type", &search.event_type),
        ("object_id", &search.object_id),
        ("account_id", &search.account_id),
    ];
    for (column, value) in text_filters {
        if let Some(value) = value {
            query
                .push(format_args!(" AND {column} = "))
                .push_bind(value.clone());
        }
    }
    if search.object_id.is_some() && search.family.is_none() {
        let every: Vec<&str> = Family::all().map(Family::as_str).collect();
        query.push(" AND family = ANY(").push_bind(every).push(")");
    }
    if let Some(state) = search.state {
        // What the state implies, spelled out so that the states other than processed, which
        // hold few rows, are read from their queues or their partial index; then the state
        // rule itself.
        query.push(match state {
            EventState::Received => " AND seq IN (SELECT seq FROM inbox_unpublished)",
            EventState::Published => {
                " AND seq IN (SELECT seq FROM inbox_unprocessed)
                  AND seq NOT IN (SELECT seq FROM inbox_unpublished)"
            }
            EventState::Processed => " AND processed_at IS NOT NULL",
            EventState::DeadLettered => " AND dead_lettered_at IS NOT NULL",
        });
        query
            .push(concat!(" AND (", event_state!(), ") = "))
            .push_bind(state);
    }
    if let Some(from) = search.from {
        query.push(" AND received_at >= ").push_bind(from);
    }
    if let Some(to) = search.to {
        query.push(" AND received_at < ").push_bind(to);
    }
    if let Some(after) = search.after {
        query
            .push(" AND (received_at, seq) < (")
            .push_bind(after.received_at)
            .push(", ")
            .push_bind(after.seq)
            .push(")");
    }
    query
        .push(" ORDER BY received_at DESC, seq DESC LIMIT ")
        .push_bind(search.limit);
    query.build_query_as().fetch_all(pool).await
}
