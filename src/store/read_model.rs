//! The read model: one table per family holding each object's current state. Statements for a
//! family's table are built once from the catalogue's table of per-family facts; the rows a
//! projection writes are in [`super::object_rows`]. The status
//! history of every event projected is in [`super::history`]; an object's row and history are
//! deleted and cleared together here.

use crate::catalogue::{Family, FamilyFacts, StatePoint};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use std::{collections::HashMap, sync::LazyLock};

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

#[derive(sqlx::FromRow)]
pub struct ObjectRecord {
    pub status: String,
    pub account_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub last_event_id: String,
    pub last_source: String,
    pub updated_at: DateTime<Utc>,
    pub resource: Option<String>,
}

/// The statements for one family's table.
pub(super) struct Statements {
    states: String,
    pub(super) insert: String,
    pub(super) update: String,
    find: String,
    delete: String,
}

/// Which copy of the read model a statement reads or writes: the live tables, or the shadow
/// tables an online rebuild fills (`rebuild_<table>`, `rebuild_status_history`) and then swaps
/// in (`super::rebuild`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tables {
    Live,
    Shadow,
}

impl Tables {
    /// The name of a live table in this copy.
    pub fn name(self, live: &str) -> String {
        match self {
            Tables::Live => live.to_owned(),
            Tables::Shadow => format!("rebuild_{live}"),
        }
    }
}

/// Built once per family and copy: the table name and money columns come from the catalogue,
/// never from input.
static STATEMENTS: LazyLock<HashMap<(Family, Tables), Statements>> = LazyLock::new(|| {
    Family::KNOWN
        .iter()
        .filter_map(|family| family.facts().map(|facts| (*family, facts)))
        .flat_map(|(family, facts)| {
            [Tables::Live, Tables::Shadow].map(|tables| {
                (
                    (family, tables),
                    statements(facts, &tables.name(facts.table)),
                )
            })
        })
        .collect()
});

pub(super) fn money_fields(family: Family) -> &'static [crate::catalogue::MoneyField] {
    family.facts().map_or(&[], |facts| facts.money)
}

/// The columns every family table has, in the order they are bound.
const COLUMNS: [(&str, &str); 7] = [
    ("object_id", "text"),
    ("account_id", "text"),
    ("status", "text"),
    ("occurred_at", "timestamptz"),
    ("last_event_id", "text"),
    ("last_source", "text"),
    ("resource", "text"),
];

