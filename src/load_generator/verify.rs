//! After a load run: wait until the read model holds every accepted event and every
//! notification is published, then report the end-to-end rate and latency, and any event lost
//! or applied twice.

use super::load::Latency;
use crate::store::{
    archive::AcceptedEvents,
    outbox::{backlog, last_published_notification, OutboxTable},
};
use hdrhistogram::Histogram;
use serde::Serialize;
use sqlx::PgPool;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub events: u64,
    /// Accepted but not processed by the deadline.
    pub lost: u64,
    /// Recorded more than once in history or notified more than once.
    pub applied_twice: u64,
    /// From the first event's receipt to the last projection commit or notification publish,
    /// whichever came later.
    pub seconds: f64,
    pub events_per_second: f64,
    /// From receipt to the commit of the projection.
    pub latency: Latency,
}

pub async fn verify(
    pool: &PgPool,
    source: &str,
    accepted: &[String],
    wait: Duration,
) -> Result<Verification, sqlx::Error> {
    let events = AcceptedEvents {
        source,
        event_ids: accepted,
    };
    let deadline = Instant::now() + wait;
    // Once a second is enough: the figures come from the rows' own times.
    loop {
        let unprocessed = events.count_unprocessed(pool).await?;
        let (unnotified, _) = backlog(pool, OutboxTable::Notifications).await?;
        if (unprocessed == 0 && unnotified == 0) || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let notified = last_published_notification(pool).await?;
    let rows = events.processing_times(pool).await?;
    let applied_twice = events.count_applied_twice(pool).await?;
    let mut histogram =
        Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("histogram bounds");
    for (received, processed) in &rows {
        let micros = (*processed - *received)
            .num_microseconds()
            .unwrap_or(0)
            .max(1) as u64;
        histogram.saturating_record(micros);
    }
    let first = rows.iter().map(|r| r.0).min();
    let last = rows.iter().map(|r| r.1).max().max(notified);
    let seconds = match (first, last) {
        (Some(first), Some(last)) => {
            ((last - first).num_microseconds().unwrap_or(0) as f64 / 1e6).max(1e-6)
        }
        _ => 0.0,
    };
    Ok(Verification {
        events: rows.len() as u64,
        lost: accepted.len().saturating_sub(rows.len()) as u64,
        applied_twice,
        seconds,
        events_per_second: if seconds > 0.0 {
            rows.len() as f64 / seconds
        } else {
            0.0
        },
        latency: Latency::of(&histogram),
    })
}
