//! Supervision of the long-running tasks: a task that panics, returns or stops beating (stale:
//! no heartbeat for `stale_after`) is logged with its name, counted, aborted if need be and
//! started again with backoff; `/healthz` shows each task's state; a task that keeps failing
//! stops the process, so that its own supervisor (systemd, Kubernetes) starts it afresh.

use crate::{heartbeat::Heartbeat, telemetry::Metrics};
use std::{
    collections::BTreeMap,
    future::Future,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// When restarts give up, and how long they wait.
#[derive(Debug, Clone, Copy)]
pub struct RestartPolicy {
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// Failures in a row (each after a run shorter than `healthy_run`) before the process stops.
    pub max_failures_in_row: u32,
    /// A run at least this long resets the count of failures in a row.
    pub healthy_run: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_failures_in_row: 10,
            healthy_run: Duration::from_secs(60),
        }
    }
}

/// How long a running task may go without a heartbeat before it counts as stuck.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(60);

struct Entry {
    up: AtomicBool,
    heartbeat: Heartbeat,
    stale_after: Duration,
}

/// What `/readyz` shows of one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskHealth {
    Running,
    Down,
    Stale,
}

impl TaskHealth {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskHealth::Running => "running",
            TaskHealth::Down => "down",
            TaskHealth::Stale => "stale",
        }
    }
}

#[derive(Clone)]
pub struct Supervisor {
    tasks: Arc<Mutex<BTreeMap<String, Arc<Entry>>>>,
    metrics: Arc<Metrics>,
    policy: RestartPolicy,
    gave_up: CancellationToken,
}

impl Supervisor {
    pub fn new(metrics: Arc<Metrics>, policy: RestartPolicy) -> Supervisor {
        Supervisor {
            tasks: Arc::default(),
            metrics,
            policy,
            gave_up: CancellationToken::new(),
        }
    }

    /// Runs the task `make` builds (given its heartbeat and `stop`), in `set`, until `stop`;
    /// builds and starts it again after every panic or return. Every supervised task is
    /// required for readiness.
    pub fn spawn<F, Fut>(
        &self,
        set: &mut JoinSet<()>,
        name: impl Into<String>,
        stale_after: Duration,
        stop: CancellationToken,
        make: F,
    ) where
        F: Fn(Heartbeat, CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let name = name.into();
        let entry = Arc::new(Entry {
            up: AtomicBool::new(false),
            heartbeat: Heartbeat::new(),
            stale_after,
        });
        self.lock().insert(name.clone(), entry.clone());
        let supervisor = self.clone();
        set.spawn(async move { supervisor.keep_running(name, entry, stop, make).await });
    }

    async fn keep_running<F, Fut>(
        self,
        name: String,
        entry: Arc<Entry>,
        stop: CancellationToken,
        make: F,
    ) where
        F: Fn(Heartbeat, CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let up = self.metrics.task_up.with_label_values(&[name.as_str()]);
        let mut backoff = self.policy.first_backoff;
        let mut failures_in_row = 0;
        loop {
            entry.heartbeat.beat();
            entry.up.store(true, Ordering::Relaxed);
            up.set(1);
            let started = Instant::now();
            // Its own task, so that a panic ends only this run, as a JoinError; aborted with its
            // supervisor, so that aborting the app's tasks stops them all.
            let mut run = AbortOnDrop(tokio::spawn(make(entry.heartbeat.clone(), stop.clone())));
            // A run that stops beating is stuck, on a connection gone silent or a wait without
            // a deadline: aborted (dropping the run), and started afresh like a failed one.
            let outcome = tokio::select! {
                outcome = &mut run.0 => Some(outcome),
                _ = stalled(&entry) => None,
            };
            drop(run);
            entry.up.store(false, Ordering::Relaxed);
            up.set(0);
            if stop.is_cancelled() {
                return;
            }
            match outcome {
                None => {
                    let silent_ms = entry.heartbeat.age().as_millis() as u64;
                    tracing::error!(task = %name, silent_ms, "task made no progress; aborted and restarting")
                }
                Some(Ok(())) => {
                    tracing::error!(task = %name, "task stopped by itself; restarting")
                }
                Some(Err(error)) => match error.try_into_panic() {
                    Ok(panic) => {
                        tracing::error!(task = %name, panic = panic_text(&panic), "task panicked; restarting")
                    }
                    Err(error) => {
                        tracing::error!(task = %name, %error, "task was cancelled; restarting")
                    }
                },
            }
            self.metrics
                .task_restarts
                .with_label_values(&[name.as_str()])
                .inc();
            if started.elapsed() >= self.policy.healthy_run {
                failures_in_row = 0;
                backoff = self.policy.first_backoff;
            }
            failures_in_row += 1;
            if failures_in_row >= self.policy.max_failures_in_row {
                tracing::error!(task = %name, failures_in_row, "task keeps failing; stopping the process");
                self.gave_up.cancel();
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff.mul_f64(rand::random_range(0.8..1.2))) => {}
                _ = stop.cancelled() => return,
            }
            backoff = (backoff * 2).min(self.policy.max_backoff);
        }
    }

    /// Every task's health, by name.
    pub fn health(&self) -> BTreeMap<String, TaskHealth> {
        self.lock()
            .iter()
            .map(|(name, entry)| {
                let health = if !entry.up.load(Ordering::Relaxed) {
                    TaskHealth::Down
                } else if entry.heartbeat.age() > entry.stale_after {
                    TaskHealth::Stale
                } else {
                    TaskHealth::Running
                };
                (name.clone(), health)
            })
            .collect()
    }

    /// Waits, after `stop` was cancelled, for the tasks [`Supervisor::spawn`] put in `set`, for
    /// at most `budget`, then aborts the rest and returns their names: one stuck task must not
    /// keep the process from exiting (its orchestrator would kill it anyway, without saying
    /// which task hung).
    pub async fn wait_stopped(&self, mut set: JoinSet<()>, budget: Duration) -> Vec<String> {
        let joined = async { while set.join_next().await.is_some() {} };
        if tokio::time::timeout(budget, joined).await.is_ok() {
            return Vec::new();
        }
        let stuck: Vec<String> = self
            .lock()
            .iter()
            .filter(|(_, entry)| entry.up.load(Ordering::Relaxed))
            .map(|(name, _)| name.clone())
            .collect();
        tracing::error!(tasks = ?stuck, budget_ms = budget.as_millis() as u64, "background tasks did not stop in time; aborted");
        set.abort_all();
        while set.join_next().await.is_some() {}
        stuck
    }

    /// Resolves when some task failed too often in a row: the process should exit non-zero.
    pub async fn gave_up(&self) {
        self.gave_up.cancelled().await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<Entry>>> {
        self.tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Resolves once `entry`'s heartbeat is older than its `stale_after`.
async fn stalled(entry: &Entry) {
    let every = (entry.stale_after / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    while entry.heartbeat.age() <= entry.stale_after {
        tokio::time::sleep(every).await;
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not text)")
}

/// Sends panic messages through `tracing`, so they reach the structured log with the rest.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let payload = panic_text(info.payload());
        tracing::error!(panic = payload, %location, "panic");
    }));
}

#[cfg(test)]
mod tests;
