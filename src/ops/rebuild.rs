//! `hookgate rebuild`: recomputes the projections from the archive into shadow tables while
//! the live read model keeps serving and the workers keep applying, then swaps them in at once
//! (SPEC 6).
//!
//! 1. **Fill.** The shadow tables are made empty (`store::rebuild`), and every processed event
//!    is projected into them object by object ([`ObjectPages`]), one short transaction a page,
//!    without notifying. `t0`, the database's time, is taken first.
//! 2. **Catch up.** The workers went on applying meanwhile. Every event processed since `t0`,
//!    less [`CLOCK_MARGIN`] (a worker's transaction takes its time when it starts), is
//!    projected into the shadow too: projecting an event twice changes nothing, as the greatest
//!    event decides a state and the history keeps one row per event. `t1` is taken first.
//! 3. **Keep.** Objects none of whose events are archived any more (retention) are copied
//!    from the live tables as they are, with the history of events no longer archived.
//! 4. **Swap**, in one transaction: projection into the live tables is paused (the workers hold
//!    [`PROJECTION_PAUSE`] shared for each batch; the swap takes it exclusively, which waits
//!    for the batches under way and holds new ones), the events processed since `t1` less the
//!    margin are caught up, and the shadow tables are renamed into place. Readers and workers
//!    wait for that transaction only. A `--family` rebuild renames that family's table and
//!    replaces its rows of the shared `status_history` in the same transaction; a full one
//!    renames the history too.
//!
//! `--dry-run` stops before the swap, lists the differences, and drops the shadow tables.
//!
//! [`PROJECTION_PAUSE`]: crate::store::read_model::PROJECTION_PAUSE

use super::{
    jobs::{self, JobKind},
    object_pages::{describe, projectable, ObjectPages},
    OpsError,
};
use crate::{
    catalogue::Family,
    projection::{project, Mode, Projectable},
    store::{
        archive, gave_up_waiting,
        rebuild::{self as shadow, ShadowDifference},
    },
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use std::time::Duration;

/// How far before a watermark the catch-up starts: longer than any worker transaction lasts
/// (each database call has a deadline of `HOOKGATE_STATEMENT_TIMEOUT_MS` + 2 s).
const CLOCK_MARGIN: chrono::Duration = chrono::Duration::minutes(2);

/// Events a catch-up page projects.
const PAGE: i64 = 1000;

/// Differences a dry run lists, at most.
const LISTED: i64 = 1000;

/// How long the swap waits for the locks it needs, each try.
const SWAP_LOCK_TIMEOUT: &str = "5s";

const SWAP_TRIES: u32 = 3;

/// What a rebuild did, or with `dry_run` would do.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rebuilt {
    /// Events projected from the archive.
    pub replayed: u64,
    /// Archived events with no projection (outside the catalogue, or not fitting it).
    pub skipped: u64,
    /// Objects whose state the swap changes (or would).
    pub differ: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// With `dry_run`: the first differences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<ShadowDifference>,
}

/// `rebuild`: one family or all, and whether only to report what would change.
pub struct RebuildRequest {
    pub family: Option<Family>,
    pub dry_run: bool,
}

/// Rebuilds what `request` names; `progress` gets events read and the total.
pub async fn rebuild(
    pool: &PgPool,
    &RebuildRequest { family, dry_run }: &RebuildRequest,
    progress: impl FnMut(u64, u64),
) -> Result<Rebuilt, OpsError> {
    let job = jobs::start(pool, JobKind::Rebuild).await?;
    let outcome = rebuild_families(pool, family, dry_run, job.reporting(progress)).await;
    job.finish(&outcome).await;
    outcome
}

async fn rebuild_families(
    pool: &PgPool,
    family: Option<Family>,
    dry_run: bool,
    mut progress: impl FnMut(u64, u64),
) -> Result<Rebuilt, OpsError> {
    let families = Family::one_or_all(family);
    let total = archive::count_processed(pool, &families).await?;
    shadow::prepare(pool, &families).await?;
    let outcome =
        rebuild_into_shadow(pool, &families, dry_run, &mut |read| progress(read, total)).await;
    if dry_run || outcome.is_err() {
        shadow::discard(pool, &families).await?;
    }
    outcome
}

async fn rebuild_into_shadow(
    pool: &PgPool,
    families: &[Family],
    dry_run: bool,
    progress: &mut impl FnMut(u64),
) -> Result<Rebuilt, OpsError> {
    let t0 = shadow::database_now(pool).await?;
    let mut rebuilt = Rebuilt {
        dry_run,
        ..Rebuilt::default()
    };
    let mut read = 0;
    for &family in families {
        let mut pages = ObjectPages::new(family);
        while let Some(objects) = pages.next(pool).await? {
            progress(read + pages.read);
            let described = describe(objects);
            let events = projectable(family, &described);
            rebuilt.skipped += (described.len() - events.len()) as u64;
            rebuilt.replayed += events.len() as u64;
            let mut tx = pool.begin().await?;
            project(&mut tx, &events, Mode::Rebuild).await?;
            tx.commit().await?;
        }
        read += pages.read;
    }
    let t1 = shadow::database_now(pool).await?;
    let mut conn = pool.acquire().await?;
    catch_up(&mut conn, families, t0).await?;
    shadow::keep_unarchived(pool, families).await?;
    let (differ, differences) = shadow::differences(pool, families, LISTED).await?;
    rebuilt.differ = u64::try_from(differ).unwrap_or(0);
    if dry_run {
        rebuilt.differences = differences;
        return Ok(rebuilt);
    }
    swap(pool, families, t1).await?;
    Ok(rebuilt)
}

/// Projects into the shadow every event of `families` processed since `since` (less the
/// margin), a page at a time, inside whatever transaction `conn` is in.
async fn catch_up(
    conn: &mut PgConnection,
    families: &[Family],
    since: DateTime<Utc>,
) -> Result<(), OpsError> {
    let since = since - CLOCK_MARGIN;
    let mut after = 0;
    loop {
        let page = archive::processed_since(conn, families, since, after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.seq;
        let described: Vec<_> = page
            .iter()
            .filter_map(|event| event.describe().ok().map(|d| (event, d)))
            .collect();
        let events: Vec<Projectable> = described
            .iter()
            .filter_map(|(event, description)| Projectable::of(event, description))
            .filter(|event| families.contains(&event.valid.family))
            .collect();
        project(conn, &events, Mode::Rebuild).await?;
    }
}

/// The swap transaction, tried again when a lock it needs is not granted in time (a long
/// report on a live table): nothing was changed then.
async fn swap(pool: &PgPool, families: &[Family], t1: DateTime<Utc>) -> Result<(), OpsError> {
    let every = Family::KNOWN.iter().all(|f| families.contains(f));
    let mut tried = 1;
    loop {
        let mut tx = pool.begin().await?;
        let swapped = async {
            shadow::pause_projection(&mut tx, SWAP_LOCK_TIMEOUT).await?;
            catch_up(&mut tx, families, t1).await?;
            shadow::swap(&mut tx, families, every).await?;
            Ok::<_, OpsError>(())
        }
        .await;
        match swapped {
            Ok(()) => return Ok(tx.commit().await?),
            Err(OpsError::Database(error)) if gave_up_waiting(&error) && tried < SWAP_TRIES => {
                tried += 1;
                tx.rollback().await?;
                tracing::warn!(
                    tried,
                    "rebuild's swap could not get its locks in time; trying again"
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => return Err(error),
        }
    }
}
