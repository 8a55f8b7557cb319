//! Declares the SPEC 4 topology. Every declaration is idempotent, so each start (and each
//! reconnection) declares it again.

use super::names::{Names, RetryTier};
use lapin::{
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable, LongString, ShortString},
    Channel, ExchangeKind,
};

/// What is declared: the names, the subscribers' queues and patterns, the retry tiers.
#[derive(Debug, Clone)]
pub struct Topology {
    pub names: Names,
    /// `(subscriber name, routing patterns)`.
    pub subscribers: Vec<(String, Vec<String>)>,
    pub tiers: Vec<RetryTier>,
}

impl Topology {
    /// The queues whose messages workers consume; each has retry tiers and can dead-letter.
    pub fn work_queues(&self) -> Vec<String> {
        let mut queues = vec![self.names.read_model()];
        queues.extend(
            self.subscribers
                .iter()
                .map(|(name, _)| self.names.subscriber(name)),
        );
        queues
    }

    /// Every queue hookgate declares.
    pub fn queues(&self) -> Vec<String> {
        let mut queues = Vec::new();
        for queue in self.work_queues() {
            queues.extend(self.tiers.iter().map(|tier| self.names.retry(&queue, tier)));
            queues.push(queue);
        }
        queues.push(self.names.dlq());
        queues
    }

    pub fn exchanges(&self) -> Vec<String> {
        vec![
            self.names.events(),
            self.names.notifications(),
            self.names.dead(),
        ]
    }

    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        for (exchange, kind) in [
            (self.names.events(), ExchangeKind::Topic),
            (self.names.notifications(), ExchangeKind::Topic),
            (self.names.dead(), ExchangeKind::Direct),
        ] {
            channel
                .exchange_declare(exchange.into(), kind, durable, FieldTable::default())
                .await?;
        }
        declare_quorum(channel, &self.names.read_model(), FieldTable::default()).await?;
        bind(channel, &self.names.read_model(), &self.names.events(), "#").await?;
        for (name, patterns) in &self.subscribers {
            let queue = self.names.subscriber(name);
            declare_quorum(channel, &queue, FieldTable::default()).await?;
            for pattern in patterns {
                bind(channel, &queue, &self.names.notifications(), pattern).await?;
            }
        }
        declare_quorum(channel, &self.names.dlq(), FieldTable::default()).await?;
        for queue in self.work_queues() {
            // Dead letters are published with the failed queue's name as routing key.
            bind(channel, &self.names.dlq(), &self.names.dead(), &queue).await?;
            for tier in &self.tiers {
                let mut arguments = FieldTable::default();
                arguments.insert(
                    "x-message-ttl".into(),
                    AMQPValue::LongLongInt(tier.ttl.as_millis() as i64),
                );
                arguments.insert(
                    "x-dead-letter-exchange".into(),
                    AMQPValue::LongString(LongString::from("")),
                );
                arguments.insert(
                    "x-dead-letter-routing-key".into(),
                    AMQPValue::LongString(LongString::from(queue.as_str())),
                );
                declare_quorum(channel, &self.names.retry(&queue, tier), arguments).await?;
            }
        }
        Ok(())
    }
}

async fn declare_quorum(
    channel: &Channel,
    queue: &str,
    mut arguments: FieldTable,
) -> lapin::Result<()> {
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    channel
        .queue_declare(
            ShortString::from(queue),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            arguments,
        )
        .await?;
    Ok(())
}

async fn bind(channel: &Channel, queue: &str, exchange: &str, key: &str) -> lapin::Result<()> {
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_include_retry_tiers_for_every_work_queue() {
        let topology = Topology {
            names: Names::new("p"),
            subscribers: vec![("ledger".into(), vec!["notify.#".into()])],
            tiers: vec![
                RetryTier::parse("1s").unwrap(),
                RetryTier::parse("1m").unwrap(),
            ],
        };
        assert_eq!(topology.work_queues(), ["p.read-model", "p.notify.ledger"]);
        assert_eq!(
            topology.queues(),
            [
                "p.read-model.retry.1s",
                "p.read-model.retry.1m",
                "p.read-model",
                "p.notify.ledger.retry.1s",
                "p.notify.ledger.retry.1m",
                "p.notify.ledger",
                "p.dlq"
            ]
        );
        assert_eq!(
            topology.exchanges(),
            ["p.events", "p.notifications", "p.dead"]
        );
    }
}
