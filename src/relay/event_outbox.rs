//! The inbox as an outbox: events queued in `inbox_unpublished` go to the events exchange.

use super::{Outbox, Outgoing};
use crate::{
    amqp::Names,
    catalogue::LimitError,
    store::{
        event_rows::EventRow,
        outbox::{self, ClaimLimit, OutboxTable},
    },
    wire::event_message,
};
use sqlx::PgConnection;
use std::future::Future;

pub struct EventOutbox {
    pub names: Names,
}

impl Outbox for EventOutbox {
    type Row = EventRow;
    const TABLE: OutboxTable = OutboxTable::Events;

    fn claim(
        &self,
        tx: &mut PgConnection,
        limit: ClaimLimit,
    ) -> impl Future<Output = Result<Vec<EventRow>, sqlx::Error>> + Send {
        outbox::claim_events(tx, limit)
    }

    fn outgoing(&self, row: EventRow) -> (i64, Result<Outgoing, LimitError>) {
        let message = event_message(&row).map(|message| Outgoing {
            key: row.seq,
            event_id: row.key.event_id,
            exchange: self.names.events(),
            routing_key: message.routing_key,
            body: message.body,
            properties: message.properties,
        });
        (row.seq, message)
    }
}
