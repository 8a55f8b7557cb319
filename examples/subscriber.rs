//! A subscriber of hookgate's notifications, as an internal service would write one: its own
//! durable queue bound to the notifications exchange, manual acks, a prefetch, and
//! deduplication by `message_id`.
//!
//! ```sh
//! HOOKGATE_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/%2f \
//!   cargo run --example subscriber -- ledger-sync 'notify.transfer.*'
//! ```
//!
//! The queue is `<prefix>.sub.<name>` (a name of your own: hookgate never declares or deletes
//! it). Deduplication here is in memory; a real service records handled ids in the same
//! transaction as their effect, keyed by `message_id`, so a redelivery after a crash is
//! recognised too.

use futures_util::StreamExt;
use lapin::{
    options::{
        BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions,
        QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable, LongString},
    Connection, ConnectionProperties,
};
use std::collections::HashSet;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "example".to_owned());
    let patterns: Vec<String> = args.collect();
    let patterns = if patterns.is_empty() {
        vec!["#".to_owned()]
    } else {
        patterns
    };
    let url = std::env::var("HOOKGATE_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned());
    let prefix = std::env::var("HOOKGATE_AMQP_PREFIX").unwrap_or_else(|_| "hookgate".to_owned());

    let connection = Connection::connect(&url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    // A quorum queue survives a broker node's loss, as hookgate's own queues do.
    let queue = format!("{prefix}.sub.{name}");
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            arguments,
        )
        .await?;
    for pattern in &patterns {
        channel
            .queue_bind(
                queue.as_str().into(),
                format!("{prefix}.notifications").as_str().into(),
                pattern.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    channel.basic_qos(32, BasicQosOptions::default()).await?;
    let mut deliveries = channel
        .basic_consume(
            queue.as_str().into(),
            format!("{name}-example").as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    eprintln!("consuming {queue} ({})", patterns.join(", "));

    let mut handled: HashSet<String> = HashSet::new();
    while let Some(delivery) = deliveries.next().await {
        let delivery = delivery?;
        let id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.to_string());
        let fresh = id.as_ref().is_some_and(|id| handled.insert(id.clone()));
        if fresh {
            let body: serde_json::Value = serde_json::from_slice(&delivery.data)?;
            println!(
                "{} {} {}: {} -> {}",
                delivery.routing_key,
                body["family"],
                body["objectId"],
                body["previousStatus"],
                body["status"]
            );
        }
        // Acknowledged once handled (or recognised as a copy), never before.
        delivery.ack(BasicAckOptions::default()).await?;
    }
    Ok(())
}
