//! Replaying the archive (the inbox) to the read-model queue.

use super::{Counts, OpsError};
use crate::{
    amqp::{confirmed, publish_mandatory, Names, Outcome},
    catalogue::quote,
    store::archive,
    wire::event_message,
};
use lapin::Channel;
use sqlx::PgPool;

const PAGE: i64 = 500;

pub use crate::store::archive::{ArchiveFilter, Selection};

/// What `filter` selects, or why it cannot be meant: an inverted time range, an id no archived
/// event has, or nothing at all.
pub async fn select(pool: &PgPool, filter: &ArchiveFilter) -> Result<Selection, OpsError> {
    if let (Some(since), Some(until)) = (&filter.since, &filter.until) {
        OpsError::unless_ordered(since, until, ["--since", "--until"])?;
    }
    let unknown = archive::unknown_event_ids(pool, &filter.event_ids).await?;
    if !unknown.is_empty() {
        let shown: Vec<String> = unknown.iter().take(10).map(|id| quote(id)).collect();
        return Err(OpsError::Selection(format!(
            "no archived event has the id {}{}",
            shown.join(", "),
            if unknown.len() > 10 { ", …" } else { "" }
        )));
    }
    let selection = archive::count(pool, filter).await?;
    if selection.matched == 0 {
        return Err(OpsError::Selection(
            "no archived event matches the selection".into(),
        ));
    }
    Ok(selection)
}

/// Re-publishes matching events that are not processed yet to the read-model queue, in order
/// of receipt, each confirmed before the next page. Processed events are skipped: the worker
/// would ignore them anyway. Dead-lettered ones are skipped unless the filter includes them,
/// so a replay cannot fill the DLQ again. Running it again after an interruption finishes
/// the job. `selection` is what [`select`] found for `filter`, so a selection that cannot be
/// meant is refused before the broker is touched; `progress` gets (replayed, to replay).
pub async fn replay(
    pool: &PgPool,
    channel: &Channel,
    names: &Names,
    filter: &ArchiveFilter,
    selection: &Selection,
    mut progress: impl FnMut(u64, u64),
) -> Result<Counts, OpsError> {
    let skipped = selection.skipped(filter.include_dead_lettered);
    let to_replay = selection.matched - skipped;
    let mut counts = Counts {
        replayed: 0,
        skipped,
        dry_run: false,
    };
    let queue = names.read_model();
    let mut after = 0_i64;
    loop {
        let rows = archive::unprocessed_page(pool, filter, after, PAGE).await?;
        let Some(last) = rows.last() else {
            return Ok(counts);
        };
        after = last.seq;
        let mut pending = Vec::with_capacity(rows.len());
        for row in &rows {
            let message = match event_message(row) {
                Ok(message) => message,
                Err(reason) => {
                    tracing::error!(event_id = %quote(&row.key.event_id), %reason, "event cannot be published; not replayed");
                    counts.skipped += 1;
                    continue;
                }
            };
            let confirm =
                publish_mandatory(channel, "", &queue, &message.body, message.properties).await?;
            pending.push((row, confirm));
        }
        for (row, confirm) in pending {
            match confirmed(confirm).await? {
                Outcome::Taken => counts.replayed += 1,
                _ => return Err(OpsError::NotConfirmed(row.key.event_id.clone())),
            }
            progress(counts.replayed, to_replay);
        }
    }
}
