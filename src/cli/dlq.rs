//! `hookgate dlq`: list, show, replay, purge and reindex the dead letters.

use super::{
    operations::{operations_parts, print_counts},
    output::{table, wants_json, Progress},
};
use crate::{
    ops::{
        dlq,
        service::{Operations, PurgeRequest},
    },
    settings::Settings,
};
use anyhow::bail;

pub async fn list(config: &Settings, limit: usize, json: bool) -> anyhow::Result<()> {
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

pub async fn show(config: &Settings, event_id: &str, source: Option<&str>) -> anyhow::Result<()> {
    let pool = crate::app::operations_pool(&config.database)?;
    match dlq::show(&pool, event_id, source).await? {
        Some(detail) => {
            println!("{}", serde_json::to_string_pretty(&detail)?);
            Ok(())
        }
        None => bail!("no dead letter for event {event_id}"),
    }
}

pub async fn replay(
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

pub async fn purge(config: &Settings, confirmed: bool, json: bool) -> anyhow::Result<()> {
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

pub async fn reindex(config: &Settings, json: bool) -> anyhow::Result<()> {
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
