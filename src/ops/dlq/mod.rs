//! The dead-letter queue: list, show, replay, purge. Listing and replay also cover the inbox
//! rows the relay parked because their message cannot be built within AMQP's limits: they are
//! listed beside the dead letters, under the queue `relay (parked)`, and a replay hands them
//! back to the relay once whatever made them unpublishable is fixed.
//!
//! Listing and showing read the DLQ index in PostgreSQL (`store::dead_letter_index`), which
//! the workers write as they dead-letter: they never touch the queue, so looking changes
//! nothing (no delivery counts raised, nothing a delivery limit could drop). Only replay and
//! purge take messages out of the queue. Replay forgets a selected message in the index, sends
//! it back to the queue it failed in, waits for the confirm and only then acknowledges it in
//! the DLQ: a replay that stops half-way is finished by running it again (`dlq reindex` lists
//! a copy whose row went before a crash), and the worker's exactly-once claim makes a message
//! that ended up in both places harmless. Messages it passes over are published again at the
//! DLQ's tail and acknowledged, never requeued.

mod queue;
mod restore;
mod select;

pub use queue::{reindex, Reindexed};
pub use select::Selector;

use super::{Counts, OpsError};
use crate::{
    amqp::{inspect_queue, Names, Topology},
    catalogue::{format_time, quote},
    store::{
        dlq_index::{self, DeadLetterFacts, LetterKey},
        inbox,
        parked_events::{self, ParkedSelection},
    },
    wire::read_dead_letter,
};
use lapin::{
    options::{BasicAckOptions, QueuePurgeOptions},
    Channel,
};
use queue::{send_back, take_one, to_tail};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub event_id: String,
    pub source: Option<String>,
    pub event_type: Option<String>,
    pub family: Option<String>,
    pub queue: Option<String>,
    pub attempts: i64,
    pub error: Option<String>,
    pub failed_at: Option<String>,
}

/// A page of dead letters and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub letters: Vec<DeadLetter>,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    #[serde(flatten)]
    pub summary: DeadLetter,
    pub headers: serde_json::Map<String, Value>,
    pub body: Value,
}

fn summary(row: &DeadLetterFacts) -> DeadLetter {
    DeadLetter {
        event_id: row.event_id.clone(),
        source: row.source.clone(),
        event_type: row.event_type.clone(),
        family: row.family.clone(),
        queue: Some(row.queue.clone()),
        attempts: row.attempts,
        error: Some(row.error.clone()),
        failed_at: Some(format_time(&row.failed_at)),
    }
}

/// Messages in the DLQ now.
pub async fn depth(channel: &Channel, names: &Names) -> lapin::Result<u32> {
    Ok(inspect_queue(channel, &names.dlq()).await?.message_count())
}

/// Up to `limit` dead letters, oldest failure first, then the parked events; with the total.
pub async fn list(pool: &PgPool, limit: usize) -> Result<Listing, OpsError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let (rows, indexed) = dlq_index::list(pool, limit).await?;
    let mut letters: Vec<DeadLetter> = rows.iter().map(summary).collect();
    let parked_total = parked_events::count_parked(pool, &ParkedSelection::all()).await?;
    let room = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(letters.len());
    letters.extend(parked_letters(pool, room).await?);
    Ok(Listing {
        letters,
        total: u64::try_from(indexed).unwrap_or(0) + parked_total,
    })
}

/// The event's latest dead letter, with its headers and body; of `source` when given, which
/// an id that two sources' events share needs.
pub async fn show(
    pool: &PgPool,
    event_id: &str,
    source: Option<&str>,
) -> Result<Option<Detail>, OpsError> {
    if source.is_none() {
        select::refuse_shared(pool, std::slice::from_ref(&event_id.to_owned())).await?;
    }
    Ok(dlq_index::latest(pool, event_id, source)
        .await?
        .map(|row| Detail {
            summary: summary(&row),
            body: serde_json::from_slice(&row.body)
                .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(&row.body).into_owned())),
            headers: row.headers,
        }))
}

/// What a replay of a selection will take: the dead letters by key, the parked events, and
/// the figures a dry run reports.
pub struct Plan {
    wanted: HashSet<LetterKey>,
    parked: ParkedSelection,
    pub counts: Counts,
}

