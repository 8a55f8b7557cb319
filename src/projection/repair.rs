//! Putting one object right (`hookgate verify --repair`): its row and history are recomputed
//! from all of its archived events through the same projection the workers use, and the
//! status change the repair makes is notified once.

use super::{batch::lock_keys, project, Mode, Projectable};
use crate::{
    catalogue::Family,
    store::{
        outbox::{insert_notifications, NewNotification},
        read_model::{delete_object, lock_objects, StoredState},
    },
    wire::{repair_notification_message, NotificationFacts},
};
use sqlx::PgConnection;

/// Takes one object's lock for the rest of the caller's transaction, the one the workers take.
pub async fn lock_object(
    tx: &mut PgConnection,
    family: Family,
    object_id: &str,
) -> Result<(), sqlx::Error> {
    lock_objects(tx, &lock_keys([(family, object_id)].iter())).await
}

/// Re-projects `events` (every archived event of one object) in place of what the read model
/// holds (`wrong`, when it has a row), inside the caller's transaction, which holds the
/// object's lock ([`lock_object`]); `deciding` is the event the new state comes from.
pub async fn replace_object(
    tx: &mut PgConnection,
    family: Family,
    object_id: &str,
    events: &[Projectable<'_>],
    deciding: &Projectable<'_>,
    wrong: Option<&StoredState>,
) -> Result<(), sqlx::Error> {
    delete_object(tx, family, object_id).await?;
    project(tx, events, Mode::Repair).await?;
    if wrong.is_some_and(|w| w.status == deciding.valid.status.as_str()) {
        return Ok(());
    }
    notify(tx, deciding, wrong).await
}

async fn notify(
    tx: &mut PgConnection,
    deciding: &Projectable<'_>,
    wrong: Option<&StoredState>,
) -> Result<(), sqlx::Error> {
    let valid = deciding.valid;
    let facts = NotificationFacts {
        source: deciding.source,
        event_id: deciding.event_id,
        family: valid.family,
        object_id: &valid.object_id,
        account_id: valid.account_id.as_deref(),
        previous_status: wrong.map(|w| w.status.as_str()),
        status: &valid.status,
        occurred_at: valid.occurred_at,
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
        traceparent: deciding.traceparent.clone(),
    };
    insert_notifications(tx, &[notification]).await
}
