//! Taking messages out of the DLQ one at a time: sending one back, passing one over to the
//! tail (never requeued, so no delivery count rises), and the walk that indexes what the index
//! lacks.

use super::{depth, OpsError};
use crate::{
    amqp::{publish_confirmed, Names, Outcome},
    store::dlq_index::{self, Claim, LetterKey},
    wire::{read_dead_letter, FAILURE_HEADERS},
};
use lapin::{
    message::BasicGetMessage,
    options::{BasicAckOptions, BasicGetOptions, BasicNackOptions},
    types::FieldTable,
    BasicProperties, Channel,
};
use serde::Serialize;
use sqlx::PgPool;
use std::collections::HashSet;

/// What [`reindex`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reindexed {
    /// Dead letters in the queue that had no index row.
    pub indexed: u64,
    /// Further copies of one (queue, message), removed so that one is left.
    pub duplicates_removed: u64,
}

/// Walks the DLQ once and indexes every dead letter the index lacks: those dead-lettered by a
/// hookgate older than the index, or by a process that died between the broker's confirm and
/// its commit. Keeps one copy per (queue, source, message). `progress` as for [`replay`].
pub async fn reindex(
    channel: &Channel,
    names: &Names,
    pool: &PgPool,
    mut progress: impl FnMut(u64, u64),
) -> Result<Reindexed, OpsError> {
    let depth = u64::from(depth(channel, names).await?);
    let mut done = Reindexed::default();
    let mut seen_keys = HashSet::new();
    for seen in 1..=depth {
        let Some(message) = take_one(channel, names).await? else {
            break;
        };
        progress(seen, depth);
        if let Some(facts) = read_dead_letter(&message.delivery.properties, &message.delivery.data)
        {
            if !seen_keys.insert(LetterKey::of(&facts)) {
                message.delivery.ack(BasicAckOptions::default()).await?;
                done.duplicates_removed += 1;
                continue;
            }
            if dlq_index::adopt(pool, &facts).await? == Claim::New {
                done.indexed += 1;
            }
        }
        to_tail(channel, names, &message).await?;
    }
    Ok(done)
}

pub(super) async fn take_one(
    channel: &Channel,
    names: &Names,
) -> lapin::Result<Option<BasicGetMessage>> {
    channel
        .basic_get(
            names.dlq().as_str().into(),
            BasicGetOptions { no_ack: false },
        )
        .await
}

/// Publishes the message again at the DLQ's tail, then acknowledges the copy taken: unlike a
/// requeue, this raises no delivery count. Requeued instead when the broker does not take it.
pub(super) async fn to_tail(
    channel: &Channel,
    names: &Names,
    message: &BasicGetMessage,
) -> lapin::Result<()> {
    let outcome = publish_confirmed(
        channel,
        "",
        &names.dlq(),
        &message.delivery.data,
        message.delivery.properties.clone(),
    )
    .await?;
    if outcome == Outcome::Taken {
        message.delivery.ack(BasicAckOptions::default()).await?;
    } else {
        message
            .delivery
            .nack(BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            })
            .await?;
    }
    Ok(())
}

pub(super) async fn send_back(
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
    let properties: BasicProperties = message
        .delivery
        .properties
        .clone()
        .with_headers(FieldTable::from(headers));
    let outcome = publish_confirmed(channel, "", queue, &message.delivery.data, properties).await?;
    let sent = outcome == Outcome::Taken;
    if !sent {
        tracing::warn!(%queue, "replay not confirmed; the message stays in the DLQ");
    }
    Ok(sent)
}
