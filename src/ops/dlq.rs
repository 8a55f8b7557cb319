//! The dead-letter queue: list, show, replay, purge. Listing and replay also cover the inbox
//! rows the relay parked because their message cannot be built within AMQP's limits: they are
//! listed beside the dead letters, under the queue `relay (parked)`, and a replay hands them
//! back to the relay once whatever made them unpublishable is fixed.
//!
//! Messages are read with `basic.get` and left unacknowledged, then given back (requeued), so
//! looking at the queue never loses anything. Replay publishes a message back to the queue it
//! failed in, waits for the confirm, and only then acknowledges it in the DLQ: a replay that
//! stops half-way is finished by running it again, and the worker's exactly-once claim makes a
//! message that ended up in both places harmless.

use super::{Counts, OpsError};
use crate::{
    amqp::{inspect_queue, publish_confirmed, Names, Outcome},
    catalogue::format_time,
    store::dead_letters::{self, ParkedSelection},
    wire::{
        attempts, header_text, value_text, FAILURE_HEADERS, X_HOOKGATE_ERROR, X_HOOKGATE_FAILED_AT,
        X_HOOKGATE_QUEUE, X_SOURCE,
    },
};
use lapin::{
    message::BasicGetMessage,
    options::{BasicAckOptions, BasicGetOptions, BasicNackOptions, QueuePurgeOptions},
    types::{AMQPValue, FieldTable},
    Channel,
};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    #[serde(flatten)]
    pub summary: DeadLetter,
    pub headers: serde_json::Map<String, Value>,
    pub body: Value,
}

/// Which dead letters a replay takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    EventIds(Vec<String>),
    EventType(String),
    All,
}

impl Selector {
    fn matches(&self, letter: &DeadLetter) -> bool {
        match self {
            Selector::All => true,
            Selector::EventIds(ids) => ids.contains(&letter.event_id),
            Selector::EventType(wanted) => letter
                .event_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(wanted)),
        }
    }
}

fn summarise(message: &BasicGetMessage) -> DeadLetter {
    let properties = &message.delivery.properties;
    let headers = properties.headers().clone().unwrap_or_default();
    let header = |name: &str| header_text(&headers, name);
    let body: Value = serde_json::from_slice(&message.delivery.data).unwrap_or(Value::Null);
    let body_text = |field: &str| body.get(field).and_then(Value::as_str).map(str::to_owned);
    DeadLetter {
        event_id: body_text("eventId")
            .or_else(|| body_text("id"))
            .or_else(|| properties.message_id().as_ref().map(|m| m.to_string()))
            .unwrap_or_default(),
        source: header(X_SOURCE).or_else(|| body_text("source")),
        event_type: properties
            .kind()
            .as_ref()
            .map(|k| k.to_string())
            .or_else(|| body_text("eventType")),
        family: body_text("family"),
        queue: header(X_HOOKGATE_QUEUE),
        attempts: attempts(properties),
        error: header(X_HOOKGATE_ERROR),
        failed_at: header(X_HOOKGATE_FAILED_AT),
    }
}

fn headers_json(headers: &FieldTable) -> serde_json::Map<String, Value> {
    headers
        .inner()
        .iter()
        .map(|(k, v)| {
            let value = match v {
                AMQPValue::LongLongInt(n) => Value::from(*n),
                AMQPValue::LongInt(n) => Value::from(*n),
                other => value_text(other)
                    .map(Value::from)
                    .unwrap_or_else(|| Value::from(format!("{other:?}"))),
            };
            (k.to_string(), value)
        })
        .collect()
}

/// Messages in the DLQ now.
pub async fn depth(channel: &Channel, names: &Names) -> lapin::Result<u32> {
    Ok(inspect_queue(channel, &names.dlq()).await?.message_count())
}

/// Takes up to `limit` messages without acknowledging them.
async fn take(
    channel: &Channel,
    names: &Names,
    limit: usize,
) -> lapin::Result<Vec<BasicGetMessage>> {
    let mut taken = Vec::new();
    while taken.len() < limit {
        match channel
            .basic_get(
                names.dlq().as_str().into(),
                BasicGetOptions { no_ack: false },
            )
            .await?
        {
            Some(message) => taken.push(message),
            None => break,
        }
    }
    Ok(taken)
}

