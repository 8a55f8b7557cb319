//! The event catalogue (SPEC 3): what an event is, pure functions only, no I/O.

mod describe;
mod facts;
mod family;
pub mod limits;
mod money;
mod personal_data;
mod reading;
mod resource;
mod routing;
mod status;
mod stuck;
mod time;
mod trace_parent;

pub use describe::{describe, ResourceError};
pub use facts::{FamilyFacts, MoneyField, TimeSource};
pub use family::Family;
pub use limits::{
    bounded_error, quote, Currency, EventId, EventType, LimitError, ResourceId, StatusToken,
    MAX_ERROR_BYTES,
};
pub use money::{parse_amount, Amount, MoneyError};
pub use personal_data::mask_personal_data;
pub use reading::{Description, Ids, Money, Reading, ValidEvent};
pub use resource::{fits_numeric, read_resource, Resource};
pub use routing::RoutingKey;
#[cfg(test)]
pub(crate) use status::testing;
pub use status::{applies, normalise_status, rank, OrderKey, StatePoint};
pub use stuck::{parse_threshold, Waiting, DEFAULT_STUCK_AFTER};
pub use time::{
    format_time, parse_age, parse_time, parse_time_str, within_stored_years, TimeError,
};
pub use trace_parent::{TraceParent, TRACEPARENT};
