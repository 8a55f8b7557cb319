//! The PostgreSQL pool and the embedded migrations.

use sqlx::{postgres::PgPoolOptions, PgPool};
use std::time::Duration;

/// A lazy pool: the process starts even while the database is away, and each request fails
/// fast (with 503) instead of hanging when it stays away.
pub fn pool(url: &str, acquire_timeout: Duration) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(16)
        .min_connections(0)
        .acquire_timeout(acquire_timeout)
        .connect_lazy(url)
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("./migrations").run(pool).await
}
