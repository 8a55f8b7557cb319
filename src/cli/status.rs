//! `hookgate status`: what is waiting where, and the long operations under way.

use super::output::{table, wants_json};
use crate::{
    amqp::{connect_once, Topology},
    ops::status,
    settings::Settings,
};
use anyhow::bail;
use std::time::Duration;

pub async fn show(config: &Settings, json: bool) -> anyhow::Result<()> {
    let pool = crate::app::operations_pool(&config.database)?;
    let topology = Topology::from_settings(config);
    let looked = connect_once(&config.broker.urls, Duration::from_secs(1)).await;
    let channel = match &looked {
        Ok(connection) => connection.create_channel().await.map_err(|e| e.to_string()),
        Err(error) => Err(format!("unreachable: {error}")),
    };
    let status = status::gather(&pool, &topology, channel.as_ref().map_err(Clone::clone)).await?;
    if let Ok(connection) = looked {
        let _ = connection.close(200, "done".into()).await;
    }
    print_status(&status, json)?;
    if status.broker != "up" {
        bail!("broker {}", status.broker);
    }
    Ok(())
}

fn print_status(status: &status::Status, json: bool) -> anyhow::Result<()> {
    if wants_json(json) {
        println!("{}", serde_json::to_string(&status)?);
        return Ok(());
    }
    let i = &status.inbox;
    println!(
        "inbox: {} events, {} unpublished, {} unprocessed, {} dead-lettered ({} parked by the relay)",
        i.total, i.unpublished, i.unprocessed, i.dead_lettered, i.parked
    );
    for outbox in &status.outboxes {
        println!(
            "outbox {}: {} waiting, oldest {:.1} s",
            outbox.outbox, outbox.backlog, outbox.oldest_age_seconds
        );
    }
    match &status.last_processed {
        Some(last) => println!(
            "last processed: {} ({}) at {}",
            last.event_id, last.event_type, last.processed_at
        ),
        None => println!("last processed: none"),
    }
    match &status.queues {
        Some(queues) => {
            let rows: Vec<Vec<String>> = queues
                .iter()
                .map(|q| {
                    vec![
                        q.queue.clone(),
                        q.messages.to_string(),
                        q.consumers.to_string(),
                    ]
                })
                .collect();
            print!("{}", table(&["QUEUE", "MESSAGES", "CONSUMERS"], &rows));
        }
        None => println!("queues: broker {}", status.broker),
    }
    for run in &status.operations {
        let state = if run.running { "running" } else { "died" };
        println!(
            "{}: {state}, {} of {} since {} (last report {})",
            run.kind,
            run.done,
            run.total,
            crate::catalogue::format_time(&run.started_at),
            crate::catalogue::format_time(&run.updated_at)
        );
    }
    Ok(())
}
