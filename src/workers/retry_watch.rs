//! Retried messages the broker lost on their way back. A message moved to a retry tier is
//! watched (`store::retry_watch`) until a worker handles it again; RabbitMQ hands an expired
//! retry back to its work queue at most once, and drops it when that queue has no leader at
//! the moment (a broker restart, a lost node). One that is overdue by the grace is published
//! again to its work queue, with confirm; handlers are idempotent, so a copy that was only
//! late costs a redelivery.

use crate::{
    amqp::{publish_confirmed, Broker, Outcome},
    heartbeat::Heartbeat,
    store::{
        retry_watch::{self as watch, Watched},
        Deadline,
    },
    telemetry::Metrics,
    wire::{header_text, message_id_of, X_SOURCE},
};
use lapin::{BasicProperties, Channel};
use sqlx::PgPool;
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

/// Overdue messages taken and published per pass.
const PAGE: i64 = 100;
/// A message published again this many times without coming back is forgotten: its queue is
/// gone, or it is dropped on the way every time.
const MOST_REDRIVES: i32 = 10;

/// Which message `properties` describe in the watch: its `x-source` (event ids are unique
/// per source only) and its id.
fn key_of(properties: &BasicProperties) -> (String, String) {
    let source = properties
        .headers()
        .as_ref()
        .and_then(|headers| header_text(headers, X_SOURCE))
        .unwrap_or_default();
    (source, message_id_of(properties))
}

/// Watches a message about to be moved to a retry tier of `queue`, overdue after `due_in`.
/// The move goes ahead without it: a message not watched is only not published again if the
/// broker drops it, which is logged.
pub async fn keep(
    pool: &PgPool,
    within: Deadline,
    queue: &str,
    (properties, body): (&BasicProperties, &[u8]),
    due_in: Duration,
) {
    let json = match serde_json::to_value(properties) {
        Ok(json) => json,
        Err(error) => {
            tracing::warn!(%error, "a retried message is not watched: its properties");
            return;
        }
    };
    let (source, message_id) = key_of(properties);
    let copy = Watched {
        queue: queue.to_owned(),
        source,
        message_id,
        properties: json,
        body: body.to_vec(),
    };
    if let Err(error) = within.on(watch::watch(pool, &copy, due_in)).await {
        tracing::warn!(%error, "a retried message is not watched");
    }
}

/// A retried message is back and settled (done or dead-lettered): no longer watched. A
/// failure only leaves it to be published again, which its handler ignores.
pub async fn forget(pool: &PgPool, within: Deadline, queue: &str, properties: &BasicProperties) {
    let (source, id) = key_of(properties);
    if let Err(error) = within.on(watch::came_back(pool, queue, &source, &id)).await {
        tracing::warn!(%error, "a retried message is still watched; it may be published again");
    }
}

/// Publishes the overdue messages of `queues` again, every `grace / 4` (at most every 10 s).
pub struct Redrive {
    pub pool: PgPool,
    pub broker: Arc<Broker>,
    pub metrics: Arc<Metrics>,
    pub queues: Vec<String>,
    pub grace: Duration,
    pub deadline: Deadline,
}

impl Redrive {
    pub async fn run(self: Arc<Self>, heartbeat: Heartbeat, stop: CancellationToken) {
        let every = (self.grace / 4).clamp(Duration::from_millis(100), Duration::from_secs(10));
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = heartbeat.beating_while(tick.tick()) => {}
                _ = stop.cancelled() => return,
            }
            let taken = watch::take_overdue(&self.pool, &self.queues, PAGE, self.grace);
            let overdue = match self.deadline.on(taken).await {
                Ok(overdue) => overdue,
                Err(error) => {
                    tracing::warn!(%error, "overdue retries not read");
                    continue;
                }
            };
            if !overdue.is_empty() {
                let channel = tokio::select! {
                    channel = heartbeat.beating_while(self.broker.confirmed_channel()) => channel,
                    _ = stop.cancelled() => return,
                };
                for message in &overdue {
                    self.publish_again(&channel, message).await;
                }
            }
            if let Err(error) = self
                .deadline
                .on(watch::forget_after(&self.pool, MOST_REDRIVES))
                .await
            {
                tracing::warn!(%error, "retries published too often not forgotten");
            }
        }
    }

    /// One overdue message, to its work queue; one that fails waits for its next turn.
    async fn publish_again(&self, channel: &Channel, message: &Watched) {
        let Ok(properties) = serde_json::from_value::<BasicProperties>(message.properties.clone())
        else {
            tracing::error!(message_id = %message.message_id, "a watched retry's properties do not read");
            return;
        };
        let queue = message.queue.as_str();
        match publish_confirmed(channel, "", queue, &message.body, properties).await {
            Ok(Outcome::Taken) => {
                tracing::warn!(
                    message_id = %message.message_id, %queue,
                    "a retried message did not come back in time; published again"
                );
                self.metrics
                    .retries_redriven
                    .with_label_values(&[queue])
                    .inc();
            }
            Ok(other) => tracing::warn!(?other, %queue, "a retry published again was not taken"),
            Err(error) => tracing::warn!(%error, %queue, "a retry could not be published again"),
        }
    }
}
