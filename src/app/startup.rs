//! The first lines a starting process logs: what runs, against what, and what is missing.

use crate::settings::Settings;

/// What the schema looked like at start-up: migrations applied now and the latest version.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    pub applied_now: i64,
    pub version: i64,
}

/// Logs the version, the role, the AMQP prefix, the source names and the migrations (`None`
/// when started with `--no-migrate`), and warns about what will refuse requests.
/// `pools` is each PostgreSQL pool's name and size: their sum is the most connections this
/// process opens, which the server's `max_connections` must allow for, times the processes.
pub fn log_start(config: &Settings, role: &str, schema: Option<Schema>, pools: &[(&str, u32)]) {
    let sources: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
    let connection_budget: u32 = pools.iter().map(|(_, size)| size).sum();
    let pools: Vec<String> = pools
        .iter()
        .map(|(n, size)| format!("{n}={size}"))
        .collect();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        role,
        prefix = %config.broker.prefix,
        ?sources,
        migrations_applied = schema.map(|s| s.applied_now),
        schema_version = schema.map(|s| s.version),
        connection_budget,
        pools = %pools.join(" "),
        "starting"
    );
    if config.server.api_tokens.is_empty() {
        tracing::warn!(
            "HOOKGATE_API_TOKEN is not set: changes through the admin API and the console answer 503 unavailable, and with no HOOKGATE_VIEWER_TOKEN either, so do reads"
        );
    }
}
