//! How a test's app is set up, and how a test waits for what the app does in the background.

use super::fixtures::INTERLACE_SECRET;
use hookgate::settings::{SourceConfig, SubscriberConfig};
use std::time::Duration;

/// Waits until `check` holds, failing the test after 30 s with `what`.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first entry of the JSON array `list` whose `key` is `value`; there must be one.
pub fn find(list: &serde_json::Value, key: &str, value: &str) -> serde_json::Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .find(|entry| entry[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {list}"))
        .clone()
}

pub struct TestOptions {
    pub interlace_secrets: String,
    pub extra_sources: Vec<SourceConfig>,
    pub subscribers: Vec<SubscriberConfig>,
    pub env: Vec<(&'static str, String)>,
    /// Route the app's database connections through a proxy the test can cut.
    pub database_proxy: bool,
    /// Route the app's broker connection through a proxy the test can cut.
    pub broker_proxy: bool,
    /// More broker nodes after the first, each a proxy to the test broker the test can cut.
    pub spare_broker_nodes: usize,
}

impl TestOptions {
    pub fn through_broker_proxy() -> Self {
        TestOptions {
            broker_proxy: true,
            ..TestOptions::default()
        }
    }

    /// The broker through a proxy, and a second node (another proxy to it) to move to.
    pub fn with_two_broker_nodes() -> Self {
        TestOptions {
            broker_proxy: true,
            spare_broker_nodes: 1,
            ..TestOptions::default()
        }
    }

    pub fn through_database_proxy() -> Self {
        TestOptions {
            database_proxy: true,
            ..TestOptions::default()
        }
    }

    /// Environment variables set for the app.
    pub fn with_env(vars: &[(&'static str, &str)]) -> Self {
        TestOptions::default().and_env(vars)
    }

    /// These options, with `vars` set for the app as well.
    pub fn and_env(mut self, vars: &[(&'static str, &str)]) -> Self {
        self.env
            .extend(vars.iter().map(|&(name, value)| (name, value.to_owned())));
        self
    }

    pub fn with_sources(extra_sources: Vec<SourceConfig>) -> Self {
        TestOptions {
            extra_sources,
            ..TestOptions::default()
        }
    }
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            interlace_secrets: INTERLACE_SECRET.into(),
            extra_sources: Vec::new(),
            subscribers: Vec::new(),
            env: Vec::new(),
            database_proxy: false,
            broker_proxy: false,
            spare_broker_nodes: 0,
        }
    }
}
