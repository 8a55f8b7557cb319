//! RabbitMQ: names, topology and the one connection each process keeps.

mod broker;
mod names;
mod topology;

pub use broker::Broker;
pub use names::{Names, RetryTier};
pub use topology::Topology;
