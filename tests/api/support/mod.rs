// Shared by the test binaries; each uses only part of it.
#![allow(dead_code, unused_imports)]

pub mod amqp;
pub mod fixtures;
pub mod proxy;
pub mod sign;
pub mod subscriber;

mod app;

pub use app::{
    assert_error, eventually, spawn_app, spawn_app_with, TestApp, TestOptions, API_TOKEN,
};
