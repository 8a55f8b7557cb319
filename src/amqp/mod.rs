//! RabbitMQ: names, topology and the one connection each process keeps.

mod broker;
mod deadline;
mod inspect;
mod names;
mod publish;
mod topology;

pub use broker::{Broker, ConnectionId, Link};
pub use deadline::answered;
pub use inspect::{connect_once, is_not_found};
pub use names::Names;
pub use publish::{confirmed, inspect_queue, publish_confirmed, publish_mandatory, Outcome};
pub use topology::{declare_quorum, Topology};
