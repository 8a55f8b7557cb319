//! The inbox as an outbox: events queued in `inbox_unpublished` go to the events exchange.

use super::{Claimed, Outbox, Outgoing};
use crate::{
    amqp::Names,
    store::outbox::{self, ClaimLimit, OutboxTable},
    wire::event_message,
};
use sqlx::PgConnection;

pub struct EventOutbox {
    pub names: Names,
}

impl Outbox for EventOutbox {
    const TABLE: OutboxTable = OutboxTable::Events;

    async fn claim(
        &self,
        tx: &mut PgConnection,
        limit: ClaimLimit,
    ) -> Result<Claimed, sqlx::Error> {
        let rows = outbox::claim_events(tx, limit).await?;
        let exchange = self.names.events();
        let mut claimed = Claimed::default();
        for row in &rows {
            let message = event_message(row).map(|message| Outgoing {
                key: row.seq,
                event_id: row.key.event_id.clone(),
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
