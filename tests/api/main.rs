//! Integration tests against the real PostgreSQL (and, where the feature needs it, RabbitMQ).
//! Each test gets its own database; see `support`.

#[macro_use]
mod support;

mod batches;
mod broker_nodes;
mod cli;
mod cli_errors;
mod console;
mod console_browser;
mod console_sign_in;
mod contract;
mod db_failover;
mod dead_letters;
mod dedupe;
mod event_search;
mod floods;
mod forged_envelopes;
mod front_door;
mod health;
mod hostile;
mod migrations;
mod observability;
mod online_rebuild;
mod openapi;
mod ops;
mod overview_charts;
mod partitions;
mod query_plans;
mod read_api;
mod receive;
mod receive_faults;
mod refused_rows;
mod relay;
mod repair;
mod replay_selection;
mod request_limits;
mod resend;
mod retention;
mod roles;
mod shutdown;
mod signatures;
mod startup;
mod status;
mod stuck;
mod subscribers;
mod traces;
mod unpinned_retention;
mod verify;
mod worker;
