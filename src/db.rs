//! The PostgreSQL pool and the embedded migrations.

use sqlx::{postgres::PgPoolOptions, PgPool};
use std::time::Duration;

/// A lazy pool: the process starts even while the database is away, and each request fails
/// fast (with 503) instead of hanging when it stays away.
pub fn pool(url: &str, acquire_timeout: Duration) -> Result<PgPool, sqlx::Error> {
    sized_pool(url, acquire_timeout, 8)
}

/// A lazy pool of at most `size` connections; each role gets its own, so a busy worker can
/// never make a webhook wait for a connection.
pub fn sized_pool(url: &str, acquire_timeout: Duration, size: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(size)
        .min_connections(0)
        .acquire_timeout(acquire_timeout)
        .connect_lazy(url)
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("./migrations").run(pool).await
}