impl Plan {
    /// How many of the planned messages are in the DLQ (the rest are parked events).
    pub fn in_queue(&self) -> usize {
        self.wanted.len()
    }
}

/// Plans the replay of `selector`'s dead letters and parked events from the index, touching
/// nothing. Unknown event ids and a selection that matches nothing are refused. The plan's
/// counts, marked as a dry run, are exactly what [`replay`] will report unless dead letters
/// come or go meanwhile.
pub async fn plan(pool: &PgPool, selector: &Selector) -> Result<Plan, OpsError> {
    select::refuse_unclear(pool, selector).await?;
    let wanted: HashSet<LetterKey> = dlq_index::select(pool, &selector.selection())
        .await?
        .into_iter()
        .collect();
    let parked = selector.parked_selection();
    let parked_wanted = parked_events::count_parked(pool, &parked).await?;
    if wanted.is_empty() && parked_wanted == 0 {
        return Err(OpsError::Selection(
            "no dead letter matches the selection".into(),
        ));
    }
    let indexed = u64::try_from(dlq_index::count(pool).await?).unwrap_or(0);
    let parked_all = parked_events::count_parked(pool, &ParkedSelection::all()).await?;
    let replayed = wanted.len() as u64 + parked_wanted;
    Ok(Plan {
        wanted,
        parked,
        counts: Counts {
            replayed,
            skipped: (indexed + parked_all).saturating_sub(replayed),
            dry_run: true,
        },
    })
}

/// Carries out `plan`: sends its dead letters back to the queues they failed in, then
/// releases its parked events to the relay. `replayed` counts what was taken, `skipped` what
/// was left. `progress` gets (messages looked at, messages in the DLQ at the start).
///
/// A dead letter goes back only to a work queue of `topology` (SPEC 5): its headers are
/// whatever was published to the DLQ, so one naming any other queue stays where it is, listed,
/// and counts as skipped.
pub async fn replay(
    channel: &Channel,
    topology: &Topology,
    pool: &PgPool,
    plan: Plan,
    progress: impl FnMut(u64, u64),
) -> Result<Counts, OpsError> {
    let own_queues: HashSet<String> = topology.work_queues().into_iter().collect();
    let mut replayed = walk_queue(
        channel,
        &topology.names,
        pool,
        plan.wanted,
        Disposal::SendBack {
            own_queues: &own_queues,
        },
        progress,
    )
    .await?;
    replayed += parked_events::release_parked(pool, &plan.parked).await?;
    let total = plan.counts.replayed + plan.counts.skipped;
    Ok(Counts {
        replayed,
        skipped: total.saturating_sub(replayed),
        dry_run: false,
    })
}

/// What a walk of the DLQ does with the messages it was asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Disposal<'q> {
    /// Back to the queue each failed in, when it is one of `own_queues`.
    SendBack { own_queues: &'q HashSet<String> },
    /// Acknowledged: gone for good.
    Drop,
}

