//! `verify --repair` decides again under the object's lock (SPEC 6): a worker that applies a
//! newer event between the snapshot verify read and its repair is not undone.

use crate::support::{eventually, faults::Waiting, find, sign, spawn_app, TestApp};
use hookgate::{
    catalogue::Family,
    ops::verify::{verify, VerifyRequest},
};
use serde_json::Value;

/// Waits until a backend of the app's database waits for a lock as `waiting` says.
async fn someone_waits(app: &TestApp, what: &str, waiting: Waiting<'static>) {
    eventually(what, || async { app.sessions_waiting(waiting).await > 0 }).await;
}

#[tokio::test]
async fn a_repair_never_undoes_an_event_applied_after_its_snapshot() {
    let app = spawn_app().await;
    app.handle_transfer("race-pending", "t-race", "Pending", sign::EARLIER)
        .await;
    // A read model that lags behind the archive: an older state than its one event gives.
    let earlier: chrono::DateTime<chrono::Utc> = sign::EARLIER.parse().unwrap();
    app.overwrite_object(
        "transfers",
        "t-race",
        ("pending", "race-older"),
        Some(earlier - chrono::Duration::hours(1)),
    )
    .await;
    let notifications_before = app.census().await.notifications;

    // The worker applying the transfer's newer status holds the object's lock, held up at its
    // notification until the test lets it go.
    let holder = app.lock_tables(&["notification_outbox"]).await;
    app.post_transfer("race-closed", "t-race", "Closed", sign::LATER)
        .await;
    someone_waits(
        &app,
        "the worker to hold the object",
        Waiting::ToInsertInto("notification_outbox"),
    )
    .await;
    // Verify's snapshot has neither the event nor its state; its repair waits for the lock.
    let pool = app.pool.clone();
    let verifying = tokio::spawn(async move {
        verify(
            &pool,
            &VerifyRequest {
                family: Some(Family::Transfer),
                repair: true,
            },
            |_, _| {},
        )
        .await
    });
    someone_waits(
        &app,
        "the repair to wait for the object",
        Waiting::OnAdvisoryLock,
    )
    .await;
    holder.rollback().await.unwrap();
    let report = verifying.await.unwrap().unwrap();

    // Under the lock the difference was gone: the worker had applied the newer event.
    assert_eq!(report.repaired, 0, "{report:?}");
    assert!(report.differences.is_empty(), "{report:?}");
    let object: Value = app.object("transfer", "t-race").await;
    assert_eq!(object["status"], "closed", "{object}");
    assert_eq!(object["lastEventId"], "race-closed", "{object}");
    // The worker's notification of `closed` only: no backwards "repair" notification.
    assert_eq!(app.census().await.notifications, notifications_before + 1);
}

#[tokio::test]
async fn one_verify_at_a_time_across_processes() {
    use hookgate::ops::jobs::{start, JobKind};
    let app = spawn_app().await;
    // A verify under way elsewhere (another pod, an operator's terminal).
    let running = start(&app.pool, JobKind::Verify).await.unwrap();
    let second = app
        .post_api("/admin/verify", serde_json::json!({"family": "transfer"}))
        .await;
    crate::support::assert_error(second, (409, "conflict")).await;
    let stderr = app.cli_refused(&["verify", "--json"]).await;
    assert!(stderr.contains("another verify is running"), "{stderr}");
    // A rebuild is another kind: it is not held up by a verify.
    let rebuild = app.cli(&["rebuild", "--json"]).await;
    assert!(
        rebuild.status.success(),
        "{}",
        String::from_utf8_lossy(&rebuild.stderr)
    );
    // The claim ends with its session, closed as the job is dropped.
    drop(running);
    crate::support::eventually("a verify accepted again", || async {
        app.post_api("/admin/verify", serde_json::json!({"family": "transfer"}))
            .await
            .status()
            == 200
    })
    .await;
}

#[tokio::test]
async fn status_shows_the_long_operations_under_way_and_those_that_died() {
    use hookgate::ops::{
        jobs::{start, JobKind},
        OpsError,
    };
    let app = spawn_app().await;
    // `status` exits non-zero until the topology is declared.
    app.wait_for_broker("up").await;
    let running = start(&app.pool, JobKind::Verify).await.unwrap();
    running.reporting(|_, _| {})(5, 10);
    // A rebuild whose process died mid-run left its row behind; its lock went with it.
    app.leave_operation_run("rebuild", (3, 9), 50).await;
    eventually("the verify's progress reported", || async {
        let status = app.cli_json(&["status", "--json"]).await;
        status["operations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|run| run["kind"] == "verify" && run["done"] == 5 && run["total"] == 10)
    })
    .await;
    let status = app.cli_json(&["status", "--json"]).await;
    let runs = status["operations"].as_array().unwrap();
    let by_kind = |kind: &str| runs.iter().find(|run| run["kind"] == kind).unwrap().clone();
    assert_eq!(by_kind("verify")["running"], true);
    assert_eq!(by_kind("rebuild")["running"], false);
    assert_eq!(by_kind("rebuild")["done"], 3);
    running.finish::<()>(&Ok(())).await;
    let status = app.cli_json(&["status", "--json"]).await;
    let kinds: Vec<&Value> = status["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| &run["kind"])
        .collect();
    assert_eq!(kinds, ["rebuild"], "a finished run leaves no row");

    // A run that fails keeps its row with why; both show in the metric the alert watches.
    let failing = start(&app.pool, JobKind::Verify).await.unwrap();
    let failure: Result<(), OpsError> = Err(OpsError::Selection("the archive went away".into()));
    failing.finish(&failure).await;
    let status = app.cli_json(&["status", "--json"]).await;
    let verify = find(&status["operations"], "kind", "verify");
    assert_eq!(verify["error"], "the archive went away", "{verify}");
    assert!(verify["failedAt"].is_string(), "{verify}");
    assert_eq!(app.metric("hookgate_operations_failed").await, Some(2.0));
}
