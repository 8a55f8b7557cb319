// Shared by the test binaries; each uses only part of it.
#![allow(dead_code, unused_imports)]

pub mod amqp;
pub mod browser;
pub mod console;
pub mod faults;
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

pub use app::{spawn_app, spawn_app_with, spawn_app_with_env, TestApp, API_TOKEN};
pub use options::{eventually, find, TestOptions};
pub use webhooks::assert_error;
