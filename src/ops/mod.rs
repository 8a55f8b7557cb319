//! Operations: dead letters, archive replay and rebuild, status, retention. Shared by the CLI
//! and the admin HTTP routes.

pub mod archive;
pub mod dlq;
pub mod retention;
pub mod status;
pub mod verify;

/// What a replay did: `replayed` messages sent back, `skipped` ones looked at and left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub replayed: u64,
    pub skipped: u64,
}
