//! The relays, the workers and retention: how much each takes at once and how often it runs.

use super::{env::Env, SettingsError};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct RelaySettings {
    /// `HOOKGATE_RELAY_BATCH`: rows claimed, and messages published before their confirms are
    /// awaited (the confirm window).
    pub batch: i64,
    /// `HOOKGATE_RELAY_BATCH_BYTES`: a claim stops taking rows once their payloads reach this
    /// (the first row is always taken), which bounds the relay's memory with large bodies.
    pub batch_bytes: i64,
    /// `HOOKGATE_SWEEP_INTERVAL_MS`: how often rows are looked for without a wake-up (crash,
    /// outage, return).
    pub sweep_every: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        RelaySettings {
            batch: 500,
            batch_bytes: 16 * 1024 * 1024,
            sweep_every: Duration::from_secs(1),
        }
    }
}

impl RelaySettings {
    pub(super) fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Self, SettingsError> {
        let defaults = RelaySettings::default();
        let sweep_every = env.positive_millis("HOOKGATE_SWEEP_INTERVAL_MS", 1000)?;
        Ok(RelaySettings {
            batch: env.bounded(
                "HOOKGATE_RELAY_BATCH",
                defaults.batch,
                1..=10_000,
                "a number of messages from 1 to 10000",
            )?,
            batch_bytes: env.bounded(
                "HOOKGATE_RELAY_BATCH_BYTES",
                defaults.batch_bytes,
                1..=1_073_741_824,
                "a number of bytes from 1 to 1073741824",
            )?,
            sweep_every,
        })
    }
}

/// The consumers of the `work` role.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// `HOOKGATE_READ_MODEL_PREFETCH`: messages the read-model worker holds unacknowledged.
    /// Measured on two cores, two batches under way beat four: more backends pushed the
    /// receiver's p99 up for no throughput.
    pub read_model_prefetch: u16,
    /// `HOOKGATE_READ_MODEL_BATCH`: messages projected per transaction.
    pub read_model_batch: usize,
    /// `HOOKGATE_NOTIFIER_PREFETCH`: notifications POSTed at once per subscriber.
    pub notifier_prefetch: u16,
}

impl WorkerSettings {
    pub(super) fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Self, SettingsError> {
        let count = "a number of messages from 1 to 10000";
        Ok(WorkerSettings {
            read_model_prefetch: env.bounded(
                "HOOKGATE_READ_MODEL_PREFETCH",
                200,
                1..=10_000,
                count,
            )?,
            read_model_batch: env.bounded("HOOKGATE_READ_MODEL_BATCH", 100, 1..=10_000, count)?,
            notifier_prefetch: env.bounded("HOOKGATE_NOTIFIER_PREFETCH", 32, 1..=10_000, count)?,
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RetentionSettings {
    /// `HOOKGATE_RETENTION_DAYS`: published, processed events older than this are deleted;
    /// deduplication holds for this window.
    pub days: u32,
    /// `HOOKGATE_RETENTION_INTERVAL_SECS`: how often the running service prunes.
    pub every: Duration,
    /// `HOOKGATE_DLQ_RETENTION_DAYS`: dead letters hold personal data, so those that failed
    /// longer ago than this are purged from the DLQ, each purge audited.
    pub dlq_days: u32,
}

impl RetentionSettings {
    pub(super) fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Self, SettingsError> {
        Ok(RetentionSettings {
            // Long enough for any audit, short enough that no date arithmetic overflows.
            days: env.bounded(
                "HOOKGATE_RETENTION_DAYS",
                30,
                1..=36_500,
                "a whole number of days from 1 to 36500",
            )?,
            every: env.seconds("HOOKGATE_RETENTION_INTERVAL_SECS", 3600)?,
            dlq_days: env.bounded(
                "HOOKGATE_DLQ_RETENTION_DAYS",
                90,
                1..=36_500,
                "a whole number of days from 1 to 36500",
            )?,
        })
    }
}
