//! The PostgreSQL pools of a process, one per use, so that no use can take another's
//! connections: a locked table that holds every read leaves webhooks, relays and readiness
//! their own.

use super::Roles;
use crate::{
    settings::{DatabaseSettings, PoolRole, Settings},
    store,
};
use sqlx::PgPool;

/// A pool for `role` of at most `size` connections.
pub fn pool(database: &DatabaseSettings, role: PoolRole, size: u32) -> Result<PgPool, sqlx::Error> {
    Ok(store::pool(
        database.connect_options(role)?,
        size,
        database.timeout,
    ))
}

/// The pool a command-line operation uses: one connection holds its job's claim, one reads
/// pages, one writes.
pub fn operations_pool(database: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    pool(database, PoolRole::Operations, 3)
}

/// Every pool a running process has.
pub struct Pools {
    /// Storing webhooks and the receiving roles' readiness (`serve`, `run`).
    pub inbox: Option<PgPool>,
    /// API and console reads.
    pub read: PgPool,
    /// Relays, retention, admin changes, migrations.
    pub background: PgPool,
    /// The read-model worker and the notifiers (`work`, `run`).
    pub worker: Option<PgPool>,
    /// The one connection `/metrics` reads its figures on.
    pub scrape: PgPool,
}

impl Pools {
    pub fn new(config: &Settings, roles: Roles) -> Result<Pools, sqlx::Error> {
        let database = &config.database;
        let inbox_size = config.server.inbox.max_in_flight as u32;
        Ok(Pools {
            inbox: match roles.receive {
                true => Some(pool(database, PoolRole::Inbox, inbox_size)?),
                false => None,
            },
            read: pool(database, PoolRole::Read, database.read_pool_size)?,
            background: pool(database, PoolRole::Background, database.pool_size)?,
            worker: match roles.work {
                true => Some(pool(
                    database,
                    PoolRole::Background,
                    database.worker_pool_size,
                )?),
                false => None,
            },
            scrape: pool(database, PoolRole::Read, 1)?,
        })
    }

    /// The connections this process may open at most, pool by pool, for the log at start:
    /// what `max_connections` on the server must allow for, times the number of processes.
    pub fn budget(&self) -> Vec<(&'static str, u32)> {
        let size = |pool: &PgPool| pool.options().get_max_connections();
        let mut budget = Vec::new();
        if let Some(inbox) = &self.inbox {
            budget.push(("inbox", size(inbox)));
        }
        budget.push(("read", size(&self.read)));
        budget.push(("background", size(&self.background)));
        if let Some(worker) = &self.worker {
            budget.push(("worker", size(worker)));
        }
        budget.push(("scrape", size(&self.scrape)));
        budget
    }
}
