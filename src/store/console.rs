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
    pub action: String,
    pub detail: sqlx::types::Json<Value>,
}

pub async fn record_action(
    pool: &PgPool,
    operator: &str,
    action: &str,
    detail: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO console_audit (operator, action, detail) VALUES ($1, $2, $3)")
        .bind(operator)
        .bind(action)
        .bind(sqlx::types::Json(detail))
        .execute(pool)
        .await?;
    Ok(())
}

/// The latest `limit` actions, newest first.
pub async fn recent_actions(pool: &PgPool, limit: i64) -> Result<Vec<AuditEntry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT at, operator, action, detail FROM console_audit ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}
