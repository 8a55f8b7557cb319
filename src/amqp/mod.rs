//! RabbitMQ: names, topology and the one connection each process keeps.

mod broker;
mod deadline;
mod names;
mod publish;
mod topology;

pub use broker::{Broker, BrokerState};
pub use names::{Names, RetryTier};
pub use publish::{confirmed, inspect_queue, publish_confirmed, publish_mandatory, Outcome};
pub use topology::Topology;
