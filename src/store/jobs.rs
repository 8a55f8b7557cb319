//! The session locks that keep long operations one of a kind at a time across every process.

use sqlx::PgConnection;

/// Takes the session lock `key` if no other session holds it; it is held until the session
/// ends or it is released.
pub async fn try_lock(conn: &mut PgConnection, key: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(conn)
        .await
}
