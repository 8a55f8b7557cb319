//! Publishing with `mandatory` set and reading what the broker made of it, and the passive
//! queue look-up.

use lapin::{
    options::{BasicPublishOptions, QueueDeclareOptions},
    types::FieldTable,
    BasicProperties, Channel, Confirmation, PublisherConfirm, Queue,
};

use super::deadline::answered;

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
    confirmed(confirm).await
}

/// The broker's answer to one publish, or an error when it does not come: the message may or
/// may not be queued, so the publish counts as failed and is made again (consumers dedupe).
pub async fn confirmed(confirm: PublisherConfirm) -> lapin::Result<Outcome> {
    answered("publisher confirm", confirm)
        .await
        .map(Outcome::from)
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
