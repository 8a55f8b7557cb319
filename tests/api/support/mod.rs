pub mod fixtures;
pub mod proxy;
pub mod sign;

mod app;

pub use app::{spawn_app, spawn_app_with, TestApp, TestOptions};
