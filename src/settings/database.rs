//! PostgreSQL: where it is, how long a request may wait for it, and the pools each role uses.

use super::{env::Env, SettingsError};
use crate::store;
use sqlx::PgPool;
use std::time::Duration;

pub const DEFAULT_DATABASE_URL: &str = "postgres://localhost/hookgate";

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `HOOKGATE_DATABASE_URL`.
    pub url: String,
    /// `HOOKGATE_DATABASE_TIMEOUT_MS`: how long a webhook may wait for the database before it
    /// is answered 503, and how long any pool waits for a connection.
    pub timeout: Duration,
    /// `HOOKGATE_DATABASE_POOL_SIZE`: the main pool (read API, relays, retention, ops).
    pub pool_size: u32,
    /// `HOOKGATE_WORKER_POOL_SIZE`: the `work` role's own pool, so a busy worker never makes a
    /// webhook wait for a connection.
    pub worker_pool_size: u32,
}

impl DatabaseSettings {
    pub(super) fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Self, SettingsError> {
        let size = "a number of connections from 1 to 1000";
        Ok(DatabaseSettings {
            url: env.text_or("HOOKGATE_DATABASE_URL", DEFAULT_DATABASE_URL),
            timeout: env.millis("HOOKGATE_DATABASE_TIMEOUT_MS", 3000)?,
            pool_size: env.bounded("HOOKGATE_DATABASE_POOL_SIZE", 8, 1..=1000, size)?,
            worker_pool_size: env.bounded("HOOKGATE_WORKER_POOL_SIZE", 8, 1..=1000, size)?,
        })
    }

    /// The main pool.
    pub fn pool(&self) -> Result<PgPool, sqlx::Error> {
        self.sized_pool(self.pool_size)
    }

    /// A pool of its own of `size` connections for one role.
    pub fn sized_pool(&self, size: u32) -> Result<PgPool, sqlx::Error> {
        store::sized_pool(&self.url, self.timeout, size)
    }
}
