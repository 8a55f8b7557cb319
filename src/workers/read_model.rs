//! The read-model worker: projects each event exactly once in effect.
//!
//! In one transaction it claims the inbox row (`processed_at IS NULL` → now), parses the
//! resource as received, applies it, writes history and the notification outbox row. A
//! redelivery or replay of a processed event finds the row already claimed and changes nothing.

use super::{consumer::Handler, Failure};
use crate::{
    catalogue::{describe, Family},
    projection::{project, Projectable, Projected, ProjectionError},
    telemetry::Metrics,
};
use chrono::{DateTime, Utc};
use lapin::message::Delivery;
use serde::Deserialize;
use sqlx::PgPool;
use std::sync::Arc;
use tokio::sync::Notify;

pub struct ReadModelHandler {
    pub pool: PgPool,
    pub metrics: Arc<Metrics>,
    pub queue: String,
    /// Woken after a commit that wrote a notification.
    pub notifications: Arc<Notify>,
}

#[derive(Deserialize)]
struct EventRef {
    id: String,
    source: String,
}

#[derive(sqlx::FromRow)]
struct Claimed {
    event_type: String,
    resource_raw: Vec<u8>,
    resource_json: Option<String>,
    envelope_time: Option<DateTime<Utc>>,
    received_at: DateTime<Utc>,
}

fn transient(error: sqlx::Error) -> Failure {
    Failure::Transient(format!("database: {error}"))
}

impl ReadModelHandler {
    fn event_ref(delivery: &Delivery) -> Result<EventRef, Failure> {
        serde_json::from_slice(&delivery.data)
            .map_err(|_| Failure::Permanent("message is not a hookgate event message".into()))
    }
}

impl Handler for ReadModelHandler {
    async fn handle(&self, delivery: &Delivery) -> Result<(), Failure> {
        let event = Self::event_ref(delivery)?;
        let mut tx = self.pool.begin().await.map_err(transient)?;
        let claimed: Option<Claimed> = sqlx::query_as(
            "UPDATE inbox_events
             SET processed_at = now(), dead_lettered_at = NULL, error = NULL
             WHERE source = $1 AND event_id = $2 AND processed_at IS NULL
             RETURNING event_type, resource_raw, resource::text AS resource_json, envelope_time, received_at",
        )
        .bind(&event.source)
        .bind(&event.id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(transient)?;
        let Some(claimed) = claimed else {
            self.metrics
                .redeliveries
                .with_label_values(&[self.queue.as_str()])
                .inc();
            tracing::info!(event_id = %event.id, "already processed; nothing to do");
            return Ok(());
        };
        let resource = serde_json::from_slice(&claimed.resource_raw).ok();
        let description = describe(
            &claimed.event_type,
            resource.as_ref(),
            claimed.envelope_time,
        );
        if description.family == Family::Unknown {
            self.metrics
                .unknown_events
                .with_label_values(&[claimed.event_type.as_str()])
                .inc();
            tx.commit().await.map_err(transient)?;
            return Ok(());
        }
        if let Some(error) = &description.error {
            return Err(Failure::Permanent(format!(
                "resource does not fit {}: {error}",
                description.family
            )));
        }
        let projected = project(
            &mut tx,
            &Projectable {
                source: &event.source,
                event_id: &event.id,
                description: &description,
                received_at: claimed.received_at,
                resource_json: claimed.resource_json.as_deref(),
                resource_raw: &claimed.resource_raw,
            },
            true,
        )
        .await
        .map_err(|error| match error {
            ProjectionError::Database(error) => transient(error),
            ProjectionError::NotProjectable(reason) => Failure::Permanent(reason.into()),
        })?;
        tx.commit().await.map_err(transient)?;
        match projected {
            Projected::Applied { notified, .. } => {
                tracing::info!(event_id = %event.id, "applied");
                if notified {
                    self.notifications.notify_one();
                }
            }
            Projected::Stale => {
                tracing::info!(event_id = %event.id, "older than the stored state; kept in history")
            }
        }
        Ok(())
    }

    async fn dead_lettered(&self, delivery: &Delivery, error: &str) {
        let Ok(event) = Self::event_ref(delivery) else {
            return;
        };
        record_dead_letter(&self.pool, &event.source, &event.id, error).await;
    }
}

/// Marks the inbox row as dead-lettered with its reason.
pub async fn record_dead_letter(pool: &PgPool, source: &str, event_id: &str, error: &str) {
    let result = sqlx::query(
        "UPDATE inbox_events SET dead_lettered_at = now(), error = $3 WHERE source = $1 AND event_id = $2",
    )
    .bind(source)
    .bind(event_id)
    .bind(error)
    .execute(pool)
    .await;
    if let Err(error) = result {
        tracing::warn!(%event_id, %error, "dead letter not recorded in the inbox");
    }
}