/// Walks the DLQ once, oldest first, until every wanted (queue, message) is disposed of;
/// returns how many were. A copy of one already disposed of is dropped; a message not wanted
/// goes to the tail (indexed, if it was not); a wanted one no longer in the queue is forgotten.
async fn walk_queue(
    channel: &Channel,
    names: &Names,
    pool: &PgPool,
    mut wanted: HashSet<LetterKey>,
    disposal: Disposal<'_>,
    mut progress: impl FnMut(u64, u64),
) -> Result<u64, OpsError> {
    let depth = u64::from(depth(channel, names).await?);
    let mut done = HashSet::new();
    let mut seen = 0;
    while seen < depth && !wanted.is_empty() {
        let Some(message) = take_one(channel, names).await? else {
            break;
        };
        seen += 1;
        progress(seen, depth);
        let properties = &message.delivery.properties;
        let Some(facts) = read_dead_letter(properties, &message.delivery.data) else {
            // Not put here by hookgate: it stays, at the tail.
            to_tail(channel, names, &message).await?;
            continue;
        };
        let key = LetterKey::of(&facts);
        if let Disposal::SendBack { own_queues } = disposal {
            if wanted.contains(&key) && !own_queues.contains(&facts.queue) {
                tracing::warn!(
                    queue = %quote(&facts.queue),
                    message_id = %quote(&facts.message_id),
                    "dead letter names a queue outside hookgate's topology: not replayed"
                );
                wanted.remove(&key);
                to_tail(channel, names, &message).await?;
                continue;
            }
        }
        if wanted.contains(&key) {
            // Forgotten before it goes back: once back, it may fail again at once, and that new
            // dead letter's row must not be the one removed.
            dlq_index::remove(pool, &key).await?;
            let disposed = match disposal {
                Disposal::SendBack { .. }
                    if facts.queue == names.read_model()
                        && restore::archive_gone(pool, &facts).await? =>
                {
                    restore::store_again(pool, &message.delivery.data).await?
                }
                Disposal::SendBack { .. } => send_back(channel, &facts.queue, &message).await?,
                Disposal::Drop => {
                    if facts.queue == names.read_model() {
                        let source = facts.source.as_deref().unwrap_or_default();
                        inbox::close_unprocessed(pool, source, &facts.event_id).await?;
                    }
                    true
                }
            };
            if disposed {
                message.delivery.ack(BasicAckOptions::default()).await?;
                wanted.remove(&key);
                done.insert(key);
            } else {
                dlq_index::adopt(pool, &facts).await?;
                to_tail(channel, names, &message).await?;
            }
        } else if done.contains(&key) {
            message.delivery.ack(BasicAckOptions::default()).await?;
        } else {
            dlq_index::adopt(pool, &facts).await?;
            to_tail(channel, names, &message).await?;
        }
    }
    for key in &wanted {
        tracing::warn!(queue = %key.queue, source = %key.source, message_id = %key.message_id, "indexed dead letter not found in the DLQ; forgotten");
        dlq_index::remove(pool, key).await?;
    }
    Ok(done.len() as u64)
}

/// What a purge of selected dead letters did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Removed from the DLQ for good.
    pub purged: u64,
    /// Selected but left: parked events, which are not in the queue.
    pub left: u64,
}

/// Removes `plan`'s dead letters from the DLQ for good (parked events are not in the queue
/// and stay).
pub async fn purge_selected(
    channel: &Channel,
    names: &Names,
    pool: &PgPool,
    plan: Plan,
) -> Result<Purged, OpsError> {
    let total = plan.counts.replayed + plan.counts.skipped;
    let purged = walk_queue(channel, names, pool, plan.wanted, Disposal::Drop, |_, _| {}).await?;
    Ok(Purged {
        purged,
        left: total.saturating_sub(purged),
    })
}

/// Removes from the DLQ for good the dead letters that failed before `before`; returns how
/// many went. Nothing touches the queue when none is that old.
pub async fn purge_failed_before(
    channel: impl std::future::Future<Output = Option<Channel>>,
    names: &Names,
    pool: &PgPool,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<u64, OpsError> {
    let wanted: HashSet<LetterKey> = dlq_index::failed_before(pool, before)
        .await?
        .into_iter()
        .collect();
    if wanted.is_empty() {
        return Ok(0);
    }
    let Some(channel) = channel.await else {
        return Err(OpsError::BrokerUnavailable);
    };
    walk_queue(&channel, names, pool, wanted, Disposal::Drop, |_, _| {}).await
}

/// Empties the DLQ and its index; returns how many messages the broker removed.
pub async fn purge(channel: &Channel, names: &Names, pool: &PgPool) -> Result<u32, OpsError> {
    let started = chrono::Utc::now();
    let purged = channel
        .queue_purge(names.dlq().as_str().into(), QueuePurgeOptions::default())
        .await?;
    dlq_index::clear(pool, started, &names.read_model()).await?;
    Ok(purged)
}

/// The `queue` a parked event is listed under.
const PARKED_QUEUE: &str = "relay (parked)";

async fn parked_letters(pool: &PgPool, limit: usize) -> Result<Vec<DeadLetter>, sqlx::Error> {
    let rows = parked_events::parked(pool, i64::try_from(limit).unwrap_or(i64::MAX)).await?;
    Ok(rows
        .into_iter()
        .map(|row| DeadLetter {
            event_id: row.key.event_id,
            source: Some(row.key.source),
            event_type: Some(row.key.event_type),
            family: Some(row.family.to_string()),
            queue: Some(PARKED_QUEUE.to_owned()),
            attempts: 1,
            error: row.park_error,
            failed_at: Some(format_time(&row.parked_at)),
        })
        .collect())
}
