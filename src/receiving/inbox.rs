//! The inbox: durable storage of accepted events, with group commit.
//!
//! Each request hands its event to a batcher and waits. The batcher inserts everything that is
//! waiting in one multi-row `INSERT ... ON CONFLICT DO NOTHING` and one commit, then answers each
//! request. Under load a commit covers many requests; at rest a batch is one event, so nothing
//! waits for a timer. Deduplication is the unique constraints' job: two copies of one event,
//! in one batch or in concurrent ones, cannot both be inserted.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::sync::{mpsc, oneshot, Semaphore};

/// An event ready to be stored.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    pub family: String,
    pub status: Option<String>,
    pub object_id: Option<String>,
    pub account_id: Option<String>,
    pub routing_key: String,
    pub occurred_at: Option<DateTime<Utc>>,
    pub envelope_time: Option<DateTime<Utc>>,
    pub resource_raw: Vec<u8>,
    /// Whether the raw bytes can also be stored as JSONB (JSON, and no `\u0000` escape).
    pub resource_is_json: bool,
    pub content_hash: Vec<u8>,
    pub parse_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Committed as a new row; `seq` is its position in order of receipt.
    New {
        seq: i64,
    },
    Duplicate,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum InboxError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("inbox is shutting down")]
    Closed,
}

struct Pending {
    event: NewEvent,
    reply: oneshot::Sender<Result<Stored, InboxError>>,
}

#[derive(Clone)]
pub struct Inbox {
    queue: mpsc::Sender<Pending>,
}

#[derive(Debug, Clone, Copy)]
pub struct InboxSettings {
    pub max_batch: usize,
    /// Commits under way at once; more waiting requests make the next batches larger.
    pub max_in_flight: usize,
    /// A commit that has not finished by then is answered as unavailable.
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

impl Inbox {
    /// Starts the batcher; it stops once every `Inbox` handle is dropped and the queue is empty.
    pub fn start(pool: PgPool, settings: InboxSettings) -> Inbox {
        let (queue, receiver) = mpsc::channel(settings.max_batch * settings.max_in_flight * 4);
        tokio::spawn(run_batcher(pool, settings, receiver));
        Inbox { queue }
    }

    /// Stores one event; returns only after the commit (or its failure).
    pub async fn store(&self, event: NewEvent) -> Result<Stored, InboxError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { event, reply })
            .await
            .map_err(|_| InboxError::Closed)?;
        answer.await.map_err(|_| InboxError::Closed)?
    }
}

async fn run_batcher(pool: PgPool, settings: InboxSettings, mut receiver: mpsc::Receiver<Pending>) {
    let commits = Arc::new(Semaphore::new(settings.max_in_flight));
    loop {
        // Take a commit slot before collecting, so that requests arriving while every slot is
        // busy join the next batch instead of waiting in many small ones.
        let permit = commits.clone().acquire_owned().await.expect("never closed");
        let mut batch = Vec::with_capacity(settings.max_batch);
        if receiver.recv_many(&mut batch, settings.max_batch).await == 0 {
            break;
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            let outcome = tokio::time::timeout(settings.timeout, insert(&pool, &batch)).await;
            let outcome = match outcome {
                Ok(Ok(results)) => Ok(results),
                Ok(Err(e)) => Err(InboxError::Unavailable(e.to_string())),
                Err(_) => Err(InboxError::Unavailable("commit timed out".into())),
            };
            if let Err(error) = &outcome {
                tracing::warn!(%error, events = batch.len(), "inbox commit failed");
            }
            match outcome {
                Ok(results) => {
                    for (pending, result) in batch.into_iter().zip(results) {
                        let _ = pending.reply.send(Ok(result));
                    }
                }
                Err(error) => {
                    for pending in batch {
                        let _ = pending.reply.send(Err(error.clone()));
                    }
                }
            }
            drop(permit);
        });
    }
}

/// Inserts a batch; if the database refuses its data (not its connection), each event is tried
/// alone so that one bad row cannot fail the requests that share its batch.
async fn insert(pool: &PgPool, batch: &[Pending]) -> Result<Vec<Stored>, sqlx::Error> {
    let events: Vec<&NewEvent> = batch.iter().map(|p| &p.event).collect();
    match insert_batch(pool, &events).await {
        Err(sqlx::Error::Database(refused)) if events.len() > 1 => {
            tracing::warn!(error = %refused, "batch refused, inserting its events one by one");
            let mut results = Vec::with_capacity(events.len());
            for event in events {
                results.push(insert_batch(pool, &[event]).await?.remove(0));
            }
            Ok(results)
        }
        other => other,
    }
}

async fn insert_batch(pool: &PgPool, events: &[&NewEvent]) -> Result<Vec<Stored>, sqlx::Error> {
    // Columns are bound as borrowed slices: nothing is copied to build the statement.
    let column = |f: fn(&NewEvent) -> &str| events.iter().map(|e| f(e)).collect::<Vec<_>>();
    let optional =
        |f: fn(&NewEvent) -> Option<&str>| events.iter().map(|e| f(e)).collect::<Vec<_>>();
    let bytes = |f: fn(&NewEvent) -> &[u8]| events.iter().map(|e| f(e)).collect::<Vec<_>>();
    let inserted: Vec<(i64, String, String)> = sqlx::query_as(
        r#"
        INSERT INTO inbox_events (source, event_id, event_type, family, status, object_id,
                                  account_id, routing_key, occurred_at, resource_raw, resource,
                                  content_hash, parse_error, envelope_time)
        SELECT source, event_id, event_type, family, status, object_id, account_id, routing_key,
               occurred_at, resource_raw,
               CASE WHEN is_json THEN convert_from(resource_raw, 'UTF8')::jsonb END,
               content_hash, parse_error, envelope_time
        FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                    $7::text[], $8::text[], $9::timestamptz[], $10::bytea[], $11::bool[],
                    $12::bytea[], $13::text[], $14::timestamptz[])
             WITH ORDINALITY AS batch(source, event_id, event_type, family, status, object_id,
                                      account_id, routing_key, occurred_at, resource_raw,
                                      is_json, content_hash, parse_error, envelope_time,
                                      position)
        ORDER BY position
        ON CONFLICT DO NOTHING
        RETURNING seq, source, event_id
        "#,
    )
    .bind(column(|e| &e.source))
    .bind(column(|e| &e.event_id))
    .bind(column(|e| &e.event_type))
    .bind(column(|e| &e.family))
    .bind(optional(|e| e.status.as_deref()))
    .bind(optional(|e| e.object_id.as_deref()))
    .bind(optional(|e| e.account_id.as_deref()))
    .bind(column(|e| &e.routing_key))
    .bind(events.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
    .bind(bytes(|e| &e.resource_raw))
    .bind(
        events
            .iter()
            .map(|e| e.resource_is_json)
            .collect::<Vec<_>>(),
    )
    .bind(bytes(|e| &e.content_hash))
    .bind(optional(|e| e.parse_error.as_deref()))
    .bind(events.iter().map(|e| e.envelope_time).collect::<Vec<_>>())
    .fetch_all(pool)
    .await?;
    let mut new: HashMap<(String, String), i64> = inserted
        .into_iter()
        .map(|(seq, source, event_id)| ((source, event_id), seq))
        .collect();
    // A copy of an event in the same batch finds its key already taken by the first one.
    Ok(events
        .iter()
        .map(
            |e| match new.remove(&(e.source.clone(), e.event_id.clone())) {
                Some(seq) => Stored::New { seq },
                None => Stored::Duplicate,
            },
        )
        .collect())
}
