//! What the commands that change the pipeline share: the channels a command opens for itself,
//! and how a replay's counts are printed.

use super::output::wants_json;
use crate::{
    amqp::{connect_once, Topology},
    ops::{service::Queues, Counts, OpsError},
    settings::Settings,
};
use lapin::{options::ConfirmSelectOptions, Channel};
use sqlx::PgPool;
use std::time::Duration;

/// A command's channels: a connection of its own with one attempt per node, so a refused login
/// or a broker that is down is said at once instead of retried; the topology is declared on the
/// way.
pub(super) struct CommandQueues {
    urls: Vec<String>,
    topology: Topology,
}

impl Queues for CommandQueues {
    fn topology(&self) -> &Topology {
        &self.topology
    }

    async fn channel(&self) -> Result<Channel, OpsError> {
        let connection = connect_once(&self.urls, Duration::from_secs(5)).await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        self.topology.declare(&channel).await?;
        Ok(channel)
    }
}

/// The operations pool and the command's channels.
pub(super) fn operations_parts(config: &Settings) -> anyhow::Result<(PgPool, CommandQueues)> {
    let pool = crate::app::operations_pool(&config.database)?;
    let queues = CommandQueues {
        urls: config.broker.urls.clone(),
        topology: Topology::from_settings(config),
    };
    Ok((pool, queues))
}

pub(super) fn print_counts(counts: Counts, json: bool, what: &str) {
    if wants_json(json) {
        println!(
            "{}",
            serde_json::to_string(&counts).expect("counts serialise")
        );
    } else if counts.dry_run {
        println!(
            "{what}: would replay {}, would skip {}",
            counts.replayed, counts.skipped
        );
    } else {
        println!(
            "{what}: {} replayed, {} skipped",
            counts.replayed, counts.skipped
        );
    }
}
