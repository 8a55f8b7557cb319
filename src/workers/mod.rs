//! Workers that consume hookgate's queues: the read-model projector and the HTTP notifier.
//! Both run on [`consumer::Consumer`], which owns acknowledgement, retries and dead letters;
//! [`retry_watch`] publishes again a retried message the broker lost on its way back.

mod ack_window;
pub mod consumer;
mod dispose;
pub mod notifier;
pub mod read_model;
pub mod retry_watch;

pub use dispose::Failure;
