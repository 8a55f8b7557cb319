//! `hookgate status`: what is waiting where.

pub use crate::store::archive::{InboxTotals, LastProcessed};

use crate::{
    amqp::{inspect_queue, is_not_found, Broker, Topology},
    store::{
        archive,
        jobs::OperationRun,
        outbox::{self, OutboxTable},
    },
};
use lapin::Channel;
use serde::Serialize;
use sqlx::PgPool;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub inbox: InboxTotals,
    pub outboxes: Vec<Backlog>,
    /// `up`, or what is wrong with the broker.
    pub broker: String,
    /// `None` when the broker could not be read.
    pub queues: Option<Vec<QueueDepth>>,
    pub last_processed: Option<LastProcessed>,
    /// Long operations under way (or that died under way), with their progress.
    pub operations: Vec<OperationRun>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backlog {
    pub outbox: &'static str,
    pub backlog: i64,
    pub oldest_age_seconds: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueDepth {
    pub queue: String,
    pub messages: u32,
    pub consumers: u32,
}

/// What is waiting where. `channel` is a channel to look through, or why there is none; the
/// queues are only looked at, never declared.
pub async fn gather(
    pool: &PgPool,
    topology: &Topology,
    channel: Result<&Channel, String>,
) -> Result<Status, sqlx::Error> {
    let inbox = archive::inbox_totals(pool).await?;
    let mut outboxes = Vec::new();
    for table in OutboxTable::ALL {
        let (backlog, oldest_age_seconds) = outbox::backlog(pool, table).await?;
        outboxes.push(Backlog {
            outbox: table.name(),
            backlog,
            oldest_age_seconds,
        });
    }
    let last_processed = archive::last_processed(pool).await?;
    let (broker, queues) = match channel {
        Ok(channel) => match depths(channel, topology).await {
            Ok(depths) => ("up".to_owned(), Some(depths)),
            Err(error) if is_not_found(&error) => (
                format!(
                    "no hookgate topology under the prefix {:?} (is HOOKGATE_AMQP_PREFIX right?)",
                    topology.names.prefix()
                ),
                None,
            ),
            Err(error) => (format!("unreadable: {error}"), None),
        },
        Err(problem) => (problem, None),
    };
    Ok(Status {
        inbox,
        outboxes,
        broker,
        queues,
        last_processed,
        operations: super::jobs::runs(pool).await?,
    })
}

/// Every declared queue's depth, through a channel of its own that is closed afterwards.
pub async fn queue_depths(broker: &Broker) -> lapin::Result<Vec<QueueDepth>> {
    let channel = broker.channel().await;
    let found = depths(&channel, broker.topology()).await;
    let _ = channel.close(200, "done".into()).await;
    found
}

async fn depths(channel: &Channel, topology: &Topology) -> lapin::Result<Vec<QueueDepth>> {
    let mut depths = Vec::new();
    for queue in topology.queues() {
        let declared = inspect_queue(channel, &queue).await?;
        depths.push(QueueDepth {
            queue,
            messages: declared.message_count(),
            consumers: declared.consumer_count(),
        });
    }
    Ok(depths)
}
