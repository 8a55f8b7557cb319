//! The read model: applies events to their objects under the SPEC 3 ordering rules, records
//! them in the objects' history and, for applied status transitions, writes the notifications
//! to the notification outbox, all inside the caller's transaction.

mod batch;
mod fold;
mod repair;

pub use batch::{project, Mode};
pub use fold::{fold, Effect};
pub use repair::{lock_object, replace_object};

use crate::{
    catalogue::{Description, StatePoint, TraceParent, ValidEvent},
    store::event_rows::StoredEvent,
};
use chrono::{DateTime, Utc};

/// A valid event of a known family, ready to project.
pub struct Projectable<'a> {
    pub source: &'a str,
    pub event_id: &'a str,
    pub valid: &'a ValidEvent,
    pub received_at: DateTime<Utc>,
    /// The resource as JSON text, when it can be stored as JSONB.
    pub resource_json: Option<&'a str>,
    pub resource_raw: &'a [u8],
    /// The trace its notification is published under (SPEC 7): the event's, as stored, until
    /// the worker's `project` span takes its place.
    pub traceparent: Option<TraceParent>,
}

impl<'a> Projectable<'a> {
    /// `event` ready to project, when `description` (its [`StoredEvent::describe`]) is valid.
    pub fn of(event: &'a StoredEvent, description: &'a Description) -> Option<Projectable<'a>> {
        Some(Projectable {
            source: &event.key.source,
            event_id: &event.key.event_id,
            valid: description.valid()?,
            received_at: event.received_at,
            // The inbox keeps the bytes only; they are the JSON text when they can be JSONB.
            resource_json: description
                .storable_as_jsonb
                .then(|| std::str::from_utf8(&event.resource_raw).ok())
                .flatten(),
            resource_raw: &event.resource_raw,
            traceparent: event.traceparent.as_deref().and_then(TraceParent::parse),
        })
    }

    /// The event as the ordering rule compares it.
    pub fn point(&self) -> StatePoint<'_> {
        self.valid.point(self.event_id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projected {
    /// The event became the object's state; `notified` when its status change was written to
    /// the notification outbox.
    Applied { notified: bool },
    /// Older than the stored state: kept in the history only.
    Stale,
}
