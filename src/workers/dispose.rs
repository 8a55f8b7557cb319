//! Where a message goes when handling it failed: the next retry tier for a transient failure,
//! the dead-letter queue for a permanent one or after the last tier. Each move is a publish
//! with confirm; the caller acknowledges the original only after it succeeded.

use crate::amqp::{header_number, publish_confirmed, text_value, Names, Outcome, RetryTier};
use crate::catalogue::bounded_error;
use lapin::{message::Delivery, types::AMQPValue, BasicProperties, Channel};

pub const HEADER_QUEUE: &str = "x-hookgate-queue";
pub const HEADER_ATTEMPTS: &str = "x-hookgate-attempts";
pub const HEADER_ERROR: &str = "x-hookgate-error";
pub const HEADER_FAILED_AT: &str = "x-hookgate-failed-at";

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

/// Failures this message went through before, as counted in its headers.
pub fn attempts(properties: &BasicProperties) -> i64 {
    properties
        .headers()
        .as_ref()
        .and_then(|headers| header_number(headers, HEADER_ATTEMPTS))
        .unwrap_or(0)
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
    headers.insert(HEADER_ATTEMPTS.into(), AMQPValue::LongLongInt(attempts));
    // Bounded: a header larger than the broker's frame_max closes the whole connection.
    headers.insert(
        HEADER_ERROR.into(),
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
            headers.insert(HEADER_QUEUE.into(), text_value(queue));
            headers.insert(
                HEADER_FAILED_AT.into(),
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
