//! The event catalogue (SPEC 3): what an event is, pure functions only, no I/O.

mod describe;
mod family;
pub mod limits;
mod money;
mod resource;
mod status;
mod tables;
mod time;

pub use describe::{describe, Description, Money, ResourceError};
pub use family::{AmountField, Family, TimeSource};
pub use limits::{
    bounded_error, quote, Currency, EventId, EventType, LimitError, ResourceId, RoutingKey,
    StatusToken, MAX_ERROR_BYTES,
};
pub use money::{parse_amount, Amount, MoneyError};
pub use resource::{fits_numeric, read_resource, Resource};
#[cfg(test)]
pub(crate) use status::testing;
pub use status::{applies, is_terminal, normalise_status, rank, OrderKey, StatePoint};
pub use tables::{money_columns, table, MoneyColumn};
pub use time::{format_time, parse_time, parse_time_str, within_stored_years, TimeError};
