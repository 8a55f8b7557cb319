//! Indexes built online, from store code rather than in a migration: `CREATE INDEX
//! CONCURRENTLY` (the tables take writes meanwhile) must run alone, outside any transaction,
//! which a migration is not. Each module that needs one defines it; the migration step hands
//! them all to [`ensure`].

use sqlx::{PgConnection, PgPool};

/// An index by name, and what follows `CREATE INDEX <name>` in its statement.
pub struct OnlineIndex {
    pub name: String,
    pub definition: String,
}

/// Builds each of `wanted` that is missing, without blocking writes; a build that failed
/// before (an invalid index, which `IF NOT EXISTS` would keep) is dropped and built again. Run
/// with the migrations by every process that starts, one at a time (a session lock): an index
/// another process is still building is invalid too, and must not be taken for a failed one.
pub async fn ensure(
    pool: &PgPool,
    wanted: impl IntoIterator<Item = OnlineIndex>,
) -> Result<(), sqlx::Error> {
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
    for index in wanted {
        build_if_missing(&mut conn, &index).await?;
    }
    Ok(())
}

/// Apart from every other advisory lock key hookgate takes.
const INDEX_BUILD_LOCK: i64 = 0x686f_6f6b_7374_7563;

async fn build_if_missing(conn: &mut PgConnection, index: &OnlineIndex) -> Result<(), sqlx::Error> {
    let name = &index.name;
    let valid: Option<bool> =
        sqlx::query_scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
    if valid == Some(true) {
        return Ok(());
    }
    if valid == Some(false) {
        tracing::warn!(index = %name, "an index is invalid (a build failed); rebuilding it");
        sqlx::query(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"))
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(&format!(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {}",
        index.definition
    ))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
