//! Long operations run one of each kind at a time, whichever process starts them (the CLI, the
//! admin API of any pod): a second gets [`OpsError::Busy`] (409 over the API) instead of
//! doubling the load or racing the first. The claim is a PostgreSQL session lock on a
//! connection the job holds for its whole run and closes at the end, so a job that dies
//! releases it with its session.

use super::OpsError;
use crate::store::jobs;
use sqlx::{pool::PoolConnection, PgPool, Postgres};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Verify,
    Rebuild,
}

impl JobKind {
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Verify => "verify",
            JobKind::Rebuild => "rebuild",
        }
    }

    /// Apart from every other advisory lock key hookgate takes.
    fn lock_key(self) -> i64 {
        0x686f_6f6b_6a6f_6200
            + match self {
                JobKind::Verify => 1,
                JobKind::Rebuild => 2,
            }
    }
}

/// A running job's claim; dropping it ends the claim.
pub struct Job {
    _session: PoolConnection<Postgres>,
}

/// Claims `kind` for the caller, or fails with [`OpsError::Busy`] while another runs.
pub async fn start(pool: &PgPool, kind: JobKind) -> Result<Job, OpsError> {
    let mut session = pool.acquire().await?;
    // Closed, not returned to the pool, when the job ends: the lock ends with the session.
    session.close_on_drop();
    if jobs::try_lock(&mut session, kind.lock_key()).await? {
        Ok(Job { _session: session })
    } else {
        Err(OpsError::Busy(kind.name()))
    }
}
