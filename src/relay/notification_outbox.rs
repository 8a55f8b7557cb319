//! The notification outbox: applied status transitions queued in `notification_outbox` go to
//! the notifications exchange, relayed by the same loop as the events.

use super::{Outbox, Outgoing};
use crate::{
    amqp::Names,
    catalogue::RoutingKey,
    catalogue::{EventId, LimitError},
    store::outbox::{self, ClaimLimit, NotificationRow, OutboxTable},
    wire::notification_properties,
};
use sqlx::PgConnection;
use std::future::Future;

pub struct NotificationOutbox {
    pub names: Names,
}

impl Outbox for NotificationOutbox {
    type Row = NotificationRow;
    const TABLE: OutboxTable = OutboxTable::Notifications;

    /// A notification nobody subscribed to is returned by the broker; that is its normal end,
    /// not a failure to retry.
    fn unroutable_is_final(&self) -> bool {
        true
    }

    fn claim(
        &self,
        tx: &mut PgConnection,
        limit: ClaimLimit,
    ) -> impl Future<Output = Result<Vec<NotificationRow>, sqlx::Error>> + Send {
        outbox::claim_notifications(tx, limit)
    }

    fn outgoing(&self, row: NotificationRow) -> (i64, Result<Outgoing, LimitError>) {
        (row.seq, outgoing(row, &self.names.notifications()))
    }
}

/// The message for a row, once its short-string values are checked.
fn outgoing(row: NotificationRow, exchange: &str) -> Result<Outgoing, LimitError> {
    let routing_key = RoutingKey::parse(&row.routing_key)?;
    let message_id = EventId::parse(&row.notification_id)?;
    let event_id = EventId::parse(&row.event_id)?;
    let traceparent = row.traceparent.as_deref();
    let properties = notification_properties(&message_id, &row.source, &event_id, traceparent);
    Ok(Outgoing {
        key: row.seq,
        event_id: row.event_id,
        exchange: exchange.to_owned(),
        routing_key,
        body: row.body,
        properties,
    })
}
