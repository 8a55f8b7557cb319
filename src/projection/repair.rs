//! Putting one object right (`hookgate verify --repair`): its row and history are recomputed
//! from all of its archived events through the same projection the workers use, and the
//! status change the repair makes is notified once.

use super::{batch::lock_keys, project, Mode, Projectable};
use crate::{
    catalogue::{Family, StatusToken},
    store::{
        outbox::{insert_notifications, NewNotification},
        read_model::{delete_object, lock_objects, StoredState},
    },
    wire::{repair_notification_message, NotificationFacts},
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
    lock_objects(tx, &lock_keys([(family, object_id)].iter())).await?;
    delete_object(tx, family, object_id).await?;
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
    let (notification_id, routing_key, body) = repair_notification_message(&facts, repaired_from);
    let notification = NewNotification {
        notification_id,
        source: deciding.source,
        event_id: deciding.event_id,
        routing_key: routing_key.as_str().to_owned(),
        body,
    };
    insert_notifications(tx, &[notification]).await
}
