//! The inbox rows the store reads back, by what reads them: every one starts with the event's
//! key, and the message, the projection and the APIs each take the columns they need.

use crate::catalogue::{describe, Description, EventType, Family, LimitError};
use chrono::{DateTime, Utc};

/// Which event an inbox row holds: its source, its id there, and its type. Every row type the
/// store reads back starts with it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventKey {
    pub source: String,
    pub event_id: String,
    pub event_type: String,
}

/// The catalogue's reading as the inbox keeps it: what an event that cannot be projected
/// lacks is NULL, and its family is `unknown` when the catalogue has none for it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReadingColumns {
    pub family: Family,
    pub status: Option<String>,
    pub object_id: Option<String>,
    pub account_id: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// An inbox row as the event relay and `replay` publish it: the columns an event message is
/// made of (`wire::event_message`).
#[derive(sqlx::FromRow)]
pub struct EventRow {
    pub seq: i64,
    #[sqlx(flatten)]
    pub key: EventKey,
    #[sqlx(flatten)]
    pub reading: ReadingColumns,
    pub routing_key: String,
    pub received_at: DateTime<Utc>,
    pub resource_raw: Vec<u8>,
    /// The W3C `traceparent` it was received under, as stored (SPEC 7); read as text, checked
    /// where a message carries it.
    pub traceparent: Option<String>,
}

/// An inbox row as the projection reads it: the resource as received, to be parsed again.
#[derive(sqlx::FromRow)]
pub struct StoredEvent {
    pub seq: i64,
    #[sqlx(flatten)]
    pub key: EventKey,
    pub resource_raw: Vec<u8>,
    pub envelope_time: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub traceparent: Option<String>,
}

impl StoredEvent {
    /// The catalogue's reading of the resource as received, by the receiver's own rules. An
    /// event type outside the limits (stored before they were enforced) is its error.
    pub fn describe(&self) -> Result<Description, LimitError> {
        let event_type = EventType::parse(&self.key.event_type)?;
        Ok(describe(
            &event_type,
            &self.resource_raw,
            self.envelope_time,
        ))
    }
}
