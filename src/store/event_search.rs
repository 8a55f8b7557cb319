//! `GET /v1/events`: the inbox searched by what an event is about, newest first, one page at a
//! time by keyset (`seq` below the previous page's last). Only the filters given become
//! predicates, so each query can use the index made for it (migration 0007).

use super::inbox::{EventRecord, EventState};
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
    /// Only events older than this one (the cursor).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

#[derive(sqlx::FromRow)]
pub struct FoundEvent {
    pub seq: i64,
    #[sqlx(flatten)]
    pub record: EventRecord,
    pub family: String,
    pub status: Option<String>,
    pub object_id: Option<String>,
    pub account_id: Option<String>,
}

pub async fn search(pool: &PgPool, search: &EventSearch) -> Result<Vec<FoundEvent>, sqlx::Error> {
    let mut query: QueryBuilder<Postgres> = QueryBuilder::new(concat!(
        "SELECT seq, event_id, source, event_type, routing_key, received_at, published_at,
                processed_at, dead_lettered_at, COALESCE(error, parse_error) AS error, ",
        event_state!(),
        " AS state, family, status, object_id, account_id FROM inbox_events WHERE true"
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
    if let Some(state) = search.state {
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
    if let Some(seq) = search.before_seq {
        query.push(" AND seq < ").push_bind(seq);
    }
    query
        .push(" ORDER BY seq DESC LIMIT ")
        .push_bind(search.limit);
    query.build_query_as().fetch_all(pool).await
}
