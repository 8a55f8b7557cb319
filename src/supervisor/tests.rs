use super::*;
use std::sync::atomic::AtomicU32;

fn quick() -> RestartPolicy {
    RestartPolicy {
        first_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_failures_in_row: 4,
        healthy_run: Duration::from_secs(60),
    }
}

async fn until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..400 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A supervisor with quick restarts, its metrics, and the stop token and task set a process
/// keeps beside it.
struct Harness {
    metrics: Arc<Metrics>,
    supervisor: Supervisor,
    stop: CancellationToken,
    set: JoinSet<()>,
}

impl Harness {
    fn new() -> Self {
        let metrics = Arc::new(Metrics::new());
        Harness {
            supervisor: Supervisor::new(metrics.clone(), quick()),
            metrics,
            stop: CancellationToken::new(),
            set: JoinSet::new(),
        }
    }

    fn spawn<F, Fut>(&mut self, name: &str, stale_after: Duration, make: F)
    where
        F: Fn(Heartbeat, CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop.clone();
        self.supervisor
            .spawn(&mut self.set, name, stale_after, stop, make);
    }

    fn end(mut self) {
        self.stop.cancel();
        self.set.abort_all();
    }
}

/// Sets its flag when dropped, which shows that an aborted run's future was dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_panicking_task_is_counted_and_started_again() {
    let mut harness = Harness::new();
    let runs = Arc::new(AtomicU32::new(0));
    let counter = runs.clone();
    harness.spawn("flaky", DEFAULT_STALE_AFTER, move |_, _| {
        let run = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if run < 2 {
                panic!("run {run} fails");
            }
            std::future::pending::<()>().await
        }
    });
    until("the third run", || runs.load(Ordering::SeqCst) == 3).await;
    until("the task to be up", || {
        harness.supervisor.health()["flaky"] == TaskHealth::Running
    })
    .await;
    let text = harness.metrics.render();
    assert!(
        text.contains(r#"hookgate_task_restarts_total{task="flaky"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"hookgate_task_up{task="flaky"} 1"#),
        "{text}"
    );
    harness.end();
}

#[tokio::test]
async fn a_task_that_keeps_failing_makes_the_process_give_up() {
    let mut harness = Harness::new();
    harness.spawn("broken", DEFAULT_STALE_AFTER, |_, _| async {});
    tokio::time::timeout(Duration::from_secs(10), harness.supervisor.gave_up())
        .await
        .expect("gave up");
    assert_eq!(harness.supervisor.health()["broken"], TaskHealth::Down);
}

#[tokio::test]
async fn a_task_without_heartbeats_is_aborted_and_started_again_and_a_beating_one_is_not() {
    let mut harness = Harness::new();
    let short = Duration::from_millis(100);
    let (stuck_runs, beating_runs) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let first_run_dropped = Arc::new(AtomicBool::new(false));
    let (runs, dropped) = (stuck_runs.clone(), first_run_dropped.clone());
    harness.spawn("stuck", short, move |_, _| {
        let first = runs.fetch_add(1, Ordering::SeqCst) == 0;
        let guard = first.then(|| SetOnDrop(dropped.clone()));
        async move {
            let _guard = guard;
            std::future::pending::<()>().await
        }
    });
    let runs = beating_runs.clone();
    harness.spawn("beating", short, move |heartbeat, _| {
        runs.fetch_add(1, Ordering::SeqCst);
        async move {
            loop {
                heartbeat.beat();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });
    until("the stuck task's second run", || {
        stuck_runs.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert!(
        first_run_dropped.load(Ordering::SeqCst),
        "the stuck run was aborted"
    );
    let text = harness.metrics.render();
    assert!(
        !text.contains(r#"hookgate_task_restarts_total{task="beating"}"#)
            || text.contains(r#"hookgate_task_restarts_total{task="beating"} 0"#),
        "{text}"
    );
    assert!(
        text.contains(r#"hookgate_task_restarts_total{task="stuck"}"#),
        "{text}"
    );
    assert_eq!(beating_runs.load(Ordering::SeqCst), 1);
    assert_eq!(harness.supervisor.health()["beating"], TaskHealth::Running);
    harness.end();
}

#[tokio::test]
async fn stopping_aborts_and_names_only_the_tasks_that_ignore_stop() {
    let mut harness = Harness::new();
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    harness.spawn("deaf", DEFAULT_STALE_AFTER, move |_, _| {
        let guard = SetOnDrop(flag.clone());
        async move {
            let _guard = guard;
            std::future::pending::<()>().await
        }
    });
    harness.spawn("obedient", DEFAULT_STALE_AFTER, |_, stop| async move {
        stop.cancelled().await
    });
    until("both tasks to run", || {
        harness
            .supervisor
            .health()
            .values()
            .all(|health| *health == TaskHealth::Running)
    })
    .await;
    harness.stop.cancel();
    let stuck = harness
        .supervisor
        .wait_stopped(harness.set, Duration::from_millis(200))
        .await;
    assert_eq!(stuck, vec!["deaf".to_owned()]);
    assert!(dropped.load(Ordering::SeqCst), "the deaf task was aborted");
}

#[tokio::test]
async fn stopping_tasks_that_obey_names_none() {
    let mut harness = Harness::new();
    harness.spawn("obedient", DEFAULT_STALE_AFTER, |_, stop| async move {
        stop.cancelled().await
    });
    harness.stop.cancel();
    assert!(harness
        .supervisor
        .wait_stopped(harness.set, Duration::from_secs(30))
        .await
        .is_empty());
}
