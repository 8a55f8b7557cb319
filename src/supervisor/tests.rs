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

#[tokio::test]
async fn a_panicking_task_is_counted_and_started_again() {
    let metrics = Arc::new(Metrics::new());
    let supervisor = Supervisor::new(metrics.clone(), quick());
    let runs = Arc::new(AtomicU32::new(0));
    let stop = CancellationToken::new();
    let mut set = JoinSet::new();
    let counter = runs.clone();
    supervisor.spawn(
        &mut set,
        "flaky",
        DEFAULT_STALE_AFTER,
        stop.clone(),
        move |_, _| {
            let run = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if run < 2 {
                    panic!("run {run} fails");
                }
                std::future::pending::<()>().await
            }
        },
    );
    until("the third run", || runs.load(Ordering::SeqCst) == 3).await;
    until("the task to be up", || {
        supervisor.health()["flaky"] == TaskHealth::Running
    })
    .await;
    let text = metrics.render();
    assert!(
        text.contains(r#"hookgate_task_restarts_total{task="flaky"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"hookgate_task_up{task="flaky"} 1"#),
        "{text}"
    );
    stop.cancel();
    set.abort_all();
}

#[tokio::test]
async fn a_task_that_keeps_failing_makes_the_process_give_up() {
    let supervisor = Supervisor::new(Arc::new(Metrics::new()), quick());
    let stop = CancellationToken::new();
    let mut set = JoinSet::new();
    supervisor.spawn(
        &mut set,
        "broken",
        DEFAULT_STALE_AFTER,
        stop,
        |_, _| async {},
    );
    tokio::time::timeout(Duration::from_secs(10), supervisor.gave_up())
        .await
        .expect("gave up");
    assert_eq!(supervisor.health()["broken"], TaskHealth::Down);
}

#[tokio::test]
async fn a_task_without_heartbeats_is_aborted_and_started_again_and_a_beating_one_is_not() {
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let metrics = Arc::new(Metrics::new());
    let supervisor = Supervisor::new(metrics.clone(), quick());
    let stop = CancellationToken::new();
    let mut set = JoinSet::new();
    let short = Duration::from_millis(100);
    let (stuck_runs, beating_runs) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let first_run_dropped = Arc::new(AtomicBool::new(false));
    let (runs, dropped) = (stuck_runs.clone(), first_run_dropped.clone());
    supervisor.spawn(&mut set, "stuck", short, stop.clone(), move |_, _| {
        let first = runs.fetch_add(1, Ordering::SeqCst) == 0;
        let guard = first.then(|| SetOnDrop(dropped.clone()));
        async move {
            let _guard = guard;
            std::future::pending::<()>().await
        }
    });
    let runs = beating_runs.clone();
    supervisor.spawn(
        &mut set,
        "beating",
        short,
        stop.clone(),
        move |heartbeat, _| {
            runs.fetch_add(1, Ordering::SeqCst);
            async move {
                loop {
                    heartbeat.beat();
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        },
    );
    until("the stuck task's second run", || {
        stuck_runs.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert!(
        first_run_dropped.load(Ordering::SeqCst),
        "the stuck run was aborted"
    );
    let text = metrics.render();
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
    assert_eq!(supervisor.health()["beating"], TaskHealth::Running);
    stop.cancel();
    set.abort_all();
}

#[tokio::test]
async fn stopping_aborts_and_names_only_the_tasks_that_ignore_stop() {
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let supervisor = Supervisor::new(Arc::new(Metrics::new()), quick());
    let stop = CancellationToken::new();
    let mut set = JoinSet::new();
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    supervisor.spawn(
        &mut set,
        "deaf",
        DEFAULT_STALE_AFTER,
        stop.clone(),
        move |_, _| {
            let guard = SetOnDrop(flag.clone());
            async move {
                let _guard = guard;
                std::future::pending::<()>().await
            }
        },
    );
    supervisor.spawn(
        &mut set,
        "obedient",
        DEFAULT_STALE_AFTER,
        stop.clone(),
        |_, stop| async move { stop.cancelled().await },
    );
    until("both tasks to run", || {
        supervisor
            .health()
            .values()
            .all(|health| *health == TaskHealth::Running)
    })
    .await;
    stop.cancel();
    let stuck = supervisor
        .wait_stopped(set, Duration::from_millis(200))
        .await;
    assert_eq!(stuck, vec!["deaf".to_owned()]);
    assert!(dropped.load(Ordering::SeqCst), "the deaf task was aborted");
}

#[tokio::test]
async fn stopping_tasks_that_obey_names_none() {
    let supervisor = Supervisor::new(Arc::new(Metrics::new()), quick());
    let stop = CancellationToken::new();
    let mut set = JoinSet::new();
    supervisor.spawn(
        &mut set,
        "obedient",
        DEFAULT_STALE_AFTER,
        stop.clone(),
        |_, stop| async move { stop.cancelled().await },
    );
    stop.cancel();
    assert!(supervisor
        .wait_stopped(set, Duration::from_secs(30))
        .await
        .is_empty());
}