fn statements(facts: &FamilyFacts, table: &str) -> Statements {
    let mut columns: Vec<(&str, &str)> = COLUMNS.to_vec();
    for money in facts.money {
        // Amounts travel as text and become `numeric` in the statement, keeping every digit.
        columns.push((money.amount_column, "numeric"));
        columns.push((money.currency_column, "text"));
    }
    let arrays = columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| match *kind {
            "numeric" => format!("${}::text[]", i + 1),
            _ => format!("${}::{kind}[]", i + 1),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let names = columns.iter().map(|(name, _)| *name).collect::<Vec<_>>();
    let value = |(name, kind): &(&str, &str)| match (*name, *kind) {
        ("resource", _) => "v.resource::jsonb".to_owned(),
        (_, "numeric") => format!("v.{name}::numeric"),
        _ => format!("v.{name}"),
    };
    let values = columns.iter().map(value).collect::<Vec<_>>().join(", ");
    // An event without an account id does not erase a known one.
    let assignments = columns
        .iter()
        .skip(1)
        .map(|column| match column.0 {
            "account_id" => "account_id = COALESCE(v.account_id, t.account_id)".to_owned(),
            name => format!("{name} = {}", value(column)),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let names = names.join(", ");
    Statements {
        states: format!(
            "SELECT object_id, status, occurred_at, last_event_id FROM {table}
             WHERE object_id = ANY($1)"
        ),
        insert: format!(
            "INSERT INTO {table} ({names}, updated_at)
             SELECT {values}, now() FROM UNNEST({arrays}) AS v({names})"
        ),
        update: format!(
            "UPDATE {table} AS t SET {assignments}, updated_at = now()
             FROM UNNEST({arrays}) AS v({names}) WHERE t.object_id = v.object_id"
        ),
        find: format!(
            "SELECT status, account_id, occurred_at, last_event_id, last_source, updated_at,
                    resource::text AS resource
             FROM {table} WHERE object_id = $1"
        ),
        delete: format!("DELETE FROM {table} WHERE object_id = $1"),
    }
}

/// The families with a table, in the order [`ALL_STATES`] binds their ids.
static TABLED: LazyLock<Vec<Family>> = LazyLock::new(|| {
    Family::KNOWN
        .iter()
        .copied()
        .filter(|family| family.facts().is_some())
        .collect()
});

/// Every family table's states in one statement: `$n` holds the ids for the n-th family of
/// [`TABLED`], and each row says which family it came from. One round trip per batch instead
/// of one per family.
static ALL_STATES: LazyLock<String> = LazyLock::new(|| {
    TABLED
        .iter()
        .enumerate()
        .filter_map(|(index, family)| {
            let table = family.facts()?.table;
            Some(format!(
                "SELECT {index} AS family_index, object_id, status, occurred_at, last_event_id
                 FROM {table} WHERE object_id = ANY(${}::text[])",
                index + 1
            ))
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
});

#[derive(sqlx::FromRow)]
struct FamilyState {
    family_index: i32,
    #[sqlx(flatten)]
    state: StoredState,
}

/// The stored state of each listed object that has a row, with its family, in one statement.
pub async fn stored_states_of(
    tx: &mut PgConnection,
    ids: &HashMap<Family, Vec<&str>>,
    tables: Tables,
) -> Result<Vec<(Family, StoredState)>, sqlx::Error> {
    // Planned afresh for each batch, with its own ids: a plan cached while the family tables
    // were still empty scans them whole, and stays cached until autovacuum first analyses
    // them, a minute of traffic on a new database. Planning costs a few µs per event.
    if tables == Tables::Shadow {
        // A rebuild's shadow has the tables of the families it rebuilds only.
        return shadow_states_of(tx, ids).await;
    }
    let mut query = sqlx::query_as::<_, FamilyState>(&ALL_STATES).persistent(false);
    for family in TABLED.iter() {
        query = query.bind(ids.get(family).map_or(&[][..], Vec::as_slice));
    }
    Ok(query
        .fetch_all(tx)
        .await?
        .into_iter()
        .filter_map(|row| {
            let family = *TABLED.get(usize::try_from(row.family_index).ok()?)?;
            Some((family, row.state))
        })
        .collect())
}

async fn shadow_states_of(
    tx: &mut PgConnection,
    ids: &HashMap<Family, Vec<&str>>,
) -> Result<Vec<(Family, StoredState)>, sqlx::Error> {
    let mut states = Vec::new();
    for (family, ids) in ids {
        let Some(statements) = STATEMENTS.get(&(*family, Tables::Shadow)) else {
            continue;
        };
        let rows: Vec<StoredState> = sqlx::query_as(&statements.states)
            .bind(ids)
            .fetch_all(&mut *tx)
            .await?;
        states.extend(rows.into_iter().map(|state| (*family, state)));
    }
    Ok(states)
}

/// The statements of `family`'s table in `tables`; `None` for [`Family::Unknown`].
pub(super) fn statements_of(family: Family, tables: Tables) -> Option<&'static Statements> {
    STATEMENTS.get(&(family, tables))
}

/// The statements of a family with a table, live; `None` for [`Family::Unknown`].
fn of(family: Family) -> Option<&'static Statements> {
    STATEMENTS.get(&(family, Tables::Live))
}

/// The lock every projection into the live tables holds shared, and a rebuild's swap takes
/// exclusively: while the swap waits for it and runs, projection pauses.
pub const PROJECTION_PAUSE: i64 = 0x686f_6f6b_7061_7573;

/// Takes the projection pause shared, then a transaction-scoped lock per object, in one
/// global order (the lock keys sorted), so that concurrent batches touching the same objects
/// wait for each other and cannot deadlock, including for objects that do not exist yet.
pub async fn lock_objects(tx: &mut PgConnection, keys: &[String]) -> Result<(), sqlx::Error> {
    // The target list is evaluated in order: the pause before any object.
    sqlx::query(
        "SELECT pg_advisory_xact_lock_shared($2),
                (SELECT count(pg_advisory_xact_lock(key)) FROM (
                     SELECT DISTINCT hashtextextended(name, 0) AS key
                     FROM UNNEST($1::text[]) AS name ORDER BY key) AS keys)",
    )
    .bind(keys)
    .bind(PROJECTION_PAUSE)
    .execute(tx)
    .await?;
    Ok(())
}

/// The stored state of each of `ids` that has a row in `family`'s table.
pub async fn stored_states<'c>(
    executor: impl PgExecutor<'c>,
    family: Family,
    ids: &[&str],
) -> Result<Vec<StoredState>, sqlx::Error> {
    let Some(statements) = of(family) else {
        return Ok(Vec::new());
    };
    sqlx::query_as(&statements.states)
        .bind(ids)
        .fetch_all(executor)
        .await
}

/// Deletes one object's row and history, for a repair that re-projects it.
pub async fn delete_object(
    tx: &mut PgConnection,
    family: Family,
    object_id: &str,
) -> Result<(), sqlx::Error> {
    if let Some(statements) = of(family) {
        sqlx::query(&statements.delete)
            .bind(object_id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM status_history WHERE family = $1 AND object_id = $2")
        .bind(family.as_str())
        .bind(object_id)
        .execute(tx)
        .await?;
    Ok(())
}

/// An object's row; `None` when the family has no table or the object no row.
pub async fn find_object<'c>(
    executor: impl PgExecutor<'c>,
    family: Family,
    object_id: &str,
) -> Result<Option<ObjectRecord>, sqlx::Error> {
    let Some(statements) = of(family) else {
        return Ok(None);
    };
    sqlx::query_as(&statements.find)
        .bind(object_id)
        .fetch_optional(executor)
        .await
}
