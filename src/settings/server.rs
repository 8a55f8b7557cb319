//! The HTTP server and the inbox it stores webhooks in.

use super::{env::Env, Secret, SettingsError};
use std::time::Duration;
use tokio::net::TcpListener;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `HOOKGATE_LISTEN`.
    pub listen: String,
    /// `HOOKGATE_MAX_BODY_BYTES`: larger webhooks get 413.
    pub max_body_bytes: usize,
    /// `HOOKGATE_API_TOKEN`: the read and admin API answer 503 without one.
    pub api_token: Option<Secret>,
    pub inbox: InboxSettings,
}

/// Group commit: how the receiver batches webhooks into inbox inserts.
#[derive(Debug, Clone, Copy)]
pub struct InboxSettings {
    /// `HOOKGATE_INBOX_MAX_BATCH`: events per insert at most.
    pub max_batch: usize,
    /// `HOOKGATE_INBOX_COMMITS`: commits under way at once (and the inbox pool's size); more
    /// waiting requests make the next batches larger.
    pub max_in_flight: usize,
    /// A commit that has not finished by then is answered 503 (`HOOKGATE_DATABASE_TIMEOUT_MS`).
    pub timeout: Duration,
}

impl Default for InboxSettings {
    fn default() -> Self {
        InboxSettings {
            max_batch: 256,
            max_in_flight: 4,
            timeout: Duration::from_secs(3),
        }
    }
}

impl ServerSettings {
    pub(super) fn read(
        env: &Env<impl Fn(&str) -> Option<String>>,
        database_timeout: Duration,
    ) -> Result<Self, SettingsError> {
        let defaults = InboxSettings::default();
        Ok(ServerSettings {
            listen: env.text_or("HOOKGATE_LISTEN", DEFAULT_LISTEN),
            max_body_bytes: env.number("HOOKGATE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)?,
            api_token: env.text("HOOKGATE_API_TOKEN").map(Secret::new),
            inbox: InboxSettings {
                max_batch: env.bounded(
                    "HOOKGATE_INBOX_MAX_BATCH",
                    defaults.max_batch,
                    1..=10_000,
                    "a number of events from 1 to 10000",
                )?,
                max_in_flight: env.bounded(
                    "HOOKGATE_INBOX_COMMITS",
                    defaults.max_in_flight,
                    1..=64,
                    "a number of commits from 1 to 64",
                )?,
                timeout: database_timeout,
            },
        })
    }

    /// The bound listener (port 0 picks a free port).
    pub async fn listener(&self) -> std::io::Result<TcpListener> {
        TcpListener::bind(&self.listen).await
    }
}
