//! Projects a batch of events with a handful of statements, whatever its size: lock the
//! objects, read their states, decide every event with [`fold`], then one multi-row write per
//! table, one for the history and one for the notifications.

use super::{fold, Effect, Projectable, Projected};
use crate::{
    catalogue::{Family, StatePoint},
    store::{
        history::{insert_history, HistoryEntry},
        object_rows::{ObjectRows, ObjectState},
        outbox::{insert_notifications, NewNotification},
        read_model::{lock_objects, stored_states_of, StoredState, Tables},
    },
    wire::{notification_message, NotificationFacts},
};
use sqlx::PgConnection;
use std::collections::{BTreeMap, HashMap};

/// Who is projecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The workers: batches run concurrently, so each locks its objects first, and applied
    /// status changes are notified.
    Live,
    /// A repair of one object in the live tables: the caller holds its lock, and sends the
    /// repair's own notification.
    Repair,
    /// An online rebuild, into the shadow tables nobody else writes: downstream already has
    /// the notifications.
    Rebuild,
}

impl Mode {
    fn tables(self) -> Tables {
        match self {
            Mode::Live | Mode::Repair => Tables::Live,
            Mode::Rebuild => Tables::Shadow,
        }
    }
}

/// Applies `events` inside `tx`. Events for one object are applied in the order given.
pub async fn project(
    tx: &mut PgConnection,
    events: &[Projectable<'_>],
    mode: Mode,
) -> Result<Vec<Projected>, sqlx::Error> {
    let mut outcomes: Vec<Projected> = vec![Projected::Stale; events.len()];
    // Keyed by (family, object id): the order objects are written in.
    let mut objects: BTreeMap<(Family, &str), Vec<(usize, &Projectable)>> = BTreeMap::new();
    for (index, event) in events.iter().enumerate() {
        let key = (event.valid.family, event.valid.object_id.as_str());
        objects.entry(key).or_default().push((index, event));
    }
    if objects.is_empty() {
        return Ok(outcomes);
    }
    if mode == Mode::Live {
        lock_objects(tx, &lock_keys(objects.keys())).await?;
    }
    let tables = mode.tables();
    let stored = read_states(tx, &objects, tables).await?;

    // Per family: new objects and objects with a row.
    let mut writes: BTreeMap<Family, (ObjectRows, ObjectRows)> = BTreeMap::new();
    let mut history = Vec::new();
    let mut notifications = Vec::new();
    for (&(family, object_id), run) in &objects {
        let current = stored.get(&(family, object_id));
        let points: Vec<StatePoint> = run.iter().map(|(_, e)| e.point()).collect();
        let effects = fold(family, current.map(StoredState::point), &points);
        let mut last_applied = None;
        let mut account_id = None;
        for (&(index, event), effect) in run.iter().zip(&effects) {
            history.push(history_entry(
                event,
                matches!(effect, Effect::Applied { .. }),
            ));
            outcomes[index] = match effect {
                Effect::Stale => Projected::Stale,
                Effect::Applied { previous } => {
                    last_applied = Some(event);
                    account_id = event.valid.account_id.as_deref().or(account_id);
                    let notified =
                        mode == Mode::Live && *previous != Some(event.valid.status.as_str());
                    if notified {
                        notifications.push(notification(event, *previous));
                    }
                    Projected::Applied { notified }
                }
            };
        }
        if let Some(last) = last_applied {
            let (inserts, updates) = writes.entry(family).or_insert_with(|| {
                (
                    ObjectRows::new(family, tables),
                    ObjectRows::new(family, tables),
                )
            });
            let rows = if current.is_some() { updates } else { inserts };
            rows.push(object_state(last, account_id));
        }
    }
    for (inserts, updates) in writes.values() {
        inserts.insert(tx).await?;
        updates.update(tx).await?;
    }
    insert_history(tx, &history, tables).await?;
    insert_notifications(tx, &notifications).await?;
    Ok(outcomes)
}

/// The advisory-lock keys of objects, one per `(family, object id)`.
pub(super) fn lock_keys<'k>(objects: impl Iterator<Item = &'k (Family, &'k str)>) -> Vec<String> {
    objects
        .map(|(family, object_id)| format!("{family}/{object_id}"))
        .collect()
}

/// The stored state of every object in the batch that has a row.
async fn read_states<'k>(
    tx: &mut PgConnection,
    objects: &BTreeMap<(Family, &'k str), Vec<(usize, &Projectable<'_>)>>,
    tables: Tables,
) -> Result<HashMap<(Family, &'k str), StoredState>, sqlx::Error> {
    let mut by_family: HashMap<Family, Vec<&str>> = HashMap::new();
    for &(family, object_id) in objects.keys() {
        by_family.entry(family).or_default().push(object_id);
    }
    let mut rows: HashMap<(Family, String), StoredState> = stored_states_of(tx, &by_family, tables)
        .await?
        .into_iter()
        .map(|(family, state)| ((family, state.object_id.clone()), state))
        .collect();
    Ok(objects
        .keys()
        .filter_map(|&(family, id)| Some(((family, id), rows.remove(&(family, id.to_owned()))?)))
        .collect())
}

/// The object's row after `last`, with `account_id` from the latest applied event that had one.
fn object_state<'e>(last: &'e Projectable<'_>, account_id: Option<&'e str>) -> ObjectState<'e> {
    ObjectState {
        object_id: &last.valid.object_id,
        account_id,
        status: last.valid.status.as_str(),
        occurred_at: last.valid.occurred_at,
        last_event_id: last.event_id,
        last_source: last.source,
        resource: last.resource_json,
        amounts: &last.valid.amounts,
    }
}

fn history_entry<'e>(event: &'e Projectable<'_>, applied: bool) -> HistoryEntry<'e> {
    HistoryEntry {
        family: event.valid.family,
        object_id: &event.valid.object_id,
        source: event.source,
        event_id: event.event_id,
        status: event.valid.status.as_str(),
        occurred_at: event.valid.occurred_at,
        applied,
        received_at: event.received_at,
    }
}

/// The notification of an applied status change.
fn notification<'e>(event: &'e Projectable<'_>, previous: Option<&str>) -> NewNotification<'e> {
    let valid = event.valid;
    let (notification_id, routing_key, body) = notification_message(&NotificationFacts {
        source: event.source,
        event_id: event.event_id,
        family: valid.family,
        object_id: &valid.object_id,
        account_id: valid.account_id.as_deref(),
        previous_status: previous,
        status: &valid.status,
        occurred_at: valid.occurred_at,
        resource_raw: event.resource_raw,
    });
    NewNotification {
        notification_id,
        source: event.source,
        event_id: event.event_id,
        routing_key: routing_key.as_str().to_owned(),
        body,
        traceparent: event.traceparent.clone(),
    }
}
