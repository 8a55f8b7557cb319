//! Declares the SPEC 4 topology. Every declaration is idempotent, so each start (and each
//! reconnection) declares it again.

use super::names::Names;
use crate::settings::{RetryTier, Settings};
use crate::wire::text_value;
use lapin::{
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable, ShortString},
    Channel, ExchangeKind,
};

/// How many nodes each quorum queue is first placed on. Three tolerates the loss of one node;
/// on a larger cluster, `rabbitmq-queues grow` adds members. Every process declares the same
/// value, because RabbitMQ refuses a redeclaration with a different one.
pub const QUORUM_INITIAL_GROUP_SIZE: i32 = 3;

/// What is declared: the names, the subscribers' queues and patterns, the retry tiers.
#[derive(Debug, Clone)]
pub struct Topology {
    pub names: Names,
    /// `(subscriber name, routing patterns)`.
    pub subscribers: Vec<(String, Vec<String>)>,
    pub tiers: Vec<RetryTier>,
}

impl Topology {
    /// The SPEC 4 topology the settings describe: their prefix, one queue per subscriber,
    /// their tiers.
    pub fn from_settings(settings: &Settings) -> Topology {
        Topology {
            names: Names::new(settings.broker.prefix.clone()),
            subscribers: settings
                .subscribers
                .iter()
                .map(|s| (s.name.clone(), s.patterns.clone()))
                .collect(),
            tiers: settings.broker.retry_tiers.clone(),
        }
    }

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
                arguments.insert("x-dead-letter-exchange".into(), text_value(""));
                arguments.insert(
                    "x-dead-letter-routing-key".into(),
                    text_value(queue.as_str()),
                );
                declare_quorum(channel, &self.names.retry(&queue, tier), arguments).await?;
            }
        }
        Ok(())
    }
}

/// Declares a durable quorum queue on three nodes, with `arguments` besides.
pub async fn declare_quorum(
    channel: &Channel,
    queue: &str,
    mut arguments: FieldTable,
) -> lapin::Result<()> {
    arguments.insert("x-queue-type".into(), text_value("quorum"));
    arguments.insert(
        "x-quorum-initial-group-size".into(),
        AMQPValue::LongInt(QUORUM_INITIAL_GROUP_SIZE),
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
    use serde_json::{json, Value};

    /// The topology as a RabbitMQ definitions document (what `deploy/rabbitmq/` ships).
    fn definitions(topology: &Topology) -> Value {
        let names = &topology.names;
        let exchange = |name: String, kind: &str| {
            json!({"name": name, "vhost": "/", "type": kind, "durable": true,
                   "auto_delete": false, "internal": false, "arguments": {}})
        };
        let queue = |name: String, extra: Value| {
            let mut arguments = json!({"x-queue-type": "quorum",
                                      "x-quorum-initial-group-size": QUORUM_INITIAL_GROUP_SIZE});
            arguments
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            json!({"name": name, "vhost": "/", "durable": true, "auto_delete": false,
                   "arguments": arguments})
        };
        let binding = |source: String, queue: String, key: &str| {
            json!({"source": source, "vhost": "/", "destination": queue,
                   "destination_type": "queue", "routing_key": key, "arguments": {}})
        };
        let mut queues = vec![queue(names.read_model(), json!({}))];
        let mut bindings = vec![binding(names.events(), names.read_model(), "#")];
        for (name, patterns) in &topology.subscribers {
            queues.push(queue(names.subscriber(name), json!({})));
            for pattern in patterns {
                bindings.push(binding(
                    names.notifications(),
                    names.subscriber(name),
                    pattern,
                ));
            }
        }
        queues.push(queue(names.dlq(), json!({})));
        for work in topology.work_queues() {
            bindings.push(binding(names.dead(), names.dlq(), &work));
            for tier in &topology.tiers {
                queues.push(queue(
                    names.retry(&work, tier),
                    json!({"x-message-ttl": tier.ttl.as_millis() as u64,
                           "x-dead-letter-exchange": "", "x-dead-letter-routing-key": work}),
                ));
            }
        }
        json!({
            "exchanges": [exchange(names.events(), "topic"), exchange(names.notifications(), "topic"),
                          exchange(names.dead(), "direct")],
            "queues": queues,
            "bindings": bindings,
        })
    }

    #[test]
    fn deploy_definitions_match_what_is_declared() {
        let topology = Topology {
            names: Names::new("hookgate"),
            subscribers: Vec::new(),
            tiers: RetryTier::defaults(),
        };
        let mut shipped: Value =
            serde_json::from_str(include_str!("../../deploy/rabbitmq/definitions.json")).unwrap();
        shipped.as_object_mut().unwrap().remove("policies");
        let expected = definitions(&topology);
        assert_eq!(
            shipped,
            expected,
            "deploy/rabbitmq/definitions.json is stale; it should be:\n{}",
            serde_json::to_string_pretty(&expected).unwrap()
        );
    }

    /// The shipped policies apply to every queue hookgate declares, and to nothing else.
    #[test]
    fn deploy_policies_cover_every_queue() {
        let topology = Topology {
            names: Names::new("hookgate"),
            subscribers: vec![("ledger".into(), vec!["#".into()])],
            tiers: RetryTier::defaults(),
        };
        let shipped: Value =
            serde_json::from_str(include_str!("../../deploy/rabbitmq/definitions.json")).unwrap();
        let policies = shipped["policies"].as_array().unwrap();
        assert!(!policies.is_empty());
        for policy in policies {
            assert_eq!(policy["apply-to"], "queues");
            // `^hookgate\.`: the default prefix and its dot, so `hookgateway.x` is not caught.
            assert_eq!(policy["pattern"], "^hookgate\\.");
            assert!(topology
                .queues()
                .iter()
                .all(|queue| queue.starts_with("hookgate.")));
        }
    }

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
