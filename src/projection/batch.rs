//! Projects a batch of events with a handful of statements, whatever its size: lock the
//! objects, read their states, decide every event with [`fold`], then one multi-row write per
//! table, one for the history and one for the notifications.

use super::{fold, money_columns, table, Effect, Projectable, Projected};
use crate::{
    catalogue::{Family, RoutingKey, StatePoint, StatusToken},
    notifications::{notification_message, NotificationFacts},
};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
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
        lock(tx, objects.keys()).await?;
    }
    let stored = read_states(tx, &objects).await?;

    // Per family: new objects and objects with a row.
    let mut writes: BTreeMap<Family, (Rows, Rows)> = BTreeMap::new();
    let mut history = History::default();
    let mut notifications = Notifications::default();
    for (&(family, object_id), run) in &objects {
        let current = stored.get(&(family, object_id));
        let points: Vec<StatePoint> = run.iter().map(|(_, v)| v.point).collect();
        let effects = fold(family, current.map(StoredState::point), &points);
        let mut last_applied = None;
        let mut account_id = None;
        for ((index, valid), effect) in run.iter().zip(&effects) {
            history.push(valid, matches!(effect, Effect::Applied { .. }));
            outcomes[*index] = Ok(match effect {
                Effect::Stale => Projected::Stale,
                Effect::Applied { previous } => {
                    last_applied = Some(valid);
                    account_id = valid.event.description.account_id.as_deref().or(account_id);
                    let notified = mode == Mode::Live && *previous != Some(valid.point.status);
                    if notified {
                        notifications.push(valid, *previous);
                    }
                    Projected::Applied { notified }
                }
            });
        }
        if let Some(last) = last_applied {
            let (inserts, updates) = writes
                .entry(family)
                .or_insert_with(|| (Rows::new(family), Rows::new(family)));
            let rows = if current.is_some() { updates } else { inserts };
            rows.push(last, account_id);
        }
    }
    for (inserts, updates) in writes.values() {
        if !inserts.is_empty() {
            inserts.write(tx, Write::Insert).await?;
        }
        if !updates.is_empty() {
            updates.write(tx, Write::Update).await?;
        }
    }
    history.insert(tx).await?;
    notifications.insert(tx).await?;
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

/// The table of a family that [`validate`] accepted.
pub(super) fn table_of(family: Family) -> &'static str {
    table(family).expect("validated families have tables")
}

/// Takes a transaction-scoped lock per object, in one global order (the lock keys sorted), so
/// that concurrent batches touching the same objects wait for each other and cannot deadlock,
/// including for objects that do not exist yet.
pub(super) async fn lock<'k>(
    tx: &mut PgConnection,
    objects: impl Iterator<Item = &'k (Family, &'k str)>,
) -> Result<(), sqlx::Error> {
    let keys: Vec<String> = objects
        .map(|(family, object_id)| format!("{family}/{object_id}"))
        .collect();
    sqlx::query(
        "SELECT count(pg_advisory_xact_lock(key)) FROM (
             SELECT DISTINCT hashtextextended(name, 0) AS key FROM UNNEST($1::text[]) AS name
             ORDER BY key
         ) AS keys",
    )
    .bind(&keys)
    .execute(tx)
    .await?;
    Ok(())
}

/// The stored state of an object: status, time and the event it came from.
/// What the read model holds for an object: its status, time and the event it came from.
#[derive(Debug, sqlx::FromRow)]
pub struct StoredState {
    pub object_id: String,
    pub status: String,
    pub occurred_at: DateTime<Utc>,
    pub last_event_id: String,
}

impl StoredState {
    /// The state as the ordering rule compares it.
    pub fn point(&self) -> StatePoint<'_> {
        StatePoint {
            status: &self.status,
            occurred_at: self.occurred_at,
            event_id: &self.last_event_id,
        }
    }
}

/// The stored state of each of `ids` that has a row in `family`'s table.
pub async fn stored_states<'c>(
    executor: impl PgExecutor<'c>,
    family: Family,
    ids: &[&str],
) -> Result<Vec<StoredState>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT object_id, status, occurred_at, last_event_id FROM {} WHERE object_id = ANY($1)",
        table_of(family)
    ))
    .bind(ids)
    .fetch_all(executor)
    .await
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

#[derive(Clone, Copy)]
enum Write {
    /// New objects.
    Insert,
    /// Objects with a row: an event without an account id does not erase a known one.
    Update,
}

/// Objects' new states for one family's table, column by column.
struct Rows<'e> {
    family: Family,
    object_id: Vec<&'e str>,
    account_id: Vec<Option<&'e str>>,
    status: Vec<&'e str>,
    occurred_at: Vec<DateTime<Utc>>,
    last_event_id: Vec<&'e str>,
    last_source: Vec<&'e str>,
    resource: Vec<Option<&'e str>>,
    /// One per money column of the family.
    money: Vec<MoneyValues<'e>>,
}

#[derive(Default)]
struct MoneyValues<'e> {
    /// As the exact decimal text received: PostgreSQL's own `numeric` input keeps every digit
    /// and the scale of every value, a zero's included.
    amounts: Vec<Option<&'e str>>,
    currencies: Vec<Option<&'e str>>,
}

/// The columns every family table has, as bound, in order.
const COLUMNS: [(&str, &str); 7] = [
    ("object_id", "text"),
    ("account_id", "text"),
    ("status", "text"),
    ("occurred_at", "timestamptz"),
    ("last_event_id", "text"),
    ("last_source", "text"),
    ("resource", "text"),
];

