//! Operations: dead letters, archive replay and rebuild, status, retention. Those that change
//! the pipeline are called through one front door, [`service::Operations`], by the CLI, the
//! admin API and the console alike.

pub mod archive;
pub mod dlq;
pub mod jobs;
pub mod minute_figures;
mod object_pages;
pub mod rebuild;
pub mod resend;
pub mod retention;
pub mod service;
pub mod status;
pub mod stuck;
pub mod verify;

use crate::catalogue::format_time;
use chrono::{DateTime, Utc};

/// Why an operation stopped. Each is safe to run again: what it finished stays done.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker did not answer")]
    BrokerUnavailable,
    /// Another run of the same long operation is under way, in this process or another.
    #[error("another {0} is running; try again once it has finished")]
    Busy(&'static str),
    /// The message of an event or a notification, by its id.
    #[error("the broker did not confirm message {0}; run the operation again")]
    NotConfirmed(String),
    /// A selection that cannot be what was meant: nothing was done.
    #[error("{0}")]
    Selection(String),
}

impl OpsError {
    /// Refuses a time range that ends before it starts: it would select nothing. `names` are
    /// what the caller calls its two ends (`--since`/`--until` on the command line).
    fn unless_ordered(
        since: &DateTime<Utc>,
        until: &DateTime<Utc>,
        names: [&str; 2],
    ) -> Result<(), OpsError> {
        if since < until {
            return Ok(());
        }
        let [since_name, until_name] = names;
        Err(OpsError::Selection(format!(
            "{since_name} {} is not before {until_name} {}: the range is empty",
            format_time(since),
            format_time(until)
        )))
    }
}

/// What a replay did, or with `dry_run` would do: `replayed` sent back, `skipped` left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub replayed: u64,
    pub skipped: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}
