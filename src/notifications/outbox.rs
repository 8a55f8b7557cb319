//! The notification outbox, relayed by the same relay as the events.

use crate::{
    amqp::{text_value, Names},
    catalogue::{EventId, LimitError, RoutingKey},
    relay::{Claimed, Outbox, Outgoing},
    store::outbox::{self, NotificationRow, OutboxTable},
};
use lapin::{types::FieldTable, BasicProperties};
use sqlx::PgConnection;

pub struct NotificationOutbox {
    pub names: Names,
}

impl Outbox for NotificationOutbox {
    const TABLE: OutboxTable = OutboxTable::Notifications;

    fn name(&self) -> &'static str {
        "notifications"
    }

    /// A notification nobody subscribed to is returned by the broker; that is its normal end,
    /// not a failure to retry.
    fn unroutable_is_final(&self) -> bool {
        true
    }

    async fn claim(&self, tx: &mut PgConnection, limit: i64) -> Result<Claimed, sqlx::Error> {
        let rows = outbox::claim_notifications(tx, limit).await?;
        let exchange = self.names.notifications();
        let mut claimed = Claimed::default();
        for row in rows {
            claimed.push(row.seq, outgoing(row, &exchange));
        }
        Ok(claimed)
    }
}

/// The message for a row, once its short-string values are checked.
fn outgoing(row: NotificationRow, exchange: &str) -> Result<Outgoing, LimitError> {
    let routing_key = RoutingKey::parse(&row.routing_key)?;
    let message_id = EventId::parse(&row.notification_id)?;
    let event_id = EventId::parse(&row.event_id)?;
    let mut headers = FieldTable::default();
    headers.insert("x-source".into(), text_value(row.source.as_str()));
    headers.insert("x-event-id".into(), text_value(event_id.as_str()));
    Ok(Outgoing {
        key: row.seq,
        event_id: row.event_id,
        exchange: exchange.to_owned(),
        routing_key,
        body: row.body,
        properties: BasicProperties::default()
            .with_message_id(message_id.as_str().into())
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_timestamp(chrono::Utc::now().timestamp().max(0) as u64)
            .with_app_id("hookgate".into())
            .with_headers(headers),
    })
}
