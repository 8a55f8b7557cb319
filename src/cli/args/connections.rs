//! The connection flags every command takes, and the settings they make with the environment.

use crate::settings::{Settings, SettingsError};
use clap::Args;

/// Where hookgate connects, as flags that override (or stand in for) the environment.
#[derive(Args)]
#[command(next_help_heading = "Connections")]
pub struct Connections {
    /// PostgreSQL [default: postgres://localhost/hookgate].
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "HOOKGATE_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// RabbitMQ, one URL or the cluster's node URLs comma-separated
    /// [default: amqp://guest:guest@127.0.0.1:5672/%2f].
    #[arg(
        long,
        global = true,
        value_name = "URLS",
        env = "HOOKGATE_AMQP_URL",
        hide_env_values = true
    )]
    pub amqp_url: Option<String>,
    /// The prefix of every exchange and queue name [default: hookgate].
    #[arg(
        long,
        global = true,
        value_name = "PREFIX",
        env = "HOOKGATE_AMQP_PREFIX"
    )]
    pub amqp_prefix: Option<String>,
    /// A TOML file with sources and subscribers.
    #[arg(long, global = true, value_name = "PATH", env = "HOOKGATE_CONFIG")]
    pub config: Option<String>,
}

impl Connections {
    /// The settings, with these flags (which clap also fills from their variables) over the
    /// environment `env` looks up.
    pub fn settings(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let flags = [
            ("HOOKGATE_DATABASE_URL", &self.database_url),
            ("HOOKGATE_AMQP_URL", &self.amqp_url),
            ("HOOKGATE_AMQP_PREFIX", &self.amqp_prefix),
            ("HOOKGATE_CONFIG", &self.config),
        ];
        Settings::from_lookup(|name| {
            flags
                .iter()
                .find(|(variable, _)| *variable == name)
                .and_then(|(_, value)| (*value).clone())
                .or_else(|| env(name))
        })
    }
}
