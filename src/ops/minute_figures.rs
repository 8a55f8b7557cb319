//! Sampling the pipeline a minute at a time for the console's charts: every process that
//! receives tries each minute once it has ended; the first writes it.

use super::stuck;
use crate::{
    heartbeat::Heartbeat,
    settings::StuckAfter,
    store::{
        archive::processing_backlog,
        dlq_index,
        minute_figures::{self, AtMinuteEnd},
    },
};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often a process looks for a minute to sample: well within the minute, so the
/// figures read at its end are at most this late.
const LOOK_EVERY: Duration = Duration::from_secs(15);
/// How long minutes are kept: the charts show one hour.
const KEEP: TimeDelta = TimeDelta::days(1);

/// The last minute that has ended at `now`.
pub fn last_ended_minute(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(TimeDelta::minutes(1))
        .expect("a minute divides any time")
        - TimeDelta::minutes(1)
}

/// Records `minute`'s figures unless some process did.
pub async fn sample(
    pool: &PgPool,
    thresholds: &StuckAfter,
    minute: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if minute_figures::recorded(pool, minute).await? {
        return Ok(());
    }
    let (backlog, backlog_age_seconds) = processing_backlog(pool).await?;
    let stuck: i64 = stuck::counts(pool, thresholds, Utc::now())
        .await?
        .iter()
        .map(|(_, count)| count)
        .sum();
    let at_end = AtMinuteEnd {
        backlog,
        backlog_age_seconds,
        dead_letters: dlq_index::count(pool).await?,
        stuck,
    };
    minute_figures::record(pool, minute, &at_end).await
}

/// Samples each minute once it has ended, and forgets those older than a day, until `stop`.
pub async fn run(
    pool: PgPool,
    thresholds: StuckAfter,
    heartbeat: Heartbeat,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(LOOK_EVERY);
    loop {
        tokio::select! {
            _ = heartbeat.beating_while(tick.tick()) => {}
            _ = stop.cancelled() => return,
        }
        let now = Utc::now();
        if let Err(error) = sample(&pool, &thresholds, last_ended_minute(now)).await {
            tracing::warn!(%error, "sampling the minute's figures failed; the chart has a gap");
        }
        if let Err(error) = minute_figures::prune(&pool, now - KEEP).await {
            tracing::warn!(%error, "forgetting old minute figures failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_last_ended_minute_is_the_one_before_the_current() {
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 10, 30, 59).unwrap();
        let minute = Utc.with_ymd_and_hms(2026, 12, 6, 10, 29, 0).unwrap();
        assert_eq!(last_ended_minute(now), minute);
        let on_the_minute = Utc.with_ymd_and_hms(2026, 12, 6, 10, 30, 0).unwrap();
        assert_eq!(last_ended_minute(on_the_minute), minute);
    }
}
