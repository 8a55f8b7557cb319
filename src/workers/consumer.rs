//! The consume loop every worker shares: explicit prefetch, manual acks (one `multiple` ack per
//! settled run of deliveries, see `ack_window`), bounded concurrency, reconnection, and the
//! retry/dead-letter moves of SPEC 4.

use super::{
    ack_window::Acker,
    dispose::{move_failed, Destinations, Failure, Moved},
    retry_watch,
};
use crate::{
    amqp::{answered, Broker},
    each_alone::each_alone,
    heartbeat::Heartbeat,
    store::Deadline,
    telemetry::Metrics,
    wire::{message_id_of, was_retried},
};
use futures_util::{FutureExt, StreamExt};
use lapin::{
    message::Delivery,
    options::{BasicConsumeOptions, BasicNackOptions, BasicQosOptions},
    types::FieldTable,
    Channel,
};
use sqlx::PgPool;
use std::{future::Future, panic::AssertUnwindSafe, sync::Arc, time::Duration};
use tokio::{sync::Semaphore, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Every `outcome` label of `hookgate_worker_messages_total`.
pub const OUTCOMES: [&str; 4] = ["done", "retried", "dead_lettered", "requeued"];

/// How long the steps under way get to settle their messages when consuming ends.
const STEP_DRAIN: Duration = Duration::from_secs(10);

/// How long a message that could not be moved waits before it is handed back to the queue.
const REQUEUE_PAUSE: Duration = Duration::from_secs(1);

/// [`each_alone`] for a worker's messages: a transient failure ends the walk, and the messages
/// not tried share it (they come back later, as the whole batch would have). One outcome per
/// message, in order.
pub async fn handle_each_alone<'a, T, F>(
    batch: &'a [T],
    work: impl FnMut(&'a T) -> F,
) -> Vec<Result<(), Failure>>
where
    F: Future<Output = Result<(), Failure>>,
{
    let transient = |failure: &Failure| matches!(failure, Failure::Transient(_));
    let mut outcomes = each_alone(batch, work, transient).await;
    if let Some(stopped) = outcomes.last().cloned() {
        outcomes.resize(batch.len(), stopped);
    }
    outcomes
}

pub trait Handler: Send + Sync + 'static {
    /// Handles deliveries that arrived together; one outcome per delivery, in order.
    fn handle(
        &self,
        deliveries: &[Delivery],
    ) -> impl Future<Output = Vec<Result<(), Failure>>> + Send;

    /// Records that a message went to the dead-letter queue, after it is safely there.
    fn dead_lettered(&self, delivery: &Delivery, error: &str) -> impl Future<Output = ()> + Send;
}

pub struct Consumer<H: Handler> {
    pub queue: String,
    pub handler: Arc<H>,
    pub broker: Arc<Broker>,
    pub metrics: Arc<Metrics>,
    /// Where the DLQ index and the retry watch are written, within `deadline`.
    pub pool: PgPool,
    pub deadline: Deadline,
    /// How late a retried message may come back before it is published again.
    pub retry_grace: Duration,
    pub prefetch: u16,
    /// Deliveries handed to the handler at once, at most; a batch never waits for more to
    /// arrive, it takes what is already there.
    pub batch: usize,
}

