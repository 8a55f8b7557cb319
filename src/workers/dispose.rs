//! Where a message goes when handling it failed: the next retry tier for a transient failure,
//! the dead-letter queue for a permanent one or after the last tier. Each move is a publish
//! with confirm; the caller acknowledges the original only after it succeeded.

use crate::amqp::{publish_confirmed, Names, Outcome, RetryTier};
use crate::catalogue::bounded_error;
use crate::wire::{
    attempts, text_value, X_HOOKGATE_ATTEMPTS, X_HOOKGATE_ERROR, X_HOOKGATE_FAILED_AT,
    X_HOOKGATE_QUEUE,
};
use lapin::{message::Delivery, types::AMQPValue, Channel};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Worth trying again later: database down, HTTP 5xx, 408, 429, timeout.
    #[error("{0}")]
    Transient(String),
    /// Will fail again however often it is tried: bad resource, HTTP 4xx.
    #[error("{0}")]
    Permanent(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    Retry { tier: String },
    DeadLettered,
}

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error(transparent)]
    Broker(#[from] lapin::Error),
    #[error("the broker did not take the message ({0:?})")]
    NotTaken(Outcome),
}

pub async fn move_failed(
    channel: &Channel,
    names: &Names,
    tiers: &[RetryTier],
    queue: &str,
    delivery: &Delivery,
    failure: &Failure,
) -> Result<Moved, MoveError> {
    let attempts = attempts(&delivery.properties) + 1;
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
            .and_then(|i| tiers.get(i)),
        Failure::Permanent(_) => None,
    };
    let (exchange, routing_key, moved) = match next_tier {
        Some(tier) => (
            String::new(),
            names.retry(queue, tier),
            Moved::Retry {
                tier: tier.name.clone(),
            },
        ),
        None => {
            headers.insert(X_HOOKGATE_QUEUE.into(), text_value(queue));
            headers.insert(
                X_HOOKGATE_FAILED_AT.into(),
                text_value(&crate::catalogue::format_time(&chrono::Utc::now())),
            );
            (names.dead(), queue.to_owned(), Moved::DeadLettered)
        }
    };
    let properties = delivery.properties.clone().with_headers(headers);
    match publish_confirmed(channel, &exchange, &routing_key, &delivery.data, properties).await? {
        Outcome::Taken => Ok(moved),
        other => Err(MoveError::NotTaken(other)),
    }
}
