//! RabbitMQ helpers for tests: a tap queue bound like an internal service would bind one, and
//! removal of everything a test's prefix declared.

use futures_util::StreamExt;
use lapin::{
    message::Delivery,
    options::{
        BasicAckOptions, BasicConsumeOptions, ExchangeDeleteOptions, QueueBindOptions,
        QueueDeclareOptions, QueueDeleteOptions, QueuePurgeOptions,
    },
    types::{AMQPValue, FieldTable, LongString},
    Channel, Connection, ConnectionProperties, Consumer,
};
use std::time::Duration;

/// How long a test waits for a message it expects.
pub const WAIT: Duration = Duration::from_secs(30);

pub fn url() -> String {
    std::env::var("HOOKGATE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

pub async fn connect() -> Connection {
    Connection::connect(&url(), ConnectionProperties::default())
        .await
        .expect("test broker (run deploy/services.sh)")
}

/// A queue of the test's own, bound to an exchange; it collects what the app publishes.
pub struct Tap {
    pub queue: String,
    pub channel: Channel,
    consumer: Consumer,
    _connection: Connection,
}

impl Tap {
    /// `durable` taps are quorum queues that survive a broker restart; others are exclusive and
    /// vanish with the test's connection.
    pub async fn bind(exchange: &str, pattern: &str, durable: bool) -> Tap {
        let connection = connect().await;
        let channel = connection.create_channel().await.unwrap();
        let queue = format!("{exchange}.tap.{}", uuid::Uuid::new_v4().simple());
        let mut arguments = FieldTable::default();
        let options = if durable {
            arguments.insert(
                "x-queue-type".into(),
                AMQPValue::LongString(LongString::from("quorum")),
            );
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            }
        } else {
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            }
        };
        channel
            .queue_declare(queue.as_str().into(), options, arguments)
            .await
            .unwrap();
        channel
            .queue_bind(
                queue.as_str().into(),
                exchange.into(),
                pattern.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        Tap::consume(queue, connection, channel).await
    }

    /// Consumes from a tap queue that already exists (after a broker restart, say).
    pub async fn attach(queue: &str) -> Tap {
        let connection = connect().await;
        let channel = connection.create_channel().await.unwrap();
        Tap::consume(queue.to_owned(), connection, channel).await
    }

    async fn consume(queue: String, connection: Connection, channel: Channel) -> Tap {
        let consumer = channel
            .basic_consume(
                queue.as_str().into(),
                "tap".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        Tap {
            queue,
            channel,
            consumer,
            _connection: connection,
        }
    }

    /// A tap on the app's events exchange, made once the exchange exists (declared by the
    /// app's first broker connection, or here for an app whose broker link is down).
    pub async fn bind_when_declared(app: &super::TestApp) -> Tap {
        let connection = connect().await;
        let channel = connection.create_channel().await.unwrap();
        hookgate::amqp::Topology::from_settings(&app.config)
            .declare(&channel)
            .await
            .unwrap();
        Tap::bind(&app.names().events(), "#", false).await
    }

    /// The next message, acknowledged; `None` if none comes within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Delivery> {
        let delivery = tokio::time::timeout(wait, self.consumer.next())
            .await
            .ok()??
            .ok()?;
        delivery.ack(BasicAckOptions::default()).await.unwrap();
        Some(delivery)
    }

    /// `count` messages, failing the test if they do not all come within `wait`.
    pub async fn take(&mut self, count: usize, wait: Duration) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut taken = Vec::with_capacity(count);
        while taken.len() < count {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(delivery) => taken.push(delivery),
                None => panic!("only {} of {count} messages arrived", taken.len()),
            }
        }
        taken
    }

    pub async fn delete(self) {
        self.channel
            .queue_delete(self.queue.as_str().into(), QueueDeleteOptions::default())
            .await
            .unwrap();
    }
}

/// Empties `queue`, as a broker that drops its messages would; returns how many it held.
pub async fn purge(queue: &str) -> u32 {
    let connection = connect().await;
    let channel = connection.create_channel().await.unwrap();
    channel
        .queue_purge(queue.into(), QueuePurgeOptions::default())
        .await
        .unwrap()
}

/// Deletes every queue and exchange a test prefix declared.
pub async fn remove(queues: &[String], exchanges: &[String]) {
    let Ok(connection) = Connection::connect(&url(), ConnectionProperties::default()).await else {
        return;
    };
    for queue in queues {
        if let Ok(channel) = connection.create_channel().await {
            let _ = channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
    }
    for exchange in exchanges {
        if let Ok(channel) = connection.create_channel().await {
            let _ = channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
    }
    let _ = connection.close(200, "test done".into()).await;
}

pub fn body(delivery: &Delivery) -> serde_json::Value {
    serde_json::from_slice(&delivery.data).expect("JSON message")
}

/// A header the message carries as a long string (as hookgate writes text headers).
pub fn header_text(delivery: &Delivery, name: &str) -> Option<String> {
    let headers = delivery.properties.headers().as_ref()?;
    Some(headers.inner().get(name)?.as_long_string()?.to_string())
}

pub fn message_id(delivery: &Delivery) -> String {
    delivery
        .properties
        .message_id()
        .as_ref()
        .expect("message id")
        .to_string()
}
