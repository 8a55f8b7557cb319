//! `hookgate bench`: a signed load generator with end-to-end verification.

pub mod events;
pub mod load;
pub mod verify;
