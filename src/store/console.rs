//! The console's sessions and its audit log (`console_sessions`, `console_audit`).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

/// A live session, as a request's cookie found it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub csrf_token: String,
    pub operator: String,
    pub token_fingerprint: Vec<u8>,
}

pub struct NewSession<'a> {
    pub id_hash: &'a [u8],
    pub csrf_token: &'a str,
    pub operator: &'a str,
    pub token_fingerprint: &'a [u8],
    pub expires_at: DateTime<Utc>,
}

/// Stores a new session, and drops the expired ones while at it.
pub async fn open_session(pool: &PgPool, session: &NewSession<'_>) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM console_sessions WHERE expires_at < now()")
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO console_sessions (id_hash, csrf_token, operator, token_fingerprint, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(session.id_hash)
    .bind(session.csrf_token)
    .bind(session.operator)
    .bind(session.token_fingerprint)
    .bind(session.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The unexpired session with this id hash.
pub async fn find_session(
    pool: &PgPool,
    id_hash: &[u8],
) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT csrf_token, operator, token_fingerprint FROM console_sessions
         WHERE id_hash = $1 AND expires_at > now()",
    )
    .bind(id_hash)
    .fetch_optional(pool)
    .await
}

pub async fn close_session(pool: &PgPool, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub operator: String,
    /// `operator` or `viewer`; `None` for the service's own actions and refused sign-ins.
    pub role: Option<String>,
    pub action: String,
    pub detail: sqlx::types::Json<Value>,
}

pub async fn record_action(
    pool: &PgPool,
    (operator, role): (&str, Option<&str>),
    action: &str,
    detail: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO console_audit (operator, role, action, detail) VALUES ($1, $2, $3, $4)",
    )
    .bind(operator)
    .bind(role)
    .bind(action)
    .bind(sqlx::types::Json(detail))
    .execute(pool)
    .await?;
    Ok(())
}

/// The latest `limit` actions, newest first.
pub async fn recent_actions(pool: &PgPool, limit: i64) -> Result<Vec<AuditEntry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT at, operator, role, action, detail FROM console_audit ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Failed sign-ins allowed per client address and window (SPEC 5).
pub const SIGN_IN_FAILURES: i32 = 10;
/// The window, as PostgreSQL reads it; every pod counts in the same rows, by the database's
/// clock.
macro_rules! sign_in_window {
    () => {
        "interval '5 minutes'"
    };
}

/// Seconds until `client` may try again, when it has used up its failures in the window.
pub async fn sign_in_blocked_for(pool: &PgPool, client: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT ceil(EXTRACT(EPOCH FROM window_started + ",
        sign_in_window!(),
        " - now()))::bigint
         FROM console_sign_in_failures
         WHERE client = $1 AND failures >= $2 AND window_started > now() - ",
        sign_in_window!()
    ))
    .bind(client)
    .bind(SIGN_IN_FAILURES)
    .fetch_optional(pool)
    .await
}

/// Counts a failed sign-in of `client` (a new window when the last one has passed), and
/// prunes a page of expired rows.
pub async fn record_sign_in_failure(pool: &PgPool, client: &str) -> Result<(), sqlx::Error> {
    sqlx::query(concat!(
        "WITH pruned AS (
             DELETE FROM console_sign_in_failures WHERE client IN (
                 SELECT client FROM console_sign_in_failures
                 WHERE window_started < now() - ",
        sign_in_window!(),
        " AND client <> $1 LIMIT 100))
         INSERT INTO console_sign_in_failures AS f (client, window_started, failures)
         VALUES ($1, now(), 1)
         ON CONFLICT (client) DO UPDATE SET
             failures = CASE WHEN f.window_started < now() - ",
        sign_in_window!(),
        " THEN 1 ELSE f.failures + 1 END,
             window_started = CASE WHEN f.window_started < now() - ",
        sign_in_window!(),
        " THEN now() ELSE f.window_started END"
    ))
    .bind(client)
    .execute(pool)
    .await?;
    Ok(())
}
