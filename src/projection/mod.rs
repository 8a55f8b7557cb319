//! The read model: applies an event to its object under the SPEC 3 ordering rules, records it
//! in the object's history and, for an applied status transition, writes the notification to
//! the notification outbox, all inside the caller's transaction.

mod tables;

pub use tables::{money_columns, table};

use crate::{
    catalogue::{applies, Description, Family, StatePoint},
    notifications::{notification_message, NotificationFacts},
};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// A valid event of a known family, ready to project.
pub struct Projectable<'a> {
    pub source: &'a str,
    pub event_id: &'a str,
    pub description: &'a Description,
    pub received_at: DateTime<Utc>,
    /// The resource as JSON text, when it can be stored as JSONB.
    pub resource_json: Option<&'a str>,
    pub resource_raw: &'a [u8],
}

/// An event as the inbox keeps it, with what projecting it needs.
#[derive(sqlx::FromRow)]
pub struct StoredEvent {
    pub seq: i64,
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    pub resource_raw: Vec<u8>,
    pub resource_json: Option<String>,
    pub envelope_time: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

/// The inbox columns of a [`StoredEvent`].
pub const STORED_EVENT_COLUMNS: &str = "seq, source, event_id, event_type, resource_raw, \
     resource::text AS resource_json, envelope_time, received_at";

impl StoredEvent {
    /// The catalogue's reading of the resource as received.
    pub fn describe(&self) -> Description {
        let resource = serde_json::from_slice(&self.resource_raw).ok();
        crate::catalogue::describe(&self.event_type, resource.as_ref(), self.envelope_time)
    }

    pub fn projectable<'a>(&'a self, description: &'a Description) -> Projectable<'a> {
        Projectable {
            source: &self.source,
            event_id: &self.event_id,
            description,
            received_at: self.received_at,
            resource_json: self.resource_json.as_deref(),
            resource_raw: &self.resource_raw,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projected {
    /// The event became the object's state; `notified` when it changed the status.
    Applied {
        previous: Option<String>,
        notified: bool,
    },
    /// Older than the stored state: kept in the history only.
    Stale,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    NotProjectable(&'static str),
}

/// Applies `event` inside `tx`. `notify` is false when rebuilding, since downstream already
/// has those notifications.
pub async fn project(
    tx: &mut PgConnection,
    event: &Projectable<'_>,
    notify: bool,
) -> Result<Projected, ProjectionError> {
    let d = event.description;
    let table = table(d.family).ok_or(ProjectionError::NotProjectable("family has no table"))?;
    let (Some(status), Some(object_id), Some(occurred_at)) =
        (d.status.as_deref(), d.object_id.as_deref(), d.occurred_at)
    else {
        return Err(ProjectionError::NotProjectable(
            "event does not fit its family",
        ));
    };
    let incoming = StatePoint {
        status,
        occurred_at,
    };
    // Two attempts: a first event racing another first event for the same object finds the
    // row already there on its second look, and is then compared like any other.
    let mut outcome = None;
    for _ in 0..2 {
        let stored: Option<(String, DateTime<Utc>)> = sqlx::query_as(&format!(
            "SELECT status, occurred_at FROM {table} WHERE object_id = $1 FOR UPDATE"
        ))
        .bind(object_id)
        .fetch_optional(&mut *tx)
        .await?;
        match stored {
            Some((stored_status, stored_at)) => {
                let current = StatePoint {
                    status: &stored_status,
                    occurred_at: stored_at,
                };
                outcome = Some(if applies(d.family, Some(current), incoming) {
                    write(tx, table, event, false).await?;
                    Some(Some(stored_status))
                } else {
                    None
                });
                break;
            }
            None => {
                if write(tx, table, event, true).await? {
                    outcome = Some(Some(None));
                    break;
                }
            }
        }
    }
    let applied = outcome.ok_or(ProjectionError::NotProjectable("object row vanished"))?;
    sqlx::query(
        "INSERT INTO status_history (family, object_id, source, event_id, status, occurred_at, applied, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (source, event_id) DO NOTHING",
    )
    .bind(d.family.as_str())
    .bind(object_id)
    .bind(event.source)
    .bind(event.event_id)
    .bind(status)
    .bind(occurred_at)
    .bind(applied.is_some())
    .bind(event.received_at)
    .execute(&mut *tx)
    .await?;
    let Some(previous) = applied else {
        return Ok(Projected::Stale);
    };
    let changed = previous.as_deref() != Some(status);
    if notify && changed {
        let (id, routing_key, body) = notification_message(&NotificationFacts {
            source: event.source,
            event_id: event.event_id,
            family: d.family,
            object_id,
            account_id: d.account_id.as_deref(),
            previous_status: previous.as_deref(),
            status,
            occurred_at,
            resource_raw: event.resource_raw,
        });
        sqlx::query(
            "INSERT INTO notification_outbox (notification_id, source, event_id, routing_key, body)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (notification_id) DO NOTHING",
        )
        .bind(id)
        .bind(event.source)
        .bind(event.event_id)
        .bind(routing_key)
        .bind(body)
        .execute(&mut *tx)
        .await?;
    }
    Ok(Projected::Applied {
        previous,
        notified: notify && changed,
    })
}

/// Inserts (`first`) or overwrites the object's row; an insert returns false when another
/// transaction created the row first.
async fn write(
    tx: &mut PgConnection,
    table: &str,
    event: &Projectable<'_>,
    first: bool,
) -> Result<bool, sqlx::Error> {
    let d = event.description;
    let money = money_columns(d.family);
    let mut columns = vec![
        "object_id",
        "account_id",
        "status",
        "occurred_at",
        "last_event_id",
        "last_source",
        "resource",
    ];
    for (_, amount, currency) in money {
        columns.push(amount);
        columns.push(currency);
    }
    let placeholders: Vec<String> = (1..=columns.len())
        .map(|i| {
            if columns[i - 1] == "resource" {
                format!("${i}::jsonb")
            } else {
                format!("${i}")
            }
        })
        .collect();
    let sql = if first {
        format!(
            "INSERT INTO {table} ({}, updated_at) VALUES ({}, now()) ON CONFLICT (object_id) DO NOTHING",
            columns.join(", "),
            placeholders.join(", ")
        )
    } else {
        let sets: Vec<String> = columns
            .iter()
            .zip(&placeholders)
            .skip(1)
            .map(|(column, value)| match *column {
                // An event without an account id does not erase a known one.
                "account_id" => format!("account_id = COALESCE({value}, account_id)"),
                _ => format!("{column} = {value}"),
            })
            .collect();
        format!(
            "UPDATE {table} SET {}, updated_at = now() WHERE object_id = $1",
            sets.join(", ")
        )
    };
    let mut query = sqlx::query(&sql)
        .bind(d.object_id.as_deref())
        .bind(d.account_id.as_deref())
        .bind(d.status.as_deref())
        .bind(d.occurred_at)
        .bind(event.event_id)
        .bind(event.source)
        .bind(event.resource_json);
    for (name, _, _) in money {
        let found = d.amounts.iter().find(|m| m.name == *name);
        query = query
            .bind(found.map(|m| m.amount))
            .bind(found.and_then(|m| m.currency.clone()));
    }
    Ok(query.execute(tx).await?.rows_affected() == 1)
}

/// The family name for a table, for the read API.
pub fn family_of(name: &str) -> Option<Family> {
    Family::parse(name).filter(|f| table(*f).is_some())
}
