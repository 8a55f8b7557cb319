//! A task's proof of progress, beaten by the loops of the background tasks and read by their
//! supervisor. A leaf: the parts that beat (broker, relays, workers) sit below the supervisor.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::Duration,
};

/// A task's proof of progress. Loops beat once per turn, and keep beating with
/// [`Heartbeat::beating_while`] while they wait for something legitimately slow.
#[derive(Clone)]
pub struct Heartbeat(Arc<AtomicI64>);

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat::new()
    }
}

impl Heartbeat {
    pub fn new() -> Heartbeat {
        let heartbeat = Heartbeat(Arc::new(AtomicI64::new(0)));
        heartbeat.beat();
        heartbeat
    }

    pub fn beat(&self) {
        self.0.store(now_millis(), Ordering::Relaxed);
    }

    pub(crate) fn age(&self) -> Duration {
        let millis = now_millis().saturating_sub(self.0.load(Ordering::Relaxed));
        Duration::from_millis(u64::try_from(millis).unwrap_or(0))
    }

    /// Awaits `future`, beating every second meanwhile: for waits that are not a sign of a
    /// stuck task (an idle queue, a broker that is down and reported as such).
    pub async fn beating_while<T>(&self, future: impl Future<Output = T>) -> T {
        tokio::pin!(future);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                out = &mut future => {
                    self.beat();
                    return out;
                }
                _ = tick.tick() => self.beat(),
            }
        }
    }
}

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
