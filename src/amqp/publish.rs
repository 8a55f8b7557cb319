//! Publishing with `mandatory` set and reading what the broker made of it, plus the small
//! header and queue look-ups every user of the broker needs.

use lapin::{
    options::{BasicPublishOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
    BasicProperties, Channel, Confirmation, PublisherConfirm, Queue,
};

/// What the broker did with a published message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged and routed: the only outcome that counts as delivered.
    Taken,
    /// Acknowledged but returned: no queue is bound for it.
    Returned(String),
    /// Negatively acknowledged (or confirms were off).
    Refused,
}

impl From<Confirmation> for Outcome {
    fn from(confirmation: Confirmation) -> Self {
        match confirmation {
            Confirmation::Ack(None) => Outcome::Taken,
            Confirmation::Ack(Some(returned)) => Outcome::Returned(returned.reply_text.to_string()),
            Confirmation::Nack(_) | Confirmation::NotRequested => Outcome::Refused,
        }
    }
}

/// Publishes with `mandatory` set, so an unroutable message comes back instead of vanishing.
/// Await the returned confirm and turn it into an [`Outcome`].
pub async fn publish_mandatory(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> lapin::Result<PublisherConfirm> {
    channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            body,
            properties,
        )
        .await
}

/// Publishes one message and waits for the broker's answer.
pub async fn publish_confirmed(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> lapin::Result<Outcome> {
    let confirm = publish_mandatory(channel, exchange, routing_key, body, properties).await?;
    Ok(confirm.await?.into())
}

/// Text as a header or argument value.
pub fn text_value(text: &str) -> AMQPValue {
    AMQPValue::LongString(text.into())
}

/// A header or field value as text, whichever string type it was sent as.
pub fn value_text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

pub fn header_text(headers: &FieldTable, name: &str) -> Option<String> {
    headers.inner().get(name).and_then(value_text)
}

/// A header holding a whole number, whichever integer type it was sent as.
pub fn header_number(headers: &FieldTable, name: &str) -> Option<i64> {
    match headers.inner().get(name)? {
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        _ => None,
    }
}

/// The queue's message and consumer counts, without creating it.
pub async fn inspect_queue(channel: &Channel, queue: &str) -> lapin::Result<Queue> {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
}
