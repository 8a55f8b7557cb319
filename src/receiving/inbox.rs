//! The inbox: durable storage of accepted events, with group commit.
//!
//! Each request hands its event to a batcher and waits. The batcher inserts everything that is
//! waiting in one multi-row `INSERT ... ON CONFLICT DO NOTHING` and one commit, then answers each
//! request. Under load a commit covers many requests; at rest a batch is one event, so nothing
//! waits for a timer. Deduplication is the unique constraints' job: two copies of one event,
//! in one batch or in concurrent ones, cannot both be inserted.

pub use crate::{
    settings::InboxSettings,
    store::inbox::{NewEvent, Stored},
};

use crate::{
    catalogue::bounded_error,
    each_alone::each_alone,
    heartbeat::Heartbeat,
    store::{classify, inbox::insert_events, ErrorKind},
    telemetry::traces,
};
use sqlx::PgPool;
use std::{sync::Arc, time::Duration};
use tokio::{
    sync::{mpsc, oneshot, Semaphore},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

#[derive(Debug, Clone, thiserror::Error)]
pub enum InboxError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("inbox is shutting down")]
    Closed,
    #[error("the inbox's queue is full")]
    Full,
}

struct Pending {
    event: NewEvent,
    reply: oneshot::Sender<Result<Stored, InboxError>>,
}

#[derive(Clone)]
pub struct Inbox {
    queue: mpsc::Sender<Pending>,
}

impl Inbox {
    /// The inbox handle requests store through, and the batcher that commits for them; the
    /// batcher is run (and re-run after a failure) by the supervisor.
    pub fn new(pool: PgPool, settings: InboxSettings) -> (Inbox, Arc<Batcher>) {
        // Room for the batches of one more round of commits. A request beyond that would wait
        // for commits (hundreds of milliseconds at saturation), so it is refused at once.
        let (queue, receiver) = mpsc::channel(settings.max_batch * settings.max_in_flight);
        let batcher = Batcher {
            pool,
            settings,
            receiver: tokio::sync::Mutex::new(receiver),
        };
        (Inbox { queue }, Arc::new(batcher))
    }

    /// Stores one event; returns only after the commit (or its failure), or at once with
    /// [`InboxError::Full`] when the queue has no room.
    pub async fn store(&self, event: NewEvent) -> Result<Stored, InboxError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Pending { event, reply })
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => InboxError::Full,
                mpsc::error::TrySendError::Closed(_) => InboxError::Closed,
            })?;
        answer.await.map_err(|_| InboxError::Closed)?
    }
}

/// Collects waiting requests into batches and commits them.
pub struct Batcher {
    pool: PgPool,
    settings: InboxSettings,
    /// Behind a lock so that a restarted batcher takes over the queue of the one that failed.
    receiver: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
}

impl Batcher {
    pub async fn run(self: Arc<Self>, heartbeat: Heartbeat, stop: CancellationToken) {
        let mut receiver = self.receiver.lock().await;
        let commits = Arc::new(Semaphore::new(self.settings.max_in_flight));
        let mut in_flight = JoinSet::new();
        loop {
            heartbeat.beat();
            reap(&mut in_flight);
            // Take a commit slot before collecting, so that requests arriving while every slot
            // is busy join the next batch instead of waiting in many small ones.
            let Ok(permit) = commits.clone().acquire_owned().await else {
                return;
            };
            let mut batch = Vec::with_capacity(self.settings.max_batch);
            tokio::select! {
                received = heartbeat.beating_while(receiver.recv_many(&mut batch, self.settings.max_batch)) => {
                    if received == 0 {
                        // Every handle is gone: the server has shut down and stop follows.
                        stop.cancelled().await;
                        break;
                    }
                }
                _ = stop.cancelled() => break,
            }
            let pool = self.pool.clone();
            let timeout = self.settings.timeout;
            in_flight.spawn(async move {
                commit(&pool, timeout, batch).await;
                drop(permit);
            });
        }
        while let Some(finished) = in_flight.join_next().await {
            report(finished);
        }
    }
}

/// Collects commits that finished, reporting any that panicked.
fn reap(in_flight: &mut JoinSet<()>) {
    while let Some(finished) = in_flight.try_join_next() {
        report(finished);
    }
}

fn report(finished: Result<(), tokio::task::JoinError>) {
    if let Err(error) = finished {
        tracing::error!(%error, "inbox commit task failed; its requests were answered 503");
    }
}

async fn commit(pool: &PgPool, timeout: Duration, batch: Vec<Pending>) {
    // One `store` span for the batch, linked to the trace of each event in it.
    let span = tracing::info_span!("store", events = batch.len());
    traces::link_all(
        &span,
        batch.iter().filter_map(|p| p.event.traceparent.as_ref()),
    );
    let inserted = tokio::time::timeout(timeout, insert(pool, &batch)).instrument(span);
    let outcome = match inserted.await {
        Ok(Ok(results)) => Ok(results),
        Ok(Err(e)) => Err(InboxError::Unavailable(bounded_error(e.to_string()))),
        Err(_) => Err(InboxError::Unavailable("commit timed out".into())),
    };
    match outcome {
        Ok(results) => {
            for (pending, result) in batch.into_iter().zip(results) {
                let _ = pending.reply.send(Ok(result));
            }
        }
        Err(error) => {
            tracing::warn!(%error, events = batch.len(), "inbox commit failed");
            for pending in batch {
                let _ = pending.reply.send(Err(error.clone()));
            }
        }
    }
}

/// Inserts a batch; if the database refuses a row's data (not the connection), each event is
/// inserted alone, so that one bad row cannot fail the requests that share its batch.
async fn insert(pool: &PgPool, batch: &[Pending]) -> Result<Vec<Stored>, sqlx::Error> {
    let events: Vec<&NewEvent> = batch.iter().map(|p| &p.event).collect();
    match insert_events(pool, &events).await {
        Err(refused) if classify(&refused) == ErrorKind::RowLevel => {
            tracing::warn!(error = %refused, events = events.len(), "batch refused, inserting its events one by one");
            let passing = |error: &sqlx::Error| classify(error) != ErrorKind::RowLevel;
            each_alone(&events, |event| insert_alone(pool, event), passing)
                .await
                .into_iter()
                .collect()
        }
        other => other,
    }
}

/// One event; a row the database refuses is stored in its refused form instead (SPEC 2.3a:
/// never a 503 for the row's own data).
async fn insert_alone(pool: &PgPool, event: &NewEvent) -> Result<Stored, sqlx::Error> {
    let stored = match insert_events(pool, &[event]).await {
        Err(refused) if classify(&refused) == ErrorKind::RowLevel => {
            tracing::warn!(event_id = %event.event_id, error = %refused, "row refused; storing the event as unfit");
            insert_events(pool, &[&event.as_refused(&refused)]).await?
        }
        other => other?,
    };
    Ok(stored.into_iter().next().unwrap_or(Stored::Duplicate))
}
