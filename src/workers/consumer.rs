//! The consume loop every worker shares: explicit prefetch, manual acks, bounded concurrency,
//! reconnection, and the retry/dead-letter moves of SPEC 4.

use super::dispose::{move_failed, Failure, Moved};
use crate::{amqp::Broker, telemetry::Metrics};
use futures_util::StreamExt;
use lapin::{
    message::Delivery,
    options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions},
    types::FieldTable,
    Channel,
};
use std::{future::Future, sync::Arc, time::Duration};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub trait Handler: Send + Sync + 'static {
    fn handle(&self, delivery: &Delivery) -> impl Future<Output = Result<(), Failure>> + Send;

    /// Records that a message went to the dead-letter queue, after it is safely there.
    fn dead_lettered(&self, delivery: &Delivery, error: &str) -> impl Future<Output = ()> + Send;
}

pub struct Consumer<H: Handler> {
    pub queue: String,
    pub handler: Arc<H>,
    pub broker: Arc<Broker>,
    pub metrics: Arc<Metrics>,
    pub prefetch: u16,
}

impl<H: Handler> Consumer<H> {
    pub async fn run(self, stop: CancellationToken) {
        while !stop.is_cancelled() {
            let channel = tokio::select! {
                channel = self.broker.publishing_channel() => channel,
                _ = stop.cancelled() => return,
            };
            if let Err(error) = self.consume(&channel, &stop).await {
                tracing::warn!(queue = %self.queue, %error, "consumer stopped; starting again");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    async fn consume(&self, channel: &Channel, stop: &CancellationToken) -> lapin::Result<()> {
        channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await?;
        let mut deliveries = channel
            .basic_consume(
                self.queue.as_str().into(),
                format!("hookgate-{}", uuid::Uuid::new_v4().simple())
                    .as_str()
                    .into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let in_flight = Arc::new(Semaphore::new(usize::from(self.prefetch)));
        loop {
            let delivery = tokio::select! {
                next = deliveries.next() => match next {
                    Some(delivery) => delivery?,
                    None => return Ok(()),
                },
                _ = stop.cancelled() => return Ok(()),
            };
            let permit = in_flight
                .clone()
                .acquire_owned()
                .await
                .expect("never closed");
            let step = Step {
                queue: self.queue.clone(),
                handler: self.handler.clone(),
                broker: self.broker.clone(),
                metrics: self.metrics.clone(),
                channel: channel.clone(),
            };
            let span = tracing::info_span!("consume", queue = %self.queue, message_id = %message_id(&delivery));
            tokio::spawn(
                async move {
                    step.process(delivery).await;
                    drop(permit);
                }
                .instrument(span),
            );
        }
    }
}

struct Step<H> {
    queue: String,
    handler: Arc<H>,
    broker: Arc<Broker>,
    metrics: Arc<Metrics>,
    channel: Channel,
}

impl<H: Handler> Step<H> {
    async fn process(self, delivery: Delivery) {
        let outcome = self.handler.handle(&delivery).await;
        let label = match &outcome {
            Ok(()) => "done",
            Err(failure) => {
                let topology = self.broker.topology();
                match move_failed(
                    &self.channel,
                    &topology.names,
                    &topology.tiers,
                    &self.queue,
                    &delivery,
                    failure,
                )
                .await
                {
                    Ok(Moved::Retry { tier }) => {
                        tracing::warn!(%failure, %tier, "failed; retrying later");
                        "retried"
                    }
                    Ok(Moved::DeadLettered) => {
                        tracing::error!(%failure, "failed; dead-lettered");
                        self.handler
                            .dead_lettered(&delivery, &failure.to_string())
                            .await;
                        "dead_lettered"
                    }
                    Err(error) => {
                        // Not moved: the broker keeps the message and delivers it again.
                        tracing::warn!(%failure, %error, "failed and could not be moved; requeued");
                        let _ = delivery
                            .nack(BasicNackOptions {
                                requeue: true,
                                ..BasicNackOptions::default()
                            })
                            .await;
                        self.count("requeued");
                        return;
                    }
                }
            }
        };
        if let Err(error) = delivery.ack(BasicAckOptions::default()).await {
            // The broker will deliver it again; handlers are idempotent.
            tracing::warn!(%error, "ack failed");
        }
        self.count(label);
    }

    fn count(&self, outcome: &str) {
        self.metrics
            .worker_messages
            .with_label_values(&[self.queue.as_str(), outcome])
            .inc();
    }
}

fn message_id(delivery: &Delivery) -> String {
    delivery
        .properties
        .message_id()
        .as_ref()
        .map(|id| id.to_string())
        .unwrap_or_default()
}
