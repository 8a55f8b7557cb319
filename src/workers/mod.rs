//! Workers that consume hookgate's queues: the read-model projector and the HTTP notifier.
//! Both run on [`consumer::Consumer`], which owns acknowledgement, retries and dead letters.

mod ack_window;
pub mod consumer;
mod dispose;
pub mod notifier;
pub mod read_model;

pub use dispose::Failure;
