//! Replaying the archive (the inbox) to the read-model queue, and rebuilding projections.

use super::Counts;
use crate::{
    amqp::{publish_mandatory, Names, Outcome},
    catalogue::{quote, Family},
    projection::{project, table, Mode, Projectable, StoredEvent, STORED_EVENT_COLUMNS},
    relay::{event_message, InboxRow, INBOX_ROW_COLUMNS},
};
use chrono::{DateTime, Utc};
use lapin::Channel;
use sqlx::PgPool;

const PAGE: i64 = 500;

#[derive(Debug, Clone, Default)]
pub struct ArchiveFilter {
    /// Received at or after.
    pub since: Option<DateTime<Utc>>,
    /// Received before.
    pub until: Option<DateTime<Utc>>,
    pub family: Option<Family>,
    pub event_ids: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker did not confirm event {0}; run the replay again")]
    NotConfirmed(String),
}

const FILTER: &str = "($1::timestamptz IS NULL OR received_at >= $1)
    AND ($2::timestamptz IS NULL OR received_at < $2)
    AND ($3::text IS NULL OR family = $3)
    AND (cardinality($4::text[]) = 0 OR event_id = ANY($4))";

/// Matching events, and how many of them are already processed.
pub async fn count(pool: &PgPool, filter: &ArchiveFilter) -> Result<(u64, u64), sqlx::Error> {
    let (all, processed): (i64, i64) = sqlx::query_as(&format!(
        "SELECT count(*), count(processed_at) FROM inbox_events WHERE {FILTER}"
    ))
    .bind(filter.since)
    .bind(filter.until)
    .bind(filter.family.map(Family::as_str))
    .bind(&filter.event_ids)
    .fetch_one(pool)
    .await?;
    Ok((all as u64, processed as u64))
}

/// Re-publishes matching events that are not processed yet to the read-model queue, in order
/// of receipt, each confirmed before the next page. Processed events are skipped: the worker
/// would ignore them anyway. Running it again after an interruption finishes the job.
pub async fn replay(
    pool: &PgPool,
    channel: &Channel,
    names: &Names,
    filter: &ArchiveFilter,
    mut progress: impl FnMut(u64),
) -> Result<Counts, ArchiveError> {
    let (_, processed) = count(pool, filter).await?;
    let mut counts = Counts {
        replayed: 0,
        skipped: processed,
    };
    let queue = names.read_model();
    let mut after = 0_i64;
    loop {
        let rows: Vec<InboxRow> = sqlx::query_as(&format!(
            "SELECT {INBOX_ROW_COLUMNS} FROM inbox_events
             WHERE {FILTER} AND processed_at IS NULL AND seq > $5 ORDER BY seq LIMIT $6"
        ))
        .bind(filter.since)
        .bind(filter.until)
        .bind(filter.family.map(Family::as_str))
        .bind(&filter.event_ids)
        .bind(after)
        .bind(PAGE)
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(counts);
        };
        after = last.seq;
        let mut pending = Vec::with_capacity(rows.len());
        for row in &rows {
            let message = match event_message(row) {
                Ok(message) => message,
                Err(reason) => {
                    tracing::error!(event_id = %quote(&row.event_id), %reason, "event cannot be published; not replayed");
                    counts.skipped += 1;
                    continue;
                }
            };
            let confirm =
                publish_mandatory(channel, "", &queue, &message.body, message.properties).await?;
            pending.push((row, confirm));
        }
        for (row, confirm) in pending {
            match Outcome::from(confirm.await?) {
                Outcome::Taken => counts.replayed += 1,
                _ => return Err(ArchiveError::NotConfirmed(row.event_id.clone())),
            }
            progress(counts.replayed);
        }
    }
}

/// Empties the projections of `family` (all families when `None`) and re-projects every
/// processed event, without notifying. One transaction: readers see the old read model until
/// the new one is complete, and workers wait for it. Events are read in order of receipt (the
/// primary key, so each page is an index range): the SPEC 3 order makes the result the same
/// in any order.
pub async fn rebuild(
    pool: &PgPool,
    family: Option<Family>,
    mut progress: impl FnMut(u64, u64),
) -> Result<Counts, ArchiveError> {
    let families: Vec<Family> = match family {
        Some(family) => vec![family],
        None => Family::KNOWN.to_vec(),
    };
    let names: Vec<&str> = families.iter().map(|f| f.as_str()).collect();
    // Every processed event of a known family has a time: it was projected with it.
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM inbox_events
         WHERE family = ANY($1) AND processed_at IS NOT NULL AND occurred_at IS NOT NULL",
    )
    .bind(&names)
    .fetch_one(pool)
    .await?;
    let mut tx = pool.begin().await?;
    for family in &families {
        let table = table(*family).expect("known families have tables");
        sqlx::query(&format!("TRUNCATE {table}"))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM status_history WHERE family = ANY($1)")
        .bind(&names)
        .execute(&mut *tx)
        .await?;
    let mut counts = Counts::default();
    let mut after = 0_i64;
    loop {
        // Keyset pages, read outside the transaction: these columns never change once stored.
        let page: Vec<StoredEvent> = sqlx::query_as(&format!(
            "SELECT {STORED_EVENT_COLUMNS} FROM inbox_events
             WHERE family = ANY($1) AND processed_at IS NOT NULL AND occurred_at IS NOT NULL
               AND seq > $2
             ORDER BY seq LIMIT $3"
        ))
        .bind(&names)
        .bind(after)
        .bind(PAGE)
        .fetch_all(pool)
        .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let descriptions: Vec<_> = page
            .iter()
            .filter_map(|event| event.describe().ok().map(|d| (event, d)))
            .collect();
        counts.skipped += (page.len() - descriptions.len()) as u64;
        let events: Vec<Projectable> = descriptions
            .iter()
            .map(|(event, description)| event.projectable(description))
            .collect();
        for outcome in project(&mut tx, &events, Mode::Rebuild).await? {
            match outcome {
                Ok(_) => counts.replayed += 1,
                Err(_) => counts.skipped += 1,
            }
        }
        progress(counts.replayed + counts.skipped, total as u64);
    }
    tx.commit().await?;
    Ok(counts)
}
