//! The transactional-outbox relay: claims unpublished rows, publishes them with confirms and
//! marks them published only after the broker acknowledged them without returning them.
//!
//! One loop serves both outboxes, events and notifications, through the [`Outbox`] trait. It
//! runs when woken after a commit and on a timer, so rows left behind by a crash, a broker
//! outage, a nack or a return are picked up again. Rows are claimed with
//! `FOR UPDATE SKIP LOCKED`, so several processes can relay side by side without publishing a
//! row twice, and in order of receipt within each process. A row whose message cannot be built
//! within AMQP's limits is parked with its reason, so it cannot hold up the rows behind it.

mod event_outbox;
mod notification_outbox;

pub use event_outbox::EventOutbox;
pub use notification_outbox::NotificationOutbox;

use crate::{
    amqp::{confirmed, publish_mandatory, Broker, Link, Outcome},
    catalogue::RoutingKey,
    catalogue::{bounded_error, LimitError},
    heartbeat::Heartbeat,
    telemetry::{traces, Metrics},
    wire::trace_of,
};
use crate::{
    settings::RelaySettings,
    store::{
        outbox::{self, ClaimLimit, OutboxTable},
        Deadline,
    },
};
use lapin::{BasicProperties, Channel};
use sqlx::{PgConnection, PgPool};
use std::{future::Future, sync::Arc, time::Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// A message ready to publish, with the outbox key it is marked by.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub key: i64,
    pub event_id: String,
    pub exchange: String,
    pub routing_key: RoutingKey,
    pub body: Vec<u8>,
    pub properties: BasicProperties,
}

/// What a claim found: messages ready to publish, and rows whose message cannot be built
/// (outbox key and why), which are parked.
#[derive(Default)]
pub struct Claimed {
    pub ready: Vec<Outgoing>,
    pub unpublishable: Vec<(i64, String)>,
}

impl Claimed {
    /// Sorts each claimed row's message, or why it has none, into its list.
    fn of<O: Outbox>(outbox: &O, rows: Vec<O::Row>) -> Claimed {
        let mut claimed = Claimed::default();
        for row in rows {
            match outbox.outgoing(row) {
                (_, Ok(outgoing)) => claimed.ready.push(outgoing),
                (key, Err(reason)) => claimed.unpublishable.push((key, reason.to_string())),
            }
        }
        claimed
    }

    fn len(&self) -> usize {
        self.ready.len() + self.unpublishable.len()
    }
}

pub trait Outbox: Send + Sync + 'static {
    /// A claimed row.
    type Row: Send;

    /// The `outbox` metric label.
    fn name(&self) -> &'static str {
        Self::TABLE.name()
    }

    /// Whether a message the broker returned as unroutable is done with (true) or must be
    /// published again (false, the default: for events a return means a missing queue).
    fn unroutable_is_final(&self) -> bool {
        false
    }

    /// Locks and returns unpublished, unparked rows within `limit`, oldest first, skipping
    /// rows another relay holds.
    fn claim(
        &self,
        tx: &mut PgConnection,
        limit: ClaimLimit,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send;

    /// A row's outbox key, and its message or why it cannot be built within AMQP's limits.
    fn outgoing(&self, row: Self::Row) -> (i64, Result<Outgoing, LimitError>);

    /// The outbox table.
    const TABLE: OutboxTable;
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
}

struct Pass {
    claimed: usize,
    undelivered: usize,
}

pub struct Relay<O: Outbox> {
    pub outbox: O,
    pub pool: PgPool,
    pub broker: Arc<Broker>,
    pub metrics: Arc<Metrics>,
    pub settings: RelaySettings,
    /// Every database call's, so a connection gone silent cannot hold the relay.
    pub deadline: Deadline,
}

