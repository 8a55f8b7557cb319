// Shared by the test binaries; each uses only part of it.
#![allow(dead_code, unused_imports, unused_macros)]

/// A CTE for statements that store inbox rows directly in a CTE named `stored` (returning
/// `seq, source, event_id, event_type, content_hash`): their deduplication keys, as the
/// receiver's statement writes them. Ends with the comma before the next CTE.
macro_rules! dedup_keys_of_stored {
    () => {
        "keyed AS (INSERT INTO inbox_dedup (source, event_id, type_key, content_hash, seq)
                   SELECT source, event_id, upper(event_type), content_hash, seq FROM stored),"
    };
}

pub mod amqp;
pub mod browser;
pub mod console;
pub mod fixtures;
pub mod inbox;
pub mod json_schema;
pub mod proxy;
mod read_api;
pub mod sign;
pub mod subscriber;

mod app;
mod options;
mod webhooks;

pub use app::{spawn_app, spawn_app_with, TestApp, API_TOKEN};
pub use options::{eventually, TestOptions};
pub use webhooks::assert_error;
