//! The notifications kept (until retention prunes them, by `created_at`), read back for a
//! resend (SPEC 5): a selection is pinned to a range of `seq` when it starts, so what it
//! counts is what it sends, and walked a page at a time by `seq` (keyset). A time range is
//! found through a BRIN index on `created_at` (the table is appended in time order, so it is
//! small and costs the write path next to nothing); an object's notifications through an
//! index on `event_id`, from the object's events in `status_history`.

use super::online_indexes::OnlineIndex;
use crate::catalogue::Family;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Which kept notifications a resend reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptSelection {
    /// Created (their transition applied) at or after `since` and before `until`.
    Between {
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        family: Option<Family>,
    },
    /// Those of these objects' events.
    OfObjects(Vec<(Family, String)>),
}

/// A kept notification without its body: its place in the walk, what its message is made
/// of, and the routing key the subscriber's patterns are matched against.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeptKey {
    pub seq: i64,
    pub notification_id: String,
    pub source: String,
    pub event_id: String,
    pub routing_key: String,
    pub traceparent: Option<String>,
}

/// The walk's ends: after the first `seq` and up to the second, inclusive. `None` when the
/// selection holds nothing now.
pub async fn pin(
    pool: &PgPool,
    selection: &KeptSelection,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let (first, last): (Option<i64>, Option<i64>) = match selection {
        KeptSelection::Between { since, until, .. } => {
            sqlx::query_as(
                "SELECT min(seq), max(seq) FROM notification_outbox
                 WHERE created_at >= $1 AND created_at < $2",
            )
            .bind(since)
            .bind(until)
            .fetch_one(pool)
            .await?
        }
        KeptSelection::OfObjects(_) => {
            sqlx::query_as("SELECT min(seq), max(seq) FROM notification_outbox")
                .fetch_one(pool)
                .await?
        }
    };
    Ok(first.zip(last).map(|(first, last)| (first - 1, last)))
}

/// Up to `limit` keys of the selection with `after < seq <= upto`, in order.
pub async fn keys_page(
    pool: &PgPool,
    selection: &KeptSelection,
    after: i64,
    upto: i64,
    limit: i64,
) -> Result<Vec<KeptKey>, sqlx::Error> {
    match selection {
        KeptSelection::Between {
            since,
            until,
            family,
        } => {
            sqlx::query_as(
                "SELECT seq, notification_id, source, event_id, routing_key, traceparent
                 FROM notification_outbox
                 WHERE seq > $1 AND seq <= $2 AND created_at >= $3 AND created_at < $4
                   AND ($5::text IS NULL OR split_part(routing_key, '.', 2) = $5)
                 ORDER BY seq LIMIT $6",
            )
            .bind(after)
            .bind(upto)
            .bind(since)
            .bind(until)
            .bind(family.map(Family::as_str))
            .bind(limit)
            .fetch_all(pool)
            .await
        }
        KeptSelection::OfObjects(objects) => {
            let families: Vec<Family> = objects.iter().map(|(family, _)| *family).collect();
            let ids: Vec<&str> = objects.iter().map(|(_, id)| id.as_str()).collect();
            sqlx::query_as(
                "SELECT DISTINCT n.seq, n.notification_id, n.source, n.event_id, n.routing_key,
                                 n.traceparent
                 FROM UNNEST($3::text[], $4::text[]) AS o(family, object_id)
                 JOIN status_history AS h ON h.family = o.family AND h.object_id = o.object_id
                 JOIN notification_outbox AS n ON n.event_id = h.event_id AND n.source = h.source
                 WHERE n.seq > $1 AND n.seq <= $2
                 ORDER BY n.seq LIMIT $5",
            )
            .bind(after)
            .bind(upto)
            .bind(families)
            .bind(ids)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
    }
}

/// The bodies of the notifications at `seqs`, in order.
pub async fn bodies(pool: &PgPool, seqs: &[i64]) -> Result<Vec<(i64, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as("SELECT seq, body FROM notification_outbox WHERE seq = ANY($1) ORDER BY seq")
        .bind(seqs)
        .fetch_all(pool)
        .await
}

/// The indexes a resend reads through.
pub(super) fn indexes() -> Vec<OnlineIndex> {
    vec![
        OnlineIndex {
            name: "notification_outbox_created_at".into(),
            definition: "ON notification_outbox USING brin (created_at)".into(),
        },
        OnlineIndex {
            name: "notification_outbox_event".into(),
            definition: "ON notification_outbox (event_id)".into(),
        },
    ]
}
