//! Long operations run one of each kind at a time, whichever process starts them (the CLI, the
//! admin API of any pod): a second gets [`OpsError::Busy`] (409 over the API) instead of
//! doubling the load or racing the first. The claim is a PostgreSQL session lock on a
//! connection the run holds to its end and then closes, so a run that dies releases it with
//! its session. On that connection the run also keeps its progress in `operation_runs` for
//! `hookgate status`, once a second.

use super::OpsError;
use crate::store::jobs::{self, OperationRun};
use sqlx::{pool::PoolConnection, PgPool, Postgres};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Verify,
    Rebuild,
}

impl JobKind {
    const ALL: [JobKind; 2] = [JobKind::Verify, JobKind::Rebuild];

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

/// A run's claim and progress. [`Job::finish`] ends it with its outcome; dropped instead, the
/// run counts as failed.
pub struct Job {
    done: Arc<[AtomicU64; 2]>,
    end: Option<oneshot::Sender<Option<String>>>,
    reporter: tokio::task::JoinHandle<()>,
}

/// Claims `kind` for the caller, or fails with [`OpsError::Busy`] while another runs.
pub async fn start(pool: &PgPool, kind: JobKind) -> Result<Job, OpsError> {
    let mut session = pool.acquire().await?;
    // Closed, not returned to the pool, when the run ends: the lock ends with the session.
    session.close_on_drop();
    if !jobs::try_lock(&mut session, kind.lock_key()).await? {
        return Err(OpsError::Busy(kind.name()));
    }
    jobs::started(&mut session, kind.name()).await?;
    let done: Arc<[AtomicU64; 2]> = Arc::default();
    let (end, ended) = oneshot::channel();
    let reporter = tokio::spawn(report(session, kind, done.clone(), ended));
    Ok(Job {
        done,
        end: Some(end),
        reporter,
    })
}

/// Writes the run's progress once a second until it ends, then its outcome.
async fn report(
    mut session: PoolConnection<Postgres>,
    kind: JobKind,
    done: Arc<[AtomicU64; 2]>,
    mut ended: oneshot::Receiver<Option<String>>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let figures = done.each_ref().map(|n| n.load(Ordering::Relaxed) as i64);
                let _ = jobs::progressed(&mut session, kind.name(), figures.into()).await;
            }
            // Sent, or dropped with the job: either way the run is over.
            outcome = &mut ended => {
                let error = outcome.unwrap_or_else(|_| Some("the run was abandoned".into()));
                let _ = jobs::finished(&mut session, kind.name(), error.as_deref()).await;
                // Should this fail, the lock still ends with the session, which is closed.
                let _ = jobs::unlock(&mut session, kind.lock_key()).await;
                return;
            }
        }
    }
}

impl Job {
    /// A progress function that records (done, total) for the run and passes it on to
    /// `progress`.
    pub fn reporting<'a>(
        &'a self,
        mut progress: impl FnMut(u64, u64) + 'a,
    ) -> impl FnMut(u64, u64) + 'a {
        move |done, total| {
            self.done[0].store(done, Ordering::Relaxed);
            self.done[1].store(total, Ordering::Relaxed);
            progress(done, total)
        }
    }

    /// Ends the run with its outcome, recorded for `status` (and the alert on failed runs),
    /// and waits until its claim is released: a run of the kind may start as soon as it
    /// returns.
    pub async fn finish<T>(mut self, outcome: &Result<T, OpsError>) {
        if let Some(end) = self.end.take() {
            let _ = end.send(outcome.as_ref().err().map(ToString::to_string));
        }
        let _ = (&mut self.reporter).await;
    }
}

/// Every run recorded, each saying whether it is still going.
pub async fn runs(pool: &PgPool) -> Result<Vec<OperationRun>, sqlx::Error> {
    let locks = JobKind::ALL.map(|kind| (kind.name(), kind.lock_key()));
    jobs::runs(pool, &locks).await
}
