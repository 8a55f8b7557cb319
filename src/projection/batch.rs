//! Projects a batch of events with a handful of statements, whatever its size: lock the
//! objects, read their states, decide every event with [`fold`], then one multi-row write per
//! table, one for the history and one for the notifications.

use super::{fold, Effect, Projectable, Projected};
use crate::{
    catalogue::{table, Family, StatePoint, StatusToken},
    store::{
        outbox::{insert_notifications, NewNotification},
        read_model::{
            insert_history, lock_objects, stored_states, HistoryEntry, ObjectRows, ObjectState,
            StoredState,
        },
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
    /// A rebuild: its transaction holds the tables exclusively, and downstream already has
    /// the notifications.
    Rebuild,
}

/// One event's result; `Err` names why it cannot be projected.
pub type Outcome = Result<Projected, &'static str>;

/// An event that fits its family, with what ordering needs.
struct Valid<'e, 'a> {
    event: &'e Projectable<'a>,
    family: Family,
    object_id: &'e str,
    status: &'e StatusToken,
    point: StatePoint<'e>,
}

/// Applies `events` inside `tx`. Events for one object are applied in the order given.
pub async fn project(
    tx: &mut PgConnection,
    events: &[Projectable<'_>],
    mode: Mode,
) -> Result<Vec<Outcome>, sqlx::Error> {
    let mut outcomes: Vec<Outcome> = vec![Ok(Projected::Stale); events.len()];
    // Keyed by (family, object id): the order objects are written in.
    let mut objects: BTreeMap<(Family, &str), Vec<(usize, Valid)>> = BTreeMap::new();
    for (index, event) in events.iter().enumerate() {
        match validate(event) {
            Ok(valid) => objects
                .entry((valid.family, valid.object_id))
                .or_default()
                .push((index, valid)),
            Err(reason) => outcomes[index] = Err(reason),
        }
    }
    if objects.is_empty() {
        return Ok(outcomes);
    }
    if mode == Mode::Live {
        lock_objects(tx, &lock_keys(objects.keys())).await?;
    }
    let stored = read_states(tx, &objects).await?;

    // Per family: new objects and objects with a row.
    let mut writes: BTreeMap<Family, (ObjectRows, ObjectRows)> = BTreeMap::new();
    let mut history = Vec::new();
    let mut notifications = Vec::new();
    for (&(family, object_id), run) in &objects {
        let current = stored.get(&(family, object_id));
        let points: Vec<StatePoint> = run.iter().map(|(_, v)| v.point).collect();
        let effects = fold(family, current.map(StoredState::point), &points);
        let mut last_applied = None;
        let mut account_id = None;
        for ((index, valid), effect) in run.iter().zip(&effects) {
            history.push(history_entry(
                valid,
                matches!(effect, Effect::Applied { .. }),
            ));
            outcomes[*index] = Ok(match effect {
                Effect::Stale => Projected::Stale,
                Effect::Applied { previous } => {
                    last_applied = Some(valid);
                    account_id = valid.event.description.account_id.as_deref().or(account_id);
                    let notified = mode == Mode::Live && *previous != Some(valid.point.status);
                    if notified {
                        notifications.push(notification(valid, *previous));
                    }
                    Projected::Applied { notified }
                }
            });
        }
        if let Some(last) = last_applied {
            let (inserts, updates) = writes
                .entry(family)
                .or_insert_with(|| (ObjectRows::new(family), ObjectRows::new(family)));
            let rows = if current.is_some() { updates } else { inserts };
            rows.push(object_state(last, account_id));
        }
    }
    for (inserts, updates) in writes.values() {
        inserts.insert(tx).await?;
        updates.update(tx).await?;
    }
    insert_history(tx, &history).await?;
    insert_notifications(tx, &notifications).await?;
    Ok(outcomes)
}

fn validate<'e, 'a>(event: &'e Projectable<'a>) -> Result<Valid<'e, 'a>, &'static str> {
    let d = event.description;
    table(d.family).ok_or("family has no table")?;
    let (Some(status), Some(object_id), Some(occurred_at)) =
        (d.status.as_ref(), d.object_id.as_deref(), d.occurred_at)
    else {
        return Err("event does not fit its family");
    };
    Ok(Valid {
        event,
        family: d.family,
        object_id,
        status,
        point: StatePoint {
            status: status.as_str(),
            occurred_at,
            event_id: event.event_id,
        },
    })
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
    objects: &BTreeMap<(Family, &'k str), Vec<(usize, Valid<'_, '_>)>>,
) -> Result<HashMap<(Family, &'k str), StoredState>, sqlx::Error> {
    let mut by_family: BTreeMap<Family, Vec<&str>> = BTreeMap::new();
    for &(family, object_id) in objects.keys() {
        by_family.entry(family).or_default().push(object_id);
    }
    let mut stored = HashMap::new();
    for (family, ids) in by_family {
        let mut rows: HashMap<String, StoredState> = stored_states(&mut *tx, family, &ids)
            .await?
            .into_iter()
            .map(|state| (state.object_id.clone(), state))
            .collect();
        for id in ids {
            if let Some(state) = rows.remove(id) {
                stored.insert((family, id), state);
            }
        }
    }
    Ok(stored)
}

/// The object's row after `last`, with `account_id` from the latest applied event that had one.
fn object_state<'e>(last: &Valid<'e, '_>, account_id: Option<&'e str>) -> ObjectState<'e> {
    ObjectState {
        object_id: last.object_id,
        account_id,
        status: last.point.status,
        occurred_at: last.point.occurred_at,
        last_event_id: last.event.event_id,
        last_source: last.event.source,
        resource: last.event.resource_json,
        amounts: &last.event.description.amounts,
    }
}

fn history_entry<'e>(valid: &Valid<'e, '_>, applied: bool) -> HistoryEntry<'e> {
    HistoryEntry {
        family: valid.family,
        object_id: valid.object_id,
        source: valid.event.source,
        event_id: valid.event.event_id,
        status: valid.point.status,
        occurred_at: valid.point.occurred_at,
        applied,
        received_at: valid.event.received_at,
    }
}

/// The notification of an applied status change.
fn notification<'e>(valid: &Valid<'e, '_>, previous: Option<&str>) -> NewNotification<'e> {
    let event = valid.event;
    let (notification_id, routing_key, body) = notification_message(&NotificationFacts {
        source: event.source,
        event_id: event.event_id,
        family: valid.family,
        object_id: valid.object_id,
        account_id: event.description.account_id.as_deref(),
        previous_status: previous,
        status: valid.status,
        occurred_at: valid.point.occurred_at,
        resource_raw: event.resource_raw,
    });
    NewNotification {
        notification_id,
        source: event.source,
        event_id: event.event_id,
        routing_key: routing_key.as_str().to_owned(),
        body,
    }
}
