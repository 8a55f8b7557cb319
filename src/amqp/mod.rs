//! RabbitMQ: names, topology and the one connection each process keeps.

mod broker;
mod names;
mod publish;
mod topology;

pub use broker::{Broker, BrokerState};
pub use names::{Names, RetryTier};
pub use publish::{
    header_number, header_text, inspect_queue, publish_confirmed, publish_mandatory, text_value,
    value_text, Outcome,
};
pub use topology::Topology;
