//! Integration tests against the real PostgreSQL (and, where the feature needs it, RabbitMQ).
//! Each test gets its own database; see `support`.

mod support;

mod cli;
mod health;
mod hostile;
mod ops;
mod receive;
mod receive_faults;
mod relay;
mod verify;
mod worker;
