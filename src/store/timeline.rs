//! An object's story for the console: every event of it in order of occurrence, whether the
//! projection applied it or found it stale, and where its notification went.

use super::inbox::EventState;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TimelineEvent {
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    pub status: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub state: EventState,
    pub error: Option<String>,
    /// `None` until the projection has seen the event.
    pub applied: Option<bool>,
    /// Its signed bytes were stored before under another event id.
    pub resent: bool,
}

/// A page of the object's events, oldest occurrence first (receipt order breaks ties), and
/// whether more follow.
pub async fn object_events(
    pool: &PgPool,
    family: &str,
    object_id: &str,
    offset: i64,
    limit: i64,
) -> Result<(Vec<TimelineEvent>, bool), sqlx::Error> {
    let mut rows: Vec<TimelineEvent> = sqlx::query_as(concat!(
        "SELECT e.source, e.event_id, e.event_type, e.status, e.occurred_at, e.received_at,
                e.error, h.applied, ",
        resent!("e.source", "e.event_id"),
        " AS resent, ",
        event_state!(),
        " AS state FROM ",
        inbox_with_times!(),
        " LEFT JOIN status_history h ON h.source = e.source AND h.event_id = e.event_id
         WHERE e.family = $1 AND e.object_id = $2
         ORDER BY e.occurred_at NULLS LAST, e.seq
         OFFSET $3 LIMIT $4"
    ))
    .bind(family)
    .bind(object_id)
    .bind(offset)
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok((rows, more))
}

/// A notification and the subscribers that took it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationTrail {
    pub notification_id: String,
    pub published_at: Option<DateTime<Utc>>,
    pub delivered_to: Vec<String>,
}

/// The notifications among `notification_ids` that exist, with their deliveries.
pub async fn notifications(
    pool: &PgPool,
    notification_ids: &[String],
) -> Result<Vec<NotificationTrail>, sqlx::Error> {
    sqlx::query_as(
        "SELECT n.notification_id, p.published_at,
                COALESCE(array_agg(d.subscriber ORDER BY d.delivered_at)
                         FILTER (WHERE d.subscriber IS NOT NULL), '{}') AS delivered_to
         FROM notification_outbox n
         LEFT JOIN notification_published p ON p.seq = n.seq
         LEFT JOIN notification_deliveries d ON d.notification_id = n.notification_id
         WHERE n.notification_id = ANY($1)
         GROUP BY n.notification_id, p.published_at",
    )
    .bind(notification_ids)
    .fetch_all(pool)
    .await
}
