//! hookgate: verifies, deduplicates, stores and relays signed payment-platform webhooks.

pub mod amqp;
pub mod app;
pub mod catalogue;
pub mod cli;
pub mod console;
pub mod each_alone;
pub mod fuzzing;
pub mod heartbeat;
pub mod http;
pub mod load_generator;
pub mod ops;
pub mod projection;
pub mod receiving;
pub mod relay;
pub mod settings;
pub mod signing;
pub mod store;
pub mod supervisor;
pub mod telemetry;
pub mod wire;
pub mod workers;
