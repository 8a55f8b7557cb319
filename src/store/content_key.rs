//! Completing the upgrade to deduplication by the signed resource (SPEC 2.4; migrations 0013
//! and 0014). Rows stored before it get their content key in pages of [`PAGE`] by `seq`, each
//! page its own short statement; only then does the old key (source, upper(eventType),
//! content hash) go, since until then it is what holds those rows. Runs in `hookgate migrate`
//! (and so at the start of run/serve/work); once done it costs one catalogue lookup.

use sqlx::PgPool;
use std::time::Duration;

/// Rows keyed per statement.
const PAGE: i64 = 10_000;
/// The old key's constraint; its absence means the upgrade is complete.
const OLD_KEY: &str = "inbox_dedup_same_content";
/// How long dropping the old key may wait for its table's lock, and how often it tries:
/// receivers insert into the table all the time, so the wait is short and retried.
const DROP_LOCK_TIMEOUT: &str = "500ms";
const DROP_TRIES: u32 = 20;
/// How often one page is tried again after losing a race with a receiver: each try sees the
/// rows the last one lost to, so a second is enough; more than this is a fault, not a race.
const PAGE_TRIES: u32 = 5;

/// What completing the upgrade did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Upgraded {
    /// Rows given their key now.
    pub keyed: u64,
    /// Whether the old key was dropped now (false when it was gone already).
    pub dropped_old_key: bool,
}

pub async fn complete(pool: &PgPool) -> Result<Upgraded, sqlx::Error> {
    let old_key: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = $1)")
            .bind(OLD_KEY)
            .fetch_one(pool)
            .await?;
    if !old_key {
        return Ok(Upgraded::default());
    }
    rebuild_index_if_invalid(pool).await?;
    let mut keyed = 0;
    let mut after = i64::MIN;
    let mut tries = 1;
    loop {
        match key_page(pool, after).await {
            Ok((Some(last), count)) => {
                keyed += count as u64;
                after = last;
                tries = 1;
            }
            Ok((None, _)) => break,
            // A receiver stored the same resource between the page's check and its update:
            // the page is tried again, and this time sees it.
            Err(sqlx::Error::Database(error))
                if error.code().as_deref() == Some("23505") && tries < PAGE_TRIES =>
            {
                tries += 1;
            }
            Err(error) => return Err(error),
        }
    }
    drop_old_key(pool).await?;
    tracing::info!(keyed, "deduplication by the signed resource is complete");
    Ok(Upgraded {
        keyed,
        dropped_old_key: true,
    })
}

/// A `CREATE INDEX CONCURRENTLY` that failed leaves an invalid index, which `IF NOT EXISTS`
/// then skips; it is rebuilt here, again without blocking inserts.
async fn rebuild_index_if_invalid(pool: &PgPool) -> Result<(), sqlx::Error> {
    let valid: Option<bool> = sqlx::query_scalar(
        "SELECT indisvalid FROM pg_index
         WHERE indexrelid = to_regclass('inbox_dedup_same_resource')",
    )
    .fetch_optional(pool)
    .await?;
    if valid == Some(false) {
        tracing::warn!("the content key's index is invalid (a build failed); rebuilding it");
        sqlx::query("REINDEX INDEX CONCURRENTLY inbox_dedup_same_resource")
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Keys the unkeyed rows among the next [`PAGE`] after `after`; returns the page's last `seq`
/// (`None` when nothing is left) and how many it keyed. Where rows stored under the old rule
/// collide under the new one (the same resource under two event types), the first stored
/// takes the key and the others stay stored as they are, keyed by their own id.
async fn key_page(pool: &PgPool, after: i64) -> Result<(Option<i64>, i64), sqlx::Error> {
    sqlx::query_as(
        "WITH page AS MATERIALIZED (
             SELECT seq, source, event_id, content_hash, content_family IS NULL AS unkeyed,
                    inbox_dedup_content_family(type_key) AS family
             FROM inbox_dedup WHERE seq > $1 ORDER BY seq LIMIT $2),
         keyed AS (
             SELECT p.*,
                    CASE WHEN inbox_dedup_orders_by_signed_time(p.family)
                              AND p.seq = min(p.seq) OVER (
                                  PARTITION BY p.source, p.family, p.content_hash)
                              AND NOT EXISTS (
                                  SELECT 1 FROM inbox_dedup AS d
                                  WHERE d.source = p.source AND d.content_family = p.family
                                    AND d.content_hash = p.content_hash AND d.copy_key = '')
                         THEN '' ELSE p.event_id END AS copy_key
             FROM page AS p WHERE p.unkeyed),
         updated AS (
             UPDATE inbox_dedup AS d SET content_family = k.family, copy_key = k.copy_key
             FROM keyed AS k WHERE d.source = k.source AND d.event_id = k.event_id
             RETURNING 1)
         SELECT (SELECT max(seq) FROM page), (SELECT count(*) FROM updated)",
    )
    .bind(after)
    .bind(PAGE)
    .fetch_one(pool)
    .await
}

async fn drop_old_key(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut tries = 1;
    loop {
        let mut tx = pool.begin().await?;
        sqlx::query(&format!("SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
            .execute(&mut *tx)
            .await?;
        let dropped = sqlx::query(&format!(
            "ALTER TABLE inbox_dedup DROP CONSTRAINT IF EXISTS {OLD_KEY}"
        ))
        .execute(&mut *tx)
        .await;
        match dropped {
            Ok(_) => return tx.commit().await,
            Err(error) if super::gave_up_waiting(&error) && tries < DROP_TRIES => {
                tries += 1;
                drop(tx);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => return Err(error),
        }
    }
}
