//! The long operations under way: the session locks that keep them one of a kind at a time
//! across every process, and the progress each reports (`operation_runs`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// Takes the session lock `key` if no other session holds it; it is held until the session
/// ends or it is released.
pub async fn try_lock(conn: &mut PgConnection, key: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(conn)
        .await
}

/// Releases the session lock `key`, so that the next run may start the moment this one has
/// ended, not only once the server has noticed its session close.
pub async fn unlock(conn: &mut PgConnection, key: i64) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .execute(conn)
        .await
        .map(drop)
}

/// Records that a run of `kind` started now, replacing what a dead run left.
pub async fn started(conn: &mut PgConnection, kind: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO operation_runs (kind, started_at, done, total, updated_at)
         VALUES ($1, now(), 0, 0, now())
         ON CONFLICT (kind) DO UPDATE SET started_at = now(), done = 0, total = 0,
                                          updated_at = now(), failed_at = NULL, error = NULL",
    )
    .bind(kind)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn progressed(
    conn: &mut PgConnection,
    kind: &str,
    (done, total): (i64, i64),
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE operation_runs SET done = $2, total = $3, updated_at = now() WHERE kind = $1",
    )
    .bind(kind)
    .bind(done)
    .bind(total)
    .execute(conn)
    .await
    .map(drop)
}

/// A run that succeeded leaves no row; one that failed keeps its row, with when and why.
pub async fn finished(
    conn: &mut PgConnection,
    kind: &str,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH failed AS (UPDATE operation_runs SET failed_at = now(), error = $2
                         WHERE kind = $1 AND $2 IS NOT NULL)
         DELETE FROM operation_runs WHERE kind = $1 AND $2 IS NULL",
    )
    .bind(kind)
    .bind(error)
    .execute(conn)
    .await
    .map(drop)
}

/// A run as `status` shows it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationRun {
    pub kind: String,
    pub started_at: DateTime<Utc>,
    pub done: i64,
    pub total: i64,
    pub updated_at: DateTime<Utc>,
    /// When and why it failed, for a run that ended in an error.
    pub failed_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// Whether its process still holds the run's lock; a run that died leaves its row.
    pub running: bool,
}

/// Every run recorded; `locks` gives each kind's lock key.
pub async fn runs(pool: &PgPool, locks: &[(&str, i64)]) -> Result<Vec<OperationRun>, sqlx::Error> {
    let (kinds, keys): (Vec<&str>, Vec<i64>) = locks.iter().copied().unzip();
    // A bigint advisory key shows in pg_locks as its high and low halves.
    sqlx::query_as(
        "SELECT r.kind, r.started_at, r.done, r.total, r.updated_at, r.failed_at, r.error,
                EXISTS (SELECT 1 FROM pg_locks AS l
                        WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted
                          AND l.classid::bigint = (k.key >> 32)
                          AND l.objid::bigint = (k.key & 4294967295)) AS running
         FROM operation_runs AS r
         LEFT JOIN UNNEST($1::text[], $2::bigint[]) AS k(kind, key) USING (kind)
         ORDER BY r.kind",
    )
    .bind(kinds)
    .bind(keys)
    .fetch_all(pool)
    .await
}
