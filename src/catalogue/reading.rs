//! What reading an event gives: a typed result that can only hold what its case allows, so
//! nothing downstream validates it again.

use super::{Amount, Currency, Family, ResourceId, StatePoint, StatusToken};
use chrono::{DateTime, Utc};

/// One exact money amount found in a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub name: &'static str,
    pub amount: Amount,
    pub currency: Option<Currency>,
}

/// What the catalogue makes of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// Whether the resource's bytes can be stored as `jsonb` too.
    pub storable_as_jsonb: bool,
    pub reading: Reading,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// A known family's event with everything its family needs: it can be projected.
    Valid(ValidEvent),
    /// A known family's event whose resource lacks what the family needs or holds a value
    /// outside the limits. It is still stored and published on `<family>.invalid`, and the
    /// worker dead-letters it. The inbox also stores any event whose row the database refused
    /// this way, with that refusal as the reason.
    Unfit {
        family: Family,
        reason: String,
        ids: Ids,
    },
    /// An event type outside the catalogue: stored and published, never projected.
    Unknown { ids: Ids },
}

/// The ids an event that cannot be projected still carries, where they are readable, so that
/// it can be found by object or account.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ids {
    pub object_id: Option<ResourceId>,
    pub account_id: Option<ResourceId>,
}

/// An event of a known family, read in full.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEvent {
    /// Which object: its family, id, and the account it belongs to when the resource says.
    pub family: Family,
    pub object_id: ResourceId,
    pub account_id: Option<ResourceId>,
    /// What it says of the object, and when.
    pub status: StatusToken,
    pub occurred_at: DateTime<Utc>,
    pub amounts: Vec<Money>,
}

impl Description {
    /// The event, when it can be projected.
    pub fn valid(&self) -> Option<&ValidEvent> {
        self.reading.valid()
    }
}

impl Reading {
    /// The event's family; [`Family::Unknown`] for an event type outside the catalogue.
    pub fn family(&self) -> Family {
        match self {
            Reading::Valid(valid) => valid.family,
            Reading::Unfit { family, .. } => *family,
            Reading::Unknown { .. } => Family::Unknown,
        }
    }

    pub fn valid(&self) -> Option<&ValidEvent> {
        match self {
            Reading::Valid(valid) => Some(valid),
            Reading::Unfit { .. } | Reading::Unknown { .. } => None,
        }
    }
}

impl ValidEvent {
    /// The event as the ordering rule compares it.
    pub fn point<'a>(&'a self, event_id: &'a str) -> StatePoint<'a> {
        StatePoint {
            status: self.status.as_str(),
            occurred_at: self.occurred_at,
            event_id,
        }
    }
}