/// Requeues what was taken and waits (up to 5 s) until the broker shows it again, so a
/// command that follows (a purge, another listing) sees every dead letter.
async fn give_back(
    channel: &Channel,
    names: &Names,
    messages: &[BasicGetMessage],
) -> lapin::Result<()> {
    for message in messages {
        message
            .delivery
            .nack(BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            })
            .await?;
    }
    for _ in 0..100 {
        if depth(channel, names).await? as usize >= messages.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Up to `limit` dead letters: those in the DLQ, then the parked events.
pub async fn list(
    channel: &Channel,
    names: &Names,
    pool: &PgPool,
    limit: usize,
) -> Result<Vec<DeadLetter>, OpsError> {
    let taken = take(channel, names, limit).await?;
    let mut letters: Vec<DeadLetter> = taken.iter().map(summarise).collect();
    give_back(channel, names, &taken).await?;
    letters.extend(parked_letters(pool, limit.saturating_sub(letters.len())).await?);
    Ok(letters)
}

pub async fn show(
    channel: &Channel,
    names: &Names,
    event_id: &str,
) -> lapin::Result<Option<Detail>> {
    let taken = take(channel, names, usize::MAX).await?;
    let found = taken
        .iter()
        .find(|m| summarise(m).event_id == event_id)
        .map(|m| {
            let body = serde_json::from_slice(&m.delivery.data).unwrap_or_else(|_| {
                Value::from(String::from_utf8_lossy(&m.delivery.data).into_owned())
            });
            Detail {
                summary: summarise(m),
                headers: headers_json(&m.delivery.properties.headers().clone().unwrap_or_default()),
                body,
            }
        });
    give_back(channel, names, &taken).await?;
    Ok(found)
}

/// Sends the selected dead letters back to the queues they failed in, then releases the
/// selected parked events to the relay; counts both. Every message in the DLQ is looked at
/// once: it is held unacknowledged until the end, so `basic.get` runs dry. A message this run
/// already sent back that fails again and returns meanwhile is left for the next run.
/// `progress` gets (messages looked at, messages in the DLQ at the start), the second figure
/// being the broker's estimate.
pub async fn replay(
    channel: &Channel,
    names: &Names,
    pool: &PgPool,
    selector: &Selector,
    dry_run: bool,
    progress: impl FnMut(u64, u64),
) -> Result<Counts, OpsError> {
    let mut counts = replay_queue(channel, names, selector, dry_run, progress).await?;
    counts.replayed += release_parked(pool, selector, dry_run).await?;
    Ok(counts)
}

async fn replay_queue(
    channel: &Channel,
    names: &Names,
    selector: &Selector,
    dry_run: bool,
    mut progress: impl FnMut(u64, u64),
) -> lapin::Result<Counts> {
    let estimate = u64::from(depth(channel, names).await?);
    let mut counts = Counts::default();
    let mut left = Vec::new();
    let mut sent_back = std::collections::HashSet::new();
    let mut seen = 0;
    while let Some(message) = take(channel, names, 1).await?.pop() {
        seen += 1;
        let letter = summarise(&message);
        if sent_back.contains(&letter.event_id) {
            left.push(message);
            continue;
        }
        let target = letter.queue.clone().filter(|_| selector.matches(&letter));
        let sent = match &target {
            Some(queue) if !dry_run => send_back(channel, queue, &message).await?,
            _ => false,
        };
        if sent {
            message.delivery.ack(BasicAckOptions::default()).await?;
            sent_back.insert(letter.event_id);
        } else {
            left.push(message);
        }
        // A dry run counts what it would send; a real run what the broker confirmed.
        if sent || (dry_run && target.is_some()) {
            counts.replayed += 1;
        } else {
            counts.skipped += 1;
        }
        progress(seen, estimate.max(seen));
    }
    give_back(channel, names, &left).await?;
    Ok(counts)
}

async fn send_back(
    channel: &Channel,
    queue: &str,
    message: &BasicGetMessage,
) -> lapin::Result<bool> {
    // A replayed message starts its retries afresh: with the old attempts count one
    // transient failure would send it straight back to the DLQ.
    let mut headers = message
        .delivery
        .properties
        .headers()
        .as_ref()
        .map(|h| h.inner().clone())
        .unwrap_or_default();
    for name in FAILURE_HEADERS {
        headers.remove(name);
    }
    let outcome = publish_confirmed(
        channel,
        "",
        queue,
        &message.delivery.data,
        message
            .delivery
            .properties
            .clone()
            .with_headers(FieldTable::from(headers)),
    )
    .await?;
    let sent = outcome == Outcome::Taken;
    if !sent {
        tracing::warn!(%queue, "replay not confirmed; the message stays in the DLQ");
    }
    Ok(sent)
}

pub async fn purge(channel: &Channel, names: &Names) -> lapin::Result<u32> {
    channel
        .queue_purge(names.dlq().as_str().into(), QueuePurgeOptions::default())
        .await
}

/// The `queue` a parked event is listed under.
const PARKED_QUEUE: &str = "relay (parked)";

async fn parked_letters(pool: &PgPool, limit: usize) -> Result<Vec<DeadLetter>, sqlx::Error> {
    let rows = dead_letters::parked(pool, i64::try_from(limit).unwrap_or(i64::MAX)).await?;
    Ok(rows
        .into_iter()
        .map(|row| DeadLetter {
            event_id: row.key.event_id,
            source: Some(row.key.source),
            event_type: Some(row.key.event_type),
            family: Some(row.family),
            queue: Some(PARKED_QUEUE.to_owned()),
            attempts: 1,
            error: row.park_error,
            failed_at: Some(format_time(&row.parked_at)),
        })
        .collect())
}

/// Hands the selected parked events back to the relay; returns how many (with `dry_run`, how
/// many it would).
async fn release_parked(
    pool: &PgPool,
    selector: &Selector,
    dry_run: bool,
) -> Result<u64, sqlx::Error> {
    let selection = match selector {
        Selector::All => ParkedSelection {
            event_ids: Vec::new(),
            event_type: None,
        },
        // No ids selects nothing, not everything.
        Selector::EventIds(ids) if ids.is_empty() => return Ok(0),
        Selector::EventIds(ids) => ParkedSelection {
            event_ids: ids.clone(),
            event_type: None,
        },
        Selector::EventType(wanted) => ParkedSelection {
            event_ids: Vec::new(),
            event_type: Some(wanted.clone()),
        },
    };
    if dry_run {
        dead_letters::count_parked(pool, &selection).await
    } else {
        dead_letters::release_parked(pool, &selection).await
    }
}