impl<H: Handler> Consumer<H> {
    pub async fn run(self: Arc<Self>, heartbeat: Heartbeat, stop: CancellationToken) {
        while !stop.is_cancelled() {
            // Confirms on: a failed delivery's retry or dead letter is published on the channel
            // it was consumed from, and acknowledged only once the broker confirmed it.
            let channel = tokio::select! {
                channel = heartbeat.beating_while(self.broker.confirmed_channel()) => channel,
                _ = stop.cancelled() => return,
            };
            if let Err(error) = self.consume(&channel, &heartbeat, &stop).await {
                tracing::warn!(queue = %self.queue, %error, "consumer stopped; starting again");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    async fn consume(
        &self,
        channel: &Channel,
        heartbeat: &Heartbeat,
        stop: &CancellationToken,
    ) -> lapin::Result<()> {
        // A broker that went silent as the channel opened must hold neither this consumer
        // nor a stopping process: both calls have a deadline and give way to `stop`.
        let tag = format!("hookgate-{}", uuid::Uuid::new_v4().simple());
        let setup = async {
            answered(
                "basic.qos",
                channel.basic_qos(self.prefetch, BasicQosOptions::default()),
            )
            .await?;
            answered(
                "basic.consume",
                channel.basic_consume(
                    self.queue.as_str().into(),
                    tag.as_str().into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                ),
            )
            .await
        };
        let mut deliveries = tokio::select! {
            deliveries = setup => deliveries?,
            _ = stop.cancelled() => return Ok(()),
        };
        let batches = (usize::from(self.prefetch) / self.batch.max(1)).max(1);
        let in_flight = Arc::new(Semaphore::new(batches));
        let acker = Arc::new(Acker::new(channel.clone()));
        let mut steps = JoinSet::new();
        let outcome = self
            .take_batches(
                channel,
                &mut deliveries,
                (&in_flight, &acker),
                &mut steps,
                heartbeat,
                stop,
            )
            .await;
        // Steps under way finish their acks before the channel goes, within a bound: a step
        // stuck on a lost connection must not hold the consumer (or a stopping process).
        let drained = tokio::time::timeout(STEP_DRAIN, async {
            while let Some(finished) = steps.join_next().await {
                self.report(finished);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(queue = %self.queue, steps = steps.len(), "steps did not finish; abandoned, their messages come back unacked");
            steps.abort_all();
            // Closing the channel hands its unacked messages back to the queue now.
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                channel.close(200, "steps abandoned".into()),
            )
            .await;
        }
        outcome
    }

    async fn take_batches(
        &self,
        channel: &Channel,
        deliveries: &mut lapin::Consumer,
        (in_flight, acker): (&Arc<Semaphore>, &Arc<Acker>),
        steps: &mut JoinSet<()>,
        heartbeat: &Heartbeat,
        stop: &CancellationToken,
    ) -> lapin::Result<()> {
        loop {
            heartbeat.beat();
            while let Some(finished) = steps.try_join_next() {
                self.report(finished);
            }
            // Not beating while every step is busy: a step that never ends shows as stale.
            let permit = tokio::select! {
                permit = in_flight.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return Ok(()),
                },
                _ = stop.cancelled() => return Ok(()),
            };
            let first = tokio::select! {
                next = heartbeat.beating_while(deliveries.next()) => match next {
                    Some(delivery) => delivery?,
                    None => return Ok(()),
                },
                _ = stop.cancelled() => return Ok(()),
            };
            let mut batch = vec![first];
            while batch.len() < self.batch.max(1) {
                match deliveries.next().now_or_never() {
                    Some(Some(delivery)) => batch.push(delivery?),
                    Some(None) | None => break,
                }
            }
            for delivery in &batch {
                acker.received(delivery.delivery_tag).await;
            }
            let step = Step {
                queue: self.queue.clone(),
                handler: self.handler.clone(),
                broker: self.broker.clone(),
                metrics: self.metrics.clone(),
                pool: self.pool.clone(),
                deadline: self.deadline,
                retry_grace: self.retry_grace,
                channel: channel.clone(),
                acker: acker.clone(),
            };
            let span = tracing::info_span!("consume", queue = %self.queue, messages = batch.len());
            steps.spawn(
                async move {
                    step.process(batch).await;
                    drop(permit);
                }
                .instrument(span),
            );
        }
    }

    /// A step that panicked outside the handler (the handler's own panics are caught in the
    /// step): logged and counted. Its unacknowledged messages come back when this channel
    /// closes (the consumer's next reconnection) or at the broker's consumer timeout.
    fn report(&self, finished: Result<(), tokio::task::JoinError>) {
        if let Err(error) = finished {
            tracing::error!(queue = %self.queue, %error, "consumer step failed");
            self.metrics
                .consumer_step_failures
                .with_label_values(&[self.queue.as_str()])
                .inc();
        }
    }
}

struct Step<H> {
    queue: String,
    handler: Arc<H>,
    broker: Arc<Broker>,
    metrics: Arc<Metrics>,
    pool: PgPool,
    deadline: Deadline,
    retry_grace: Duration,
    channel: Channel,
    acker: Arc<Acker>,
}

impl<H: Handler> Step<H> {
    async fn process(&self, batch: Vec<Delivery>) {
        let outcomes = match self.handle_catching_panics(&batch).await {
            Some(outcomes) => outcomes,
            None => {
                // The handler panicked: each message alone, so only the one that panics fails,
                // permanently, and goes to the DLQ instead of coming back for ever.
                tracing::error!(
                    messages = batch.len(),
                    "handler panicked; handling the batch one by one"
                );
                handle_each_alone(&batch, async |delivery| {
                    match self
                        .handle_catching_panics(std::slice::from_ref(delivery))
                        .await
                    {
                        Some(mut outcome) => outcome.pop().unwrap_or(Ok(())),
                        None => Err(Failure::Permanent(
                            "the handler panicked on this message".into(),
                        )),
                    }
                })
                .await
            }
        };
        let mut settled = Vec::with_capacity(batch.len());
        for (delivery, outcome) in batch.into_iter().zip(outcomes) {
            let span =
                tracing::info_span!("message", message_id = %message_id_of(&delivery.properties));
            let tag = delivery.delivery_tag;
            if self.settle(delivery, outcome).instrument(span).await {
                settled.push(tag);
            }
        }
        // One ack with `multiple=true` for the batch (and any earlier batches it completes).
        if let Err(error) = self.acker.settle(settled).await {
            // The broker will deliver them again; handlers are idempotent.
            tracing::warn!(%error, "ack failed");
        }
    }

    async fn handle_catching_panics(&self, batch: &[Delivery]) -> Option<Vec<Result<(), Failure>>> {
        AssertUnwindSafe(self.handler.handle(batch))
            .catch_unwind()
            .await
            .ok()
    }

    /// Settles a handled message, or moves a failed one on (with a confirm) and settles it;
    /// counts it under one of [`OUTCOMES`]. Returns whether it is to be acknowledged: false
    /// when it was given back to the queue instead.
    async fn settle(&self, delivery: Delivery, outcome: Result<(), Failure>) -> bool {
        let label = match &outcome {
            Ok(()) => "done",
            Err(failure) => {
                let topology = self.broker.topology();
                let to = Destinations {
                    names: &topology.names,
                    tiers: &topology.tiers,
                    index: &self.pool,
                    deadline: self.deadline,
                    retry_grace: self.retry_grace,
                };
                match move_failed(&self.channel, &to, &self.queue, &delivery, failure).await {
                    Ok(Moved::Retry { tier }) => {
                        tracing::warn!(%failure, %tier, "failed; retrying later");
                        "retried"
                    }
                    Ok(moved @ (Moved::DeadLettered | Moved::AlreadyDeadLettered)) => {
                        if moved == Moved::DeadLettered {
                            tracing::error!(%failure, "failed; dead-lettered");
                        } else {
                            tracing::warn!(%failure, "failed again; its dead letter is in the DLQ already");
                        }
                        self.handler
                            .dead_lettered(&delivery, &failure.to_string())
                            .await;
                        "dead_lettered"
                    }
                    Err(error) => {
                        // Not moved: the broker keeps the message and delivers it again, after
                        // a pause, so an index or broker outage is not a busy loop.
                        tracing::warn!(%failure, %error, "failed and could not be moved; requeued");
                        tokio::time::sleep(REQUEUE_PAUSE).await;
                        let _ = delivery
                            .nack(BasicNackOptions {
                                requeue: true,
                                ..BasicNackOptions::default()
                            })
                            .await;
                        self.acker.given_back(delivery.delivery_tag).await;
                        self.count("requeued");
                        return false;
                    }
                }
            }
        };
        if label != "retried" && was_retried(&delivery.properties) {
            let (queue, within) = (self.queue.as_str(), self.deadline);
            retry_watch::forget(&self.pool, within, queue, &delivery.properties).await;
        }
        self.count(label);
        true
    }

    fn count(&self, outcome: &str) {
        self.metrics
            .worker_messages
            .with_label_values(&[self.queue.as_str(), outcome])
            .inc();
    }
}
