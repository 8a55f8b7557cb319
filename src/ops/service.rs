//! The one front door to the operations that change the pipeline. The CLI, the admin API and
//! the console build a typed request, call [`Operations`], and render what it answers; the
//! order of the work (check and plan the selection, only then take a channel, carry out the
//! plan, close the channel) is written here once. Each caller says only where its channel
//! comes from ([`Queues`]): the running service's broker, or the CLI's own connection.

use super::{
    archive::{self, ArchiveFilter},
    dlq::{self, Plan, Purged, Reindexed, Selector},
    rebuild::{self, RebuildRequest, Rebuilt},
    resend::{self, ResendRequest, Resent},
    verify::{self, Report, VerifyRequest},
    Counts, OpsError,
};
use crate::amqp::{Broker, Topology};
use lapin::Channel;
use sqlx::PgPool;
use std::{future::Future, time::Duration};

/// Where an operation gets a confirm-mode channel, and the topology it works on.
pub trait Queues {
    fn topology(&self) -> &Topology;

    /// A channel for one operation, or [`OpsError::BrokerUnavailable`] soon.
    fn channel(&self) -> impl Future<Output = Result<Channel, OpsError>> + Send;
}

/// How long an operation of the running service waits for a channel before it gives up.
const CHANNEL_WAIT: Duration = Duration::from_secs(5);

impl Queues for Broker {
    fn topology(&self) -> &Topology {
        Broker::topology(self)
    }

    async fn channel(&self) -> Result<Channel, OpsError> {
        self.confirmed_channel_within(CHANNEL_WAIT)
            .await
            .ok_or(OpsError::BrokerUnavailable)
    }
}

/// Which dead letters a purge removes.
pub enum PurgeRequest {
    /// The whole DLQ, with its index.
    All,
    Selected(Selector),
}

/// The operations on one pool and one source of channels. `progress` gets (done, total).
pub struct Operations<'a, Q> {
    pool: &'a PgPool,
    queues: &'a Q,
}

impl<'a, Q: Queues> Operations<'a, Q> {
    pub fn new(pool: &'a PgPool, queues: &'a Q) -> Self {
        Operations { pool, queues }
    }

    /// What a replay or purge of `selector` will take, touching nothing.
    pub async fn plan_dead_letters(&self, selector: &Selector) -> Result<Plan, OpsError> {
        dlq::plan(self.pool, selector).await
    }

    /// Sends `selector`'s dead letters back to the queues they failed in and releases its
    /// parked events; a dry run reports the plan and takes no channel.
    pub async fn replay_dead_letters(
        &self,
        selector: &Selector,
        dry_run: bool,
        progress: impl FnMut(u64, u64),
    ) -> Result<Counts, OpsError> {
        let plan = dlq::plan(self.pool, selector).await?;
        if dry_run {
            return Ok(plan.counts);
        }
        let topology = self.queues.topology();
        self.with_channel(async |channel| {
            dlq::replay(channel, topology, self.pool, plan, progress).await
        })
        .await
    }

    pub async fn purge_dead_letters(&self, request: &PurgeRequest) -> Result<Purged, OpsError> {
        let names = &self.queues.topology().names;
        match request {
            PurgeRequest::All => {
                let purged = self
                    .with_channel(async |channel| dlq::purge(channel, names, self.pool).await)
                    .await?;
                Ok(Purged {
                    purged: purged.into(),
                    left: 0,
                })
            }
            PurgeRequest::Selected(selector) => {
                let plan = dlq::plan(self.pool, selector).await?;
                self.with_channel(async |channel| {
                    dlq::purge_selected(channel, names, self.pool, plan).await
                })
                .await
            }
        }
    }

    pub async fn reindex_dead_letters(
        &self,
        progress: impl FnMut(u64, u64),
    ) -> Result<Reindexed, OpsError> {
        let names = &self.queues.topology().names;
        self.with_channel(async |channel| dlq::reindex(channel, names, self.pool, progress).await)
            .await
    }

    /// Publishes again the archived events `filter` selects.
    pub async fn replay_archive(
        &self,
        filter: &ArchiveFilter,
        progress: impl FnMut(u64, u64),
    ) -> Result<Counts, OpsError> {
        let selection = archive::select(self.pool, filter).await?;
        let names = &self.queues.topology().names;
        self.with_channel(async |channel| {
            archive::replay(self.pool, channel, names, filter, &selection, progress).await
        })
        .await
    }

    pub async fn verify(
        &self,
        request: &VerifyRequest,
        progress: impl FnMut(u64, u64),
    ) -> Result<Report, OpsError> {
        verify::verify(self.pool, request, progress).await
    }

    pub async fn rebuild(
        &self,
        request: &RebuildRequest,
        progress: impl FnMut(u64, u64),
    ) -> Result<Rebuilt, OpsError> {
        rebuild::rebuild(self.pool, request, progress).await
    }

    /// Sends a subscriber again the notifications `request` selects (a dry run counts them
    /// and takes no channel); `kept_days` is how long retention keeps notifications.
    pub async fn resend(
        &self,
        request: &ResendRequest,
        kept_days: u32,
        progress: impl FnMut(u64, u64),
    ) -> Result<Resent, OpsError> {
        let topology = self.queues.topology();
        let now = chrono::Utc::now();
        let plan = resend::plan(self.pool, topology, request, kept_days, now).await?;
        if request.dry_run {
            return Ok(Resent {
                resent: plan.total,
                dry_run: true,
            });
        }
        self.with_channel(async |channel| {
            resend::resend(self.pool, channel, &plan, now, progress).await
        })
        .await
    }

    /// Runs `work` on a channel of its own, closed afterwards whatever the outcome.
    async fn with_channel<T>(
        &self,
        work: impl AsyncFnOnce(&Channel) -> Result<T, OpsError>,
    ) -> Result<T, OpsError> {
        let channel = self.queues.channel().await?;
        let outcome = work(&channel).await;
        let _ = channel.close(200, "done".into()).await;
        outcome
    }
}
