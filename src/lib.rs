//! hookgate: verifies, deduplicates, stores and relays signed payment-platform webhooks.

pub mod app;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod db;
pub mod http;
pub mod receiving;
pub mod telemetry;
