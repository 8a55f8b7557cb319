//! Stuck objects (SPEC 5): objects in a waiting status whose last event occurred before a
//! time, oldest first, a page at a time. Each family's statement is served by its partial
//! index `<table>_stuck` on (occurred_at, object_id) over the waiting statuses only, so the
//! concluded objects, however many, are never read. The index is built here, from the same
//! predicate the statements use, rather than in a migration: `CREATE INDEX CONCURRENTLY`
//! (the tables take writes meanwhile) must run alone, outside any transaction.

use crate::catalogue::{Family, Waiting};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StuckObject {
    pub object_id: String,
    pub status: String,
    pub account_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub last_event_id: String,
}

/// Where a page starts: after the object at this place in the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub occurred_at: DateTime<Utc>,
    pub object_id: String,
}

/// The statement of a page of `family`'s stuck objects: `$1` the time before which their
/// last event occurred, `$2`/`$3` the place to start after (NULL for the first page), `$4` the
/// page size. `None` for a family that is never stuck.
pub fn page_statement(family: Family) -> Option<String> {
    let (table, waiting) = table_and_waiting(family)?;
    Some(format!(
        "SELECT object_id, status, account_id, occurred_at, last_event_id FROM {table}
         WHERE {waiting} AND occurred_at < $1
           AND ($2::timestamptz IS NULL OR (occurred_at, object_id) > ($2, $3))
         ORDER BY occurred_at, object_id LIMIT $4"
    ))
}

pub async fn stuck_page(
    pool: &PgPool,
    family: Family,
    before: DateTime<Utc>,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<StuckObject>, sqlx::Error> {
    let Some(statement) = page_statement(family) else {
        return Ok(Vec::new());
    };
    sqlx::query_as(&statement)
        .bind(before)
        .bind(after.map(|a| a.occurred_at))
        .bind(after.map(|a| a.object_id.as_str()))
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// How many of `family`'s objects are stuck: for the gauge `hookgate_objects_stuck`.
pub async fn count_stuck(
    pool: &PgPool,
    family: Family,
    before: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let Some((table, waiting)) = table_and_waiting(family) else {
        return Ok(0);
    };
    let statement = format!("SELECT count(*) FROM {table} WHERE {waiting} AND occurred_at < $1");
    sqlx::query_scalar(&statement)
        .bind(before)
        .fetch_one(pool)
        .await
}

/// Builds each waiting family's `<table>_stuck` index where it is missing, without blocking
/// writes; a build that failed before (an invalid index, which `IF NOT EXISTS` would keep) is
/// dropped and built again. Run with the migrations by every process that starts, one at a
/// time (a session lock): an index another process is still building is invalid too, and must
/// not be taken for a failed one.
pub async fn ensure_indexes(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    // A build reads the whole table, longer than the pool's statement timeout allows on a
    // large one; waiting for another process's builds is bounded instead. The connection is
    // closed afterwards, which also ends the session's lock.
    conn.close_on_drop();
    for setting in ["SET statement_timeout = 0", "SET lock_timeout = '5min'"] {
        sqlx::query(setting).execute(&mut *conn).await?;
    }
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(INDEX_BUILD_LOCK)
        .execute(&mut *conn)
        .await?;
    build_missing(&mut conn).await
}

/// Apart from every other advisory lock key hookgate takes.
const INDEX_BUILD_LOCK: i64 = 0x686f_6f6b_7374_7563;

async fn build_missing(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    for family in Family::that_wait() {
        let Some((table, waiting)) = table_and_waiting(family) else {
            continue;
        };
        let index = format!("{table}_stuck");
        let valid: Option<bool> = sqlx::query_scalar(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)",
        )
        .bind(&index)
        .fetch_optional(&mut *conn)
        .await?;
        if valid == Some(true) {
            continue;
        }
        if valid == Some(false) {
            tracing::warn!(%index, "a stuck-object index is invalid (a build failed); rebuilding it");
            sqlx::query(&format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"))
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query(&format!(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {table} (occurred_at, object_id)
             WHERE {waiting}"
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The family's table and its waiting predicate, with the catalogue's statuses as literals:
/// the planner matches a partial index only against a predicate it can read.
fn table_and_waiting(family: Family) -> Option<(&'static str, String)> {
    let table = family.facts()?.table;
    let literals = |statuses: &[&str]| {
        let quoted: Vec<String> = statuses.iter().map(|s| format!("'{s}'")).collect();
        quoted.join(", ")
    };
    let waiting = match family.waiting()? {
        Waiting::AnyBut(concluded) => format!("status NOT IN ({})", literals(concluded)),
        Waiting::OneOf(waiting) => format!("status IN ({})", literals(waiting)),
    };
    Some((table, waiting))
}