impl<'e> Rows<'e> {
    fn new(family: Family) -> Self {
        Rows {
            family,
            object_id: Vec::new(),
            account_id: Vec::new(),
            status: Vec::new(),
            occurred_at: Vec::new(),
            last_event_id: Vec::new(),
            last_source: Vec::new(),
            resource: Vec::new(),
            money: money_columns(family)
                .iter()
                .map(|_| MoneyValues::default())
                .collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.object_id.is_empty()
    }

    /// The object takes `last`'s state, with `account_id` from the latest applied event
    /// that had one.
    fn push(&mut self, last: &Valid<'e, '_>, account_id: Option<&'e str>) {
        let d = last.event.description;
        self.object_id.push(last.object_id);
        self.account_id.push(account_id);
        self.status.push(last.point.status);
        self.occurred_at.push(last.point.occurred_at);
        self.last_event_id.push(last.event.event_id);
        self.last_source.push(last.event.source);
        self.resource.push(last.event.resource_json);
        for ((name, _, _), values) in money_columns(self.family).iter().zip(&mut self.money) {
            let found = d.amounts.iter().find(|m| m.name == *name);
            values.amounts.push(found.map(|m| m.amount.as_str()));
            values
                .currencies
                .push(found.and_then(|m| m.currency.as_deref()));
        }
    }

    async fn write(&self, tx: &mut PgConnection, write: Write) -> Result<(), sqlx::Error> {
        let table = table_of(self.family);
        let mut columns: Vec<(&str, &str)> = COLUMNS.to_vec();
        for (_, amount, currency) in money_columns(self.family) {
            columns.push((amount, "numeric"));
            columns.push((currency, "text"));
        }
        // Amounts travel as text and become `numeric` in the statement.
        let arrays = columns
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| match *kind {
                "numeric" => format!("${}::text[]", i + 1),
                _ => format!("${}::{kind}[]", i + 1),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let amounts: Vec<&str> = money_columns(self.family)
            .iter()
            .map(|(_, amount, _)| *amount)
            .collect();
        let names = columns
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ");
        let value = |name: &str| match name {
            "resource" => "v.resource::jsonb".to_owned(),
            _ if amounts.contains(&name) => format!("v.{name}::numeric"),
            _ => format!("v.{name}"),
        };
        let sql = match write {
            Write::Insert => format!(
                "INSERT INTO {table} ({names}, updated_at)
                 SELECT {}, now() FROM UNNEST({arrays}) AS v({names})",
                columns
                    .iter()
                    .map(|(name, _)| value(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Write::Update => format!(
                "UPDATE {table} AS t SET {}, updated_at = now()
                 FROM UNNEST({arrays}) AS v({names}) WHERE t.object_id = v.object_id",
                columns
                    .iter()
                    .skip(1)
                    .map(|(name, _)| match *name {
                        "account_id" => "account_id = COALESCE(v.account_id, t.account_id)".into(),
                        _ => format!("{name} = {}", value(name)),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut query = sqlx::query(&sql)
            .bind(&self.object_id)
            .bind(&self.account_id)
            .bind(&self.status)
            .bind(&self.occurred_at)
            .bind(&self.last_event_id)
            .bind(&self.last_source)
            .bind(&self.resource);
        for values in &self.money {
            query = query.bind(&values.amounts).bind(&values.currencies);
        }
        query.execute(tx).await?;
        Ok(())
    }
}

/// History rows: every event, applied or not.
#[derive(Default)]
struct History<'e> {
    family: Vec<&'static str>,
    object_id: Vec<&'e str>,
    source: Vec<&'e str>,
    event_id: Vec<&'e str>,
    status: Vec<&'e str>,
    occurred_at: Vec<DateTime<Utc>>,
    applied: Vec<bool>,
    received_at: Vec<DateTime<Utc>>,
}

impl<'e> History<'e> {
    fn push(&mut self, valid: &Valid<'e, '_>, applied: bool) {
        self.family.push(valid.family.as_str());
        self.object_id.push(valid.object_id);
        self.source.push(valid.event.source);
        self.event_id.push(valid.event.event_id);
        self.status.push(valid.point.status);
        self.occurred_at.push(valid.point.occurred_at);
        self.applied.push(applied);
        self.received_at.push(valid.event.received_at);
    }

    async fn insert(&self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.event_id.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO status_history
                 (family, object_id, source, event_id, status, occurred_at, applied, received_at)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                  $6::timestamptz[], $7::bool[], $8::timestamptz[])
             ON CONFLICT (source, event_id) DO NOTHING",
        )
        .bind(&self.family)
        .bind(&self.object_id)
        .bind(&self.source)
        .bind(&self.event_id)
        .bind(&self.status)
        .bind(&self.occurred_at)
        .bind(&self.applied)
        .bind(&self.received_at)
        .execute(tx)
        .await?;
        Ok(())
    }
}

/// Notification outbox rows for applied status changes.
#[derive(Default)]
struct Notifications<'e> {
    id: Vec<String>,
    source: Vec<&'e str>,
    event_id: Vec<&'e str>,
    routing_key: Vec<RoutingKey>,
    body: Vec<Vec<u8>>,
}

impl<'e> Notifications<'e> {
    fn push(&mut self, valid: &Valid<'e, '_>, previous: Option<&str>) {
        let event = valid.event;
        let (id, routing_key, body) = notification_message(&NotificationFacts {
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
        self.id.push(id);
        self.source.push(event.source);
        self.event_id.push(event.event_id);
        self.routing_key.push(routing_key);
        self.body.push(body);
    }

    async fn insert(&self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.id.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO notification_outbox (notification_id, source, event_id, routing_key, body)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[])
             ON CONFLICT (notification_id) DO NOTHING",
        )
        .bind(&self.id)
        .bind(&self.source)
        .bind(&self.event_id)
        .bind(
            self.routing_key
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(&self.body)
        .execute(tx)
        .await?;
        Ok(())
    }
}
