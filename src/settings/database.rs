//! PostgreSQL: where it is, how long each use of it may wait, and the size of each role's pool.
//! Settings hand out connect options; `app` and the CLI build the pools from them.

use super::{env::Env, SettingsError};
use sqlx::postgres::PgConnectOptions;
use std::{str::FromStr, time::Duration};

pub const DEFAULT_DATABASE_URL: &str = "postgres://localhost/hookgate";

/// What a pool is for: each has its own connections and its own `statement_timeout`, so a slow
/// read or operation never holds the connections that store webhooks or move events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolRole {
    /// Storing webhooks, and the receiving roles' readiness.
    Inbox,
    /// API and console reads.
    Read,
    /// Relays, workers, notifiers, retention and the admin API's changes.
    Background,
    /// The command line's operations (replay, rebuild, verify, DLQ): work in pages, each
    /// statement bounded all the same.
    Operations,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `HOOKGATE_DATABASE_URL`.
    pub url: String,
    /// `HOOKGATE_DATABASE_TIMEOUT_MS`: how long a webhook may wait for the database before it
    /// is answered 503, how long any pool waits for a connection (or a new one to connect),
    /// and the inbox pool's `statement_timeout`.
    pub timeout: Duration,
    /// `HOOKGATE_READ_TIMEOUT_MS`: how long an API or console read may take, pool wait and
    /// every query included, before it is answered 503.
    pub read_timeout: Duration,
    /// `HOOKGATE_STATEMENT_TIMEOUT_MS`: the longest statement of the background roles; a call
    /// still unanswered a little after it is abandoned with its connection (a failover).
    pub statement_timeout: Duration,
    /// `HOOKGATE_DATABASE_POOL_SIZE`: the background pool (relays, retention, admin changes).
    pub pool_size: u32,
    /// `HOOKGATE_READ_POOL_SIZE`: the read pool (API and console).
    pub read_pool_size: u32,
    /// `HOOKGATE_WORKER_POOL_SIZE`: the `work` role's own pool, so a busy worker never makes a
    /// webhook wait for a connection.
    pub worker_pool_size: u32,
}

/// How long a statement of an operation may run: operations work in pages, so one page that
/// takes longer is stuck or blocked, not busy.
const OPERATIONS_STATEMENT_TIMEOUT: Duration = Duration::from_secs(120);

/// How much longer than the read deadline the server lets a read's statement run. The request
/// gives up first, always (503 with `Retry-After`, counted); the server's timeout is the
/// backstop that ends the abandoned statement. Equal, the two raced: under load the server
/// could cancel first and the read failed as a database error instead.
const READ_STATEMENT_MARGIN: Duration = Duration::from_secs(1);

/// A transaction left idle this long is ended by the server: its client is gone or stuck, and
/// its locks must not outlive it.
const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

impl DatabaseSettings {
    pub(super) fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Self, SettingsError> {
        let size = "a number of connections from 1 to 1000";
        Ok(DatabaseSettings {
            url: env.text_or("HOOKGATE_DATABASE_URL", DEFAULT_DATABASE_URL),
            timeout: env.millis("HOOKGATE_DATABASE_TIMEOUT_MS", 3000)?,
            read_timeout: env.positive_millis("HOOKGATE_READ_TIMEOUT_MS", 5000)?,
            statement_timeout: env.positive_millis("HOOKGATE_STATEMENT_TIMEOUT_MS", 10_000)?,
            pool_size: env.bounded("HOOKGATE_DATABASE_POOL_SIZE", 8, 1..=1000, size)?,
            read_pool_size: env.bounded("HOOKGATE_READ_POOL_SIZE", 4, 1..=1000, size)?,
            worker_pool_size: env.bounded("HOOKGATE_WORKER_POOL_SIZE", 8, 1..=1000, size)?,
        })
    }

    /// The longest statement a pool of `role` runs.
    pub fn statement_timeout(&self, role: PoolRole) -> Duration {
        match role {
            PoolRole::Inbox => self.timeout,
            PoolRole::Read => self.read_timeout + READ_STATEMENT_MARGIN,
            PoolRole::Background => self.statement_timeout,
            PoolRole::Operations => OPERATIONS_STATEMENT_TIMEOUT,
        }
    }

    /// How long a background task's database call may go unanswered before it is abandoned:
    /// its longest statement, and time for the answer to travel.
    pub fn call_deadline(&self) -> Duration {
        self.statement_timeout + Duration::from_secs(2)
    }

    /// How to connect for `role`: the server ends a statement past the role's timeout and a
    /// transaction left idle, and probes a silent client, so nothing it holds outlives us.
    pub fn connect_options(&self, role: PoolRole) -> Result<PgConnectOptions, sqlx::Error> {
        let millis = |d: Duration| d.as_millis().to_string();
        Ok(PgConnectOptions::from_str(&self.url)?.options([
            ("statement_timeout", millis(self.statement_timeout(role))),
            (
                "idle_in_transaction_session_timeout",
                millis(IDLE_IN_TRANSACTION_TIMEOUT),
            ),
            ("tcp_keepalives_idle", "5".into()),
            ("tcp_keepalives_interval", "2".into()),
            ("tcp_keepalives_count", "3".into()),
        ]))
    }
}
