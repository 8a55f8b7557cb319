//! Replaying a dead letter whose event went with its day: retention drops a day once its
//! dead-lettered events are in the DLQ index (store::partitions), so the dead letter's message
//! is then the event's only copy. Sending it back to the read-model queue would find no inbox
//! row to project; instead the event is stored again from the message, as a new arrival (same
//! source, id, type and resource bytes; received now), and the relay publishes it as any other.

use super::OpsError;
use crate::{
    catalogue::{EventId, EventType},
    receiving::to_new_event,
    signing::VerifiedEvent,
    store::{
        dlq_index::DeadLetterFacts,
        inbox::{self, Stored},
    },
    wire::EventCopy,
};
use sqlx::PgPool;

/// Whether the event of a dead letter from the read-model queue is gone from the inbox.
pub(super) async fn archive_gone(pool: &PgPool, facts: &DeadLetterFacts) -> Result<bool, OpsError> {
    let source = facts.source.as_deref().unwrap_or_default();
    Ok(inbox::find_event(pool, source, &facts.event_id)
        .await?
        .is_none())
}

/// Stores the event `body` (an event message) carries, again; returns whether the body was
/// one. Stored twice (a replay run again) it is a duplicate, which is as good.
pub(super) async fn store_again(pool: &PgPool, body: &[u8]) -> Result<bool, OpsError> {
    let Some(copy) = EventCopy::read(body) else {
        return Ok(false);
    };
    let (Ok(event_id), Ok(event_type)) =
        (EventId::parse(&copy.id), EventType::parse(&copy.event_type))
    else {
        return Ok(false);
    };
    let verified = VerifiedEvent {
        event_id,
        event_type,
        resource: copy.resource.get().as_bytes().to_vec(),
        envelope_time: copy.occurred_at,
    };
    let event = to_new_event(&copy.source, verified, None);
    let stored = inbox::insert_events(pool, &[&event]).await?;
    if let Some(Stored::New { seq, .. }) = stored.first() {
        tracing::info!(event_id = %copy.id, seq, "dead letter's event stored again from its message");
    }
    Ok(true)
}
