//! `hookgate status`: what is waiting where.

use crate::{
    amqp::{inspect_queue, Topology},
    notifications::NotificationOutbox,
    relay::{EventOutbox, Outbox},
};
use lapin::Channel;
use serde::Serialize;
use sqlx::PgPool;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub inbox: InboxTotals,
    pub outboxes: Vec<Backlog>,
    /// `None` when the broker could not be reached.
    pub queues: Option<Vec<QueueDepth>>,
    pub last_processed: Option<LastProcessed>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct InboxTotals {
    pub total: i64,
    pub unpublished: i64,
    pub unprocessed: i64,
    pub dead_lettered: i64,
    /// Events the relay set aside because their message cannot be built (counted among the
    /// dead-lettered too).
    pub parked: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backlog {
    pub outbox: &'static str,
    pub backlog: i64,
    pub oldest_age_seconds: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueDepth {
    pub queue: String,
    pub messages: u32,
    pub consumers: u32,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct LastProcessed {
    pub event_id: String,
    pub source: String,
    pub event_type: String,
    pub processed_at: chrono::DateTime<chrono::Utc>,
}

pub async fn gather(
    pool: &PgPool,
    topology: &Topology,
    channel: Option<&Channel>,
) -> Result<Status, sqlx::Error> {
    let inbox: InboxTotals = sqlx::query_as(
        "SELECT count(*) AS total,
                count(*) FILTER (WHERE published_at IS NULL) AS unpublished,
                count(*) FILTER (WHERE processed_at IS NULL AND dead_lettered_at IS NULL) AS unprocessed,
                count(*) FILTER (WHERE dead_lettered_at IS NOT NULL AND processed_at IS NULL) AS dead_lettered,
                count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked
         FROM inbox_events",
    )
    .fetch_one(pool)
    .await?;
    let events = EventOutbox {
        names: topology.names.clone(),
    };
    let notifications = NotificationOutbox {
        names: topology.names.clone(),
    };
    let (event_backlog, event_age) = EventOutbox::backlog(pool).await?;
    let (notification_backlog, notification_age) = NotificationOutbox::backlog(pool).await?;
    let last_processed = sqlx::query_as(
        "SELECT event_id, source, event_type, processed_at FROM inbox_events
         WHERE processed_at IS NOT NULL ORDER BY processed_at DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    let queues = match channel {
        Some(channel) => depths(channel, topology).await.ok(),
        None => None,
    };
    Ok(Status {
        inbox,
        outboxes: vec![
            Backlog {
                outbox: events.name(),
                backlog: event_backlog,
                oldest_age_seconds: event_age,
            },
            Backlog {
                outbox: notifications.name(),
                backlog: notification_backlog,
                oldest_age_seconds: notification_age,
            },
        ],
        queues,
        last_processed,
    })
}

async fn depths(channel: &Channel, topology: &Topology) -> lapin::Result<Vec<QueueDepth>> {
    let mut depths = Vec::new();
    for queue in topology.queues() {
        let declared = inspect_queue(channel, &queue).await?;
        depths.push(QueueDepth {
            queue,
            messages: declared.message_count(),
            consumers: declared.consumer_count(),
        });
    }
    Ok(depths)
}
