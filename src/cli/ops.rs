//! `hookgate dlq`, `replay`, `rebuild` and `status`.

use super::{
    output::{table, wants_json, Progress},
    when::parse_when,
};
use crate::{
    amqp::{connect_once, Topology},
    catalogue::Family,
    ops::{
        archive, dlq,
        service::{Operations, PurgeRequest, Queues, RebuildRequest, VerifyRequest},
        Counts, OpsError,
    },
    settings::Settings,
};
use anyhow::bail;
use lapin::{options::ConfirmSelectOptions, Channel};
use sqlx::PgPool;
use std::time::Duration;

/// A command's channels: a connection of its own with one attempt per node, so a refused login
/// or a broker that is down is said at once instead of retried; the topology is declared on the
/// way.
struct CommandQueues {
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
fn operations_parts(config: &Settings) -> anyhow::Result<(PgPool, CommandQueues)> {
    let pool = crate::app::operations_pool(&config.database)?;
    let queues = CommandQueues {
        urls: config.broker.urls.clone(),
        topology: Topology::from_settings(config),
    };
    Ok((pool, queues))
}

fn print_counts(counts: Counts, json: bool, what: &str) {
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

pub async fn dlq_list(config: &Settings, limit: usize, json: bool) -> anyhow::Result<()> {
    let pool = crate::app::operations_pool(&config.database)?;
    let listing = dlq::list(&pool, limit).await?;
    if wants_json(json) {
        println!("{}", serde_json::to_string(&listing.letters)?);
        return Ok(());
    }
    print!("{}", dead_letter_table(&listing));
    Ok(())
}

/// The dead letters as a table, with how many of how many are shown.
fn dead_letter_table(listing: &dlq::Listing) -> String {
    let rows: Vec<Vec<String>> = listing
        .letters
        .iter()
        .map(|l| {
            vec![
                l.event_id.clone(),
                l.family.clone().unwrap_or_default(),
                l.queue.clone().unwrap_or_default(),
                l.attempts.to_string(),
                l.failed_at.clone().unwrap_or_default(),
                l.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let headers = [
        "EVENT ID",
        "FAMILY",
        "QUEUE",
        "ATTEMPTS",
        "FAILED AT",
        "ERROR",
    ];
    format!(
        "{}{} of {} dead letters\n",
        table(&headers, &rows),
        listing.letters.len(),
        listing.total
    )
}

pub async fn dlq_show(
    config: &Settings,
    event_id: &str,
    source: Option<&str>,
) -> anyhow::Result<()> {
    let pool = crate::app::operations_pool(&config.database)?;
    match dlq::show(&pool, event_id, source).await? {
        Some(detail) => {
            println!("{}", serde_json::to_string_pretty(&detail)?);
            Ok(())
        }
        None => bail!("no dead letter for event {event_id}"),
    }
}

pub async fn dlq_replay(
    config: &Settings,
    selector: dlq::Selector,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    let (pool, queues) = operations_parts(config)?;
    let operations = Operations::new(&pool, &queues);
    let progress = Progress::new("replaying");
    let counts = operations
        .replay_dead_letters(&selector, dry_run, |done, total| {
            progress.update(done, total)
        })
        .await?;
    progress.finish();
    print_counts(
        counts,
        json,
        if dry_run { "dry run" } else { "dead letters" },
    );
    Ok(())
}

pub async fn dlq_purge(config: &Settings, confirmed: bool, json: bool) -> anyhow::Result<()> {
    if !confirmed {
        bail!("purging deletes every dead letter for good: run again with --yes");
    }
    let (pool, queues) = operations_parts(config)?;
    let purged = Operations::new(&pool, &queues)
        .purge_dead_letters(&PurgeRequest::All)
        .await?
        .purged;
    if wants_json(json) {
        println!("{}", serde_json::json!({ "purged": purged }));
    } else {
        println!("purged {purged} dead letters");
    }
    Ok(())
}

pub async fn dlq_reindex(config: &Settings, json: bool) -> anyhow::Result<()> {
    let (pool, queues) = operations_parts(config)?;
    let progress = Progress::new("reindexing");
    let done = Operations::new(&pool, &queues)
        .reindex_dead_letters(|seen, total| progress.update(seen, total))
        .await?;
    progress.finish();
    if wants_json(json) {
        println!("{}", serde_json::to_string(&done)?);
    } else {
        println!(
            "dead letters: {} indexed, {} duplicate copies removed",
            done.indexed, done.duplicates_removed
        );
    }
    Ok(())
}

pub struct ReplayArgs {
    pub since: Option<String>,
    pub until: Option<String>,
    pub family: Option<Family>,
    pub event_ids: Vec<String>,
    pub include_dead_lettered: bool,
}

pub async fn replay(config: &Settings, args: ReplayArgs, json: bool) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let time = |t: Option<String>| -> anyhow::Result<_> {
        t.map(|t| parse_when(&t, now).map_err(anyhow::Error::msg))
            .transpose()
    };
    let filter = archive::ArchiveFilter {
        since: time(args.since)?,
        until: time(args.until)?,
        family: args.family,
        event_ids: args.event_ids,
        include_dead_lettered: args.include_dead_lettered,
    };
    let (pool, queues) = operations_parts(config)?;
    let progress = Progress::new("replaying");
    let counts = Operations::new(&pool, &queues)
        .replay_archive(&filter, |done, total| progress.update(done, total))
        .await?;
    progress.finish();
    print_counts(counts, json, "archive");
    Ok(())
}

pub async fn rebuild(
    config: &Settings,
    family: Option<Family>,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    let (pool, queues) = operations_parts(config)?;
    let progress = Progress::new("rebuilding");
    let request = RebuildRequest { family, dry_run };
    let rebuilt = Operations::new(&pool, &queues)
        .rebuild(&request, |done, total| progress.update(done, total))
        .await?;
    progress.finish();
    if json {
        println!("{}", serde_json::to_string(&rebuilt)?);
        return Ok(());
    }
    for difference in &rebuilt.differences {
        println!(
            "{} {}: {} ({}) -> {} ({})",
            difference.family,
            difference.object_id,
            difference.live_status.as_deref().unwrap_or("-"),
            difference.live_event_id.as_deref().unwrap_or("-"),
            difference.rebuilt_status.as_deref().unwrap_or("-"),
            difference.rebuilt_event_id.as_deref().unwrap_or("-"),
        );
    }
    let verb = if dry_run { "would change" } else { "changed" };
    println!(
        "rebuild: {} events projected, {} skipped; {verb} {} objects",
        rebuilt.replayed, rebuilt.skipped, rebuilt.differ
    );
    Ok(())
}

pub async fn verify(
    config: &Settings,
    family: Option<Family>,
    repair: bool,
    json: bool,
) -> anyhow::Result<()> {
    let (pool, queues) = operations_parts(config)?;
    let progress = Progress::new(if repair { "repairing" } else { "verifying" });
    let request = VerifyRequest { family, repair };
    let report = Operations::new(&pool, &queues)
        .verify(&request, |done, total| progress.update(done, total))
        .await?;
    progress.finish();
    if wants_json(json) {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let rows: Vec<Vec<String>> = report
            .differences
            .iter()
            .map(|d| {
                let stored = d.stored.as_ref();
                vec![
                    d.family.to_owned(),
                    d.object_id.clone(),
                    stored.map_or("(none)".into(), |s| s.status.clone()),
                    d.expected.status.clone(),
                    d.deciding_event.clone(),
                ]
            })
            .collect();
        if !rows.is_empty() {
            print!(
                "{}",
                table(
                    &["FAMILY", "OBJECT", "STORED", "EXPECTED", "DECIDING EVENT"],
                    &rows
                )
            );
        }
        println!(
            "verified {} objects from {} events: {} differences, {} repaired",
            report.objects,
            report.events,
            report.differences.len(),
            report.repaired
        );
    }
    if !report.differences.is_empty() && !repair {
        bail!("the read model differs from the archive; `hookgate verify --repair` puts it right");
    }
    Ok(())
}

/// Reads only: the queues are looked at through a connection that declares nothing, and a
/// broker that does not answer within a second is reported as down, with exit code 1.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dead_letter_table_says_how_many_of_how_many() {
        let letter = dlq::DeadLetter {
            event_id: "evt-1".into(),
            source: Some("interlace".into()),
            event_type: Some("PAYOUT.UPDATED".into()),
            family: Some("payout".into()),
            queue: Some("hookgate.read-model".into()),
            attempts: 2,
            error: Some("unfit".into()),
            failed_at: Some("2026-11-23T10:00:00.000Z".into()),
        };
        let text = dead_letter_table(&dlq::Listing {
            letters: vec![letter],
            total: 15,
        });
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("EVENT ID  FAMILY"), "{text}");
        assert!(lines[1].starts_with("evt-1     payout"), "{text}");
        assert_eq!(lines[2], "1 of 15 dead letters");
    }
}
