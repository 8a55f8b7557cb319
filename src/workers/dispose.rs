//! Where a message goes when handling it failed: the next retry tier for a transient failure,
//! the dead-letter queue for a permanent one or after the last tier. Each move is a publish
//! with confirm; the caller acknowledges the original only after it succeeded. A dead letter is
//! indexed in the same transaction that waits for its confirm, and a message whose dead letter
//! is already in the DLQ is not sent there again.

use super::retry_watch;
use crate::amqp::{publish_confirmed, Names, Outcome};
use crate::catalogue::bounded_error;
use crate::settings::RetryTier;
use crate::store::{
    dlq_index::{self, Claim},
    Deadline,
};
use crate::wire::{
    attempts, dead_letter_from, text_value, X_HOOKGATE_ATTEMPTS, X_HOOKGATE_ERROR,
    X_HOOKGATE_FAILED_AT, X_HOOKGATE_QUEUE,
};
use lapin::{message::Delivery, types::AMQPValue, BasicProperties, Channel};
use sqlx::PgPool;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Worth trying again later: database down, HTTP 5xx, 408, 429, timeout.
    #[error("{0}")]
    Transient(String),
    /// Will fail again however often it is tried: bad resource, HTTP 4xx.
    #[error("{0}")]
    Permanent(String),
    /// Not the message's failure: another worker holds it (a lease, which a worker that died
    /// leaves until it expires). Tried again after the first tier without spending an attempt,
    /// so a peer's crash cannot use up a good message's tiers and dead-letter it.
    #[error("{0}")]
    Deferred(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    Retry {
        tier: String,
    },
    DeadLettered,
    /// Its dead letter was in the DLQ already (a redelivered copy failed again): not sent twice.
    AlreadyDeadLettered,
}

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error(transparent)]
    Broker(#[from] lapin::Error),
    #[error("the broker did not take the message ({0:?})")]
    NotTaken(Outcome),
    #[error("the dead-letter index is unavailable: {0}")]
    Index(#[from] sqlx::Error),
}

/// Where failed messages go, the index of those that went to the DLQ, and the watch on
/// those in a retry tier.
pub struct Destinations<'a> {
    pub names: &'a Names,
    pub tiers: &'a [RetryTier],
    pub index: &'a PgPool,
    pub deadline: Deadline,
    /// How long past its tier a retried message may take to come back before it is taken
    /// for lost and published again.
    pub retry_grace: Duration,
}

pub async fn move_failed(
    channel: &Channel,
    to: &Destinations<'_>,
    queue: &str,
    delivery: &Delivery,
    failure: &Failure,
) -> Result<Moved, MoveError> {
    let spent = i64::from(!matches!(failure, Failure::Deferred(_)));
    let attempts = attempts(&delivery.properties) + spent;
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    headers.insert(X_HOOKGATE_ATTEMPTS.into(), AMQPValue::LongLongInt(attempts));
    // Bounded: a header larger than the broker's frame_max closes the whole connection.
    headers.insert(
        X_HOOKGATE_ERROR.into(),
        text_value(&bounded_error(failure.to_string())),
    );
    let next_tier = match failure {
        Failure::Transient(_) => usize::try_from(attempts - 1)
            .ok()
            .and_then(|i| to.tiers.get(i)),
        Failure::Permanent(_) => None,
        Failure::Deferred(_) => to.tiers.first(),
    };
    if let Some(tier) = next_tier {
        let properties = delivery.properties.clone().with_headers(headers);
        let retry = to.names.retry(queue, tier);
        // Watched before it is moved, so it cannot come back and be settled before the watch
        // exists (a watch left behind would publish a handled message again).
        let due_in = tier.ttl + to.retry_grace;
        retry_watch::keep(
            to.index,
            to.deadline,
            queue,
            (&properties, &delivery.data),
            due_in,
        )
        .await;
        return match publish_confirmed(channel, "", &retry, &delivery.data, properties).await? {
            Outcome::Taken => Ok(Moved::Retry {
                tier: tier.name.clone(),
            }),
            other => Err(MoveError::NotTaken(other)),
        };
    }
    headers.insert(X_HOOKGATE_QUEUE.into(), text_value(queue));
    headers.insert(
        X_HOOKGATE_FAILED_AT.into(),
        text_value(&crate::catalogue::format_time(&chrono::Utc::now())),
    );
    dead_letter(
        channel,
        to,
        queue,
        delivery.properties.clone().with_headers(headers),
        &delivery.data,
    )
    .await
}

async fn dead_letter(
    channel: &Channel,
    to: &Destinations<'_>,
    queue: &str,
    properties: BasicProperties,
    body: &[u8],
) -> Result<Moved, MoveError> {
    let facts = dead_letter_from(queue.to_owned(), &properties, body);
    let within = to.deadline;
    let mut tx = within.on(to.index.begin()).await?;
    if within.on(dlq_index::claim(&mut tx, &facts)).await? == Claim::AlreadyDeadLettered {
        within.on(tx.commit()).await?;
        return Ok(Moved::AlreadyDeadLettered);
    }
    match publish_confirmed(channel, &to.names.dead(), queue, body, properties).await? {
        // Indexed only once the broker holds it; without the confirm the row rolls back.
        Outcome::Taken => {
            within.on(tx.commit()).await?;
            Ok(Moved::DeadLettered)
        }
        other => Err(MoveError::NotTaken(other)),
    }
}
