//! Command-line tools that are not the service itself.

pub mod bench;
pub mod ops;
pub mod output;
pub mod sign;
