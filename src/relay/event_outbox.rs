//! The inbox as an outbox: rows with no `published_at` go to the events exchange.

use super::{event_message, Claimed, Outbox, Outgoing};
use crate::amqp::Names;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

pub struct EventOutbox {
    pub names: Names,
}

#[derive(sqlx::FromRow)]
pub struct InboxRow {
    pub seq: i64,
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    pub family: String,
    pub status: Option<String>,
    pub object_id: Option<String>,
    pub account_id: Option<String>,
    pub routing_key: String,
    pub occurred_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub resource_raw: Vec<u8>,
}

/// The columns of [`InboxRow`], for queries that select it.
pub const INBOX_ROW_COLUMNS: &str =
    "seq, source, event_id, event_type, family, status, object_id, \
     account_id, routing_key, occurred_at, received_at, resource_raw";

impl Outbox for EventOutbox {
    const TABLE: &'static str = "inbox_events";
    const CREATED_AT: &'static str = "received_at";
    /// A parked event shows as dead-lettered, with its reason, in the event API and `status`.
    const PARK_ALSO: &'static str = ", dead_lettered_at = now(), error = p.reason";

    fn name(&self) -> &'static str {
        "events"
    }

    async fn claim(&self, tx: &mut PgConnection, limit: i64) -> Result<Claimed, sqlx::Error> {
        let rows: Vec<InboxRow> = sqlx::query_as(&format!(
            "SELECT {INBOX_ROW_COLUMNS} FROM inbox_events
             WHERE published_at IS NULL AND parked_at IS NULL
             ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED"
        ))
        .bind(limit)
        .fetch_all(tx)
        .await?;
        let exchange = self.names.events();
        let mut claimed = Claimed::default();
        for row in &rows {
            let message = event_message(row).map(|message| Outgoing {
                key: row.seq,
                event_id: row.event_id.clone(),
                exchange: exchange.clone(),
                routing_key: message.routing_key,
                body: message.body,
                properties: message.properties,
            });
            claimed.push(row.seq, message);
        }
        Ok(claimed)
    }
}
