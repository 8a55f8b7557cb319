//! `hookgate replay`, `rebuild` and `verify`: the archive published again, the read model
//! rebuilt from it or checked against it.

use super::{
    operations::{operations_parts, print_counts},
    output::{table, wants_json, Progress},
    when::parse_when,
};
use crate::{
    catalogue::Family,
    ops::{archive, rebuild::RebuildRequest, service::Operations, verify::VerifyRequest},
    settings::Settings,
};
use anyhow::bail;

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
    request: &RebuildRequest,
    json: bool,
) -> anyhow::Result<()> {
    let (pool, queues) = operations_parts(config)?;
    let progress = Progress::new("rebuilding");
    let rebuilt = Operations::new(&pool, &queues)
        .rebuild(request, |done, total| progress.update(done, total))
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
    let verb = if request.dry_run {
        "would change"
    } else {
        "changed"
    };
    println!(
        "rebuild: {} events projected, {} skipped; {verb} {} objects",
        rebuilt.replayed, rebuilt.skipped, rebuilt.differ
    );
    Ok(())
}

pub async fn verify(config: &Settings, request: &VerifyRequest, json: bool) -> anyhow::Result<()> {
    let (pool, queues) = operations_parts(config)?;
    let progress = Progress::new(if request.repair {
        "repairing"
    } else {
        "verifying"
    });
    let report = Operations::new(&pool, &queues)
        .verify(request, |done, total| progress.update(done, total))
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
    if !report.differences.is_empty() && !request.repair {
        bail!("the read model differs from the archive; `hookgate verify --repair` puts it right");
    }
    Ok(())
}
