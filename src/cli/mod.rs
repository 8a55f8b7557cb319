//! Command-line tools that are not the service itself.

pub mod sign;
