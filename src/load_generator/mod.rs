//! The signed load generator that `hookgate bench` and `benches/` drive, with end-to-end
//! verification.

pub mod events;
pub mod load;
pub mod verify;