impl<O: Outbox> Relay<O> {
    pub async fn run(
        self: Arc<Self>,
        wake: Arc<Notify>,
        heartbeat: Heartbeat,
        stop: CancellationToken,
    ) {
        let mut link: Option<Link> = None;
        let mut sweep = tokio::time::interval(self.settings.sweep_every);
        while !stop.is_cancelled() {
            heartbeat.beat();
            let live = match link.as_ref().filter(|l| l.channel.status().connected()) {
                Some(live) => live.clone(),
                None => {
                    tokio::select! {
                        fresh = heartbeat.beating_while(self.broker.publishing_link()) => {
                            link = Some(fresh.clone());
                            fresh
                        }
                        _ = stop.cancelled() => break,
                    }
                }
            };
            let more_waiting = match self.relay_once(&live.channel).await {
                // A claim cut short by its byte budget leaves rows behind too: claim again
                // until one finds nothing.
                Ok(pass) => pass.undelivered == 0 && pass.claimed > 0,
                Err(RelayError::Broker(error)) => {
                    tracing::warn!(outbox = self.outbox.name(), %error, "publish failed; reconnecting");
                    self.broker.connection_failed(live.connection).await;
                    link = None;
                    false
                }
                Err(RelayError::Database(error)) => {
                    tracing::warn!(outbox = self.outbox.name(), %error, "outbox unavailable");
                    false
                }
            };
            if more_waiting {
                continue;
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = sweep.tick() => {}
                _ = stop.cancelled() => break,
            }
        }
    }

    async fn relay_once(&self, channel: &Channel) -> Result<Pass, RelayError> {
        let within = self.deadline;
        let mut tx = within.on(self.pool.begin()).await?;
        let limit = ClaimLimit {
            rows: self.settings.batch,
            bytes: self.settings.batch_bytes,
        };
        let rows = within.on(self.outbox.claim(&mut tx, limit)).await?;
        let claimed = Claimed::of(&self.outbox, rows);
        if !claimed.unpublishable.is_empty() {
            for (key, reason) in &claimed.unpublishable {
                tracing::error!(outbox = self.outbox.name(), key, %reason, "row cannot be published; parked");
            }
            self.metrics
                .parked
                .with_label_values(&[self.outbox.name()])
                .inc_by(claimed.unpublishable.len() as u64);
            let (keys, reasons): (Vec<i64>, Vec<String>) = claimed
                .unpublishable
                .iter()
                .map(|(key, reason)| (*key, bounded_error(reason.as_str())))
                .unzip();
            within
                .on(outbox::park(&mut tx, O::TABLE, &keys, &reasons))
                .await?;
        }
        let claimed_rows = claimed.len();
        let batch = claimed.ready;
        if batch.is_empty() {
            within.on(tx.commit()).await?;
            return Ok(Pass {
                claimed: claimed_rows,
                undelivered: 0,
            });
        }
        let label = [self.outbox.name()];
        let started = Instant::now();
        let mut delivered = Vec::with_capacity(batch.len());
        let outcome = self.publish_all(channel, &batch, &mut delivered).await;
        let elapsed = started.elapsed().as_secs_f64();
        for _ in &delivered {
            self.metrics
                .publish_seconds
                .with_label_values(&label)
                .observe(elapsed);
        }
        // What was confirmed stays confirmed even when the link broke half-way.
        within
            .on(outbox::mark_published(&mut tx, O::TABLE, &delivered))
            .await?;
        within.on(tx.commit()).await?;
        outcome?;
        Ok(Pass {
            claimed: claimed_rows,
            undelivered: batch.len() - delivered.len(),
        })
    }

    async fn publish_all(
        &self,
        channel: &Channel,
        batch: &[Outgoing],
        delivered: &mut Vec<i64>,
    ) -> Result<(), RelayError> {
        let label = [self.outbox.name()];
        let mut pending = Vec::with_capacity(batch.len());
        for message in batch {
            let confirm = publish_mandatory(
                channel,
                &message.exchange,
                &message.routing_key,
                &message.body,
                message.properties.clone(),
            )
            .await?;
            pending.push((message, confirm));
        }
        for (message, confirm) in pending {
            let span = tracing::info_span!("publish", event_id = %message.event_id, routing_key = %message.routing_key);
            traces::follow(&span, trace_of(&message.properties).as_ref());
            match confirmed(confirm).await? {
                Outcome::Taken => {
                    self.metrics
                        .publish_confirms
                        .with_label_values(&label)
                        .inc();
                    delivered.push(message.key);
                }
                Outcome::Returned(reply) => {
                    if self.outbox.unroutable_is_final() {
                        self.metrics
                            .publish_unrouted
                            .with_label_values(&label)
                            .inc();
                        delivered.push(message.key);
                    } else {
                        self.metrics.publish_returns.with_label_values(&label).inc();
                        span.in_scope(|| {
                            tracing::error!(%reply, "broker returned the message: no queue is bound for it")
                        });
                    }
                }
                Outcome::Refused => {
                    self.metrics.publish_nacks.with_label_values(&label).inc();
                    span.in_scope(|| tracing::warn!("broker refused the message"));
                }
            }
        }
        Ok(())
    }
}
