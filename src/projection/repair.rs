//! Putting one object right (`hookgate verify --repair`): its row and history are recomputed
//! from all of its archived events through the same projection the workers use, and the
//! status change the repair makes is notified once.

use super::{
    batch::{lock, table_of, StoredState},
    project, Mode, Projectable,
};
use crate::{
    catalogue::{Family, StatusToken},
    notifications::{repair_notification_message, NotificationFacts},
};
use sqlx::PgConnection;

/// Re-projects `events` (every archived event of one object) in place of what the read model
/// holds (`wrong`, when it has a row), inside the caller's transaction; `deciding` is the event
/// the new state comes from.
pub async fn replace_object(
    tx: &mut PgConnection,
    family: Family,
    object_id: &str,
    events: &[Projectable<'_>],
    deciding: &Projectable<'_>,
    wrong: Option<&StoredState>,
) -> Result<(), sqlx::Error> {
    lock(tx, [(family, object_id)].iter()).await?;
    sqlx::query(&format!(
        "DELETE FROM {} WHERE object_id = $1",
        table_of(family)
    ))
    .bind(object_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM status_history WHERE family = $1 AND object_id = $2")
        .bind(family.as_str())
        .bind(object_id)
        .execute(&mut *tx)
        .await?;
    project(tx, events, Mode::Rebuild).await?;
    let (Some(status), Some(occurred_at)) = (
        deciding.description.status.as_ref(),
        deciding.description.occurred_at,
    ) else {
        return Ok(());
    };
    if wrong.is_some_and(|w| w.status == status.as_str()) {
        return Ok(());
    }
    notify(tx, family, object_id, deciding, status, occurred_at, wrong).await
}

async fn notify(
    tx: &mut PgConnection,
    family: Family,
    object_id: &str,
    deciding: &Projectable<'_>,
    status: &StatusToken,
    occurred_at: chrono::DateTime<chrono::Utc>,
    wrong: Option<&StoredState>,
) -> Result<(), sqlx::Error> {
    let facts = NotificationFacts {
        source: deciding.source,
        event_id: deciding.event_id,
        family,
        object_id,
        account_id: deciding.description.account_id.as_deref(),
        previous_status: wrong.map(|w| w.status.as_str()),
        status,
        occurred_at,
        resource_raw: deciding.resource_raw,
    };
    let repaired_from = wrong.map_or("", |w| w.last_event_id.as_str());
    let (id, routing_key, body) = repair_notification_message(&facts, repaired_from);
    sqlx::query(
        "INSERT INTO notification_outbox (notification_id, source, event_id, routing_key, body)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (notification_id) DO NOTHING",
    )
    .bind(id)
    .bind(deciding.source)
    .bind(deciding.event_id)
    .bind(routing_key.as_str())
    .bind(body)
    .execute(tx)
    .await?;
    Ok(())
}
