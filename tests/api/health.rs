//! `/healthz`, `/readyz`, `/metrics`.

use crate::support::{
    assert_error, eventually, faults::Waiting, fixtures, sign, spawn_app, spawn_app_with_env,
};
use serde_json::Value;

#[tokio::test]
async fn healthz_answers_while_the_process_is_up_with_the_broker_and_tasks() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert!(body["broker"].is_string());
    assert!(body["tasks"]["inbox-batcher"].is_string(), "{body}");
}

#[tokio::test]
async fn readyz_answers_for_the_role() {
    use hookgate::app::{Roles, StartOptions};
    let mut app = spawn_app().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["role"], "run");
    assert_eq!(body["database"], "up");
    assert_eq!(body["batcher"], "running");
    assert!(body.get("broker").is_none(), "the broker is /healthz's");
    app.restart_as(StartOptions {
        migrate: false,
        roles: Roles::WORK,
    })
    .await;
    let body: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(body["role"], "work");
    assert_eq!(body["ready"], true);
    assert!(body.get("batcher").is_none(), "{body}");
}

type Reads = Vec<tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>>;

/// A projected transfer, its table locked as a rebuild, a migration or a long report locks it
/// (the transaction holding the lock is returned), and `n` reads of it under way.
async fn reads_behind_a_locked_table(
    app: &crate::support::TestApp,
    n: usize,
) -> (sqlx::Transaction<'static, sqlx::Postgres>, Reads) {
    app.handle_transfer("before-lock", "t-locked", "Pending", sign::EARLIER)
        .await;
    let holder = app.lock_tables(&["transfers"]).await;
    let client = reqwest::Client::new();
    let reads = (0..n)
        .map(|_| {
            let request = client.get(app.url("/v1/objects/transfer/t-locked"));
            tokio::spawn(request.bearer_auth(crate::support::API_TOKEN).send())
        })
        .collect();
    (holder, reads)
}

/// The defect: a read-model table locked (by a rebuild, a migration or a long report) held
/// the API reads queued behind it, and with them `/readyz`, which would have taken every
/// receiver out of the Service. Readiness now asks only whether webhooks can be stored.
#[tokio::test]
async fn a_locked_read_model_table_leaves_receivers_ready() {
    let app = spawn_app().await;
    let (holder, reads) = reads_behind_a_locked_table(&app, 16).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200, "{:?}", ready.text().await);
    let fixture = fixtures::interlace_named("card");
    assert_eq!(app.post_fixture(&fixture).await.status(), 200);
    holder.rollback().await.unwrap();
    for read in reads {
        assert_eq!(read.await.unwrap().unwrap().status(), 200);
    }
}

#[tokio::test]
async fn a_read_behind_a_lock_gives_up_at_its_deadline_and_webhooks_keep_flowing() {
    let app = spawn_app_with_env(&[("HOOKGATE_READ_TIMEOUT_MS", "500")]).await;
    // More reads than the read pool has connections: each gives up at its deadline, whether
    // it waits for the lock or for a connection.
    let (holder, reads) = reads_behind_a_locked_table(&app, 8).await;
    for read in reads {
        let answer = read.await.unwrap().unwrap();
        assert_eq!(answer.headers()["retry-after"], "5");
        assert_error(answer, (503, "unavailable")).await;
    }
    // Meanwhile webhooks are stored and published, and the process stays ready.
    let fixture = fixtures::interlace_named("card");
    assert_eq!(app.post_fixture(&fixture).await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.wait_until_published().await;
    assert_eq!(app.metric("hookgate_read_timeouts_total").await, Some(8.0));
    holder.rollback().await.unwrap();
    assert_eq!(
        app.object("transfer", "t-locked").await["status"],
        "pending"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_outcome_duplicates_and_failures() {
    let app = spawn_app().await;
    let fixture = fixtures::interlace_named("transfer");
    app.post_fixture(&fixture).await;
    app.post_fixture(&fixture).await;
    let (headers, body) = sign::interlace("wrong", "w", "TRANSFER.UPDATED", "{}");
    app.post_webhook("interlace", &headers, body).await;
    app.post_webhook("somebody-else", &headers, "{}").await;

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for line in [
        r#"hookgate_webhook_requests_total{outcome="accepted",source="interlace"} 1"#,
        r#"hookgate_webhook_requests_total{outcome="duplicate",source="interlace"} 1"#,
        r#"hookgate_webhook_requests_total{outcome="invalid_signature",source="interlace"} 1"#,
        r#"hookgate_webhook_requests_total{outcome="unknown_source",source="_unknown"} 1"#,
        r#"hookgate_duplicates_total{source="interlace"} 1"#,
        r#"hookgate_verification_failures_total{reason="invalid_signature",source="interlace"} 1"#,
        r#"hookgate_webhook_duration_seconds_count{source="interlace"} 3"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(
        !text.contains("somebody-else"),
        "unknown source names are not labels"
    );
}

#[tokio::test]
async fn unknown_routes_answer_not_found_in_the_error_shape() {
    let app = spawn_app().await;
    assert_error(app.get("/nothing-here").await, (404, "not_found")).await;
}

#[tokio::test]
async fn each_role_runs_its_part_and_only_receivers_take_webhooks() {
    use hookgate::app::{Roles, StartOptions};
    let mut app = spawn_app().await;
    let fixture = fixtures::interlace_named("card");

    app.restart_as(StartOptions {
        migrate: false,
        roles: Roles::WORK,
    })
    .await;
    let refused = app.post_fixture(&fixture).await;
    assert_eq!(refused.status(), 404, "a work process takes no webhooks");
    assert_eq!(app.inbox_count().await, 0);
    assert_eq!(app.get("/healthz").await.status(), 200);

    app.restart_as(StartOptions {
        migrate: false,
        roles: Roles::SERVE,
    })
    .await;
    assert_eq!(app.post_fixture(&fixture).await.status(), 200);
    app.wait_until_published().await;
    let processed: i64 = app.census().await.processed;
    assert_eq!(processed, 0, "serve runs no worker");

    app.restart_as(StartOptions {
        migrate: false,
        roles: Roles::WORK,
    })
    .await;
    app.wait_until_handled(1).await;
}

#[tokio::test]
async fn a_failing_task_is_reported_by_healthz_and_counted_but_never_makes_the_process_unready() {
    use std::sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    };
    let app = spawn_app().await;
    let broken = Arc::new(AtomicBool::new(true));
    let flag = broken.clone();
    let mut tasks = tokio::task::JoinSet::new();
    app.supervisor.spawn(
        &mut tasks,
        "canary",
        hookgate::supervisor::DEFAULT_STALE_AFTER,
        tokio_util::sync::CancellationToken::new(),
        move |_, stop| {
            let broken = flag.load(Ordering::SeqCst);
            async move {
                assert!(!broken, "the canary is broken");
                stop.cancelled().await
            }
        },
    );
    let healthz = || async {
        let response = app.get("/healthz").await;
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    };
    eventually("healthz reports the broken task", || async {
        let (status, body) = healthz().await;
        status == 200 && body["tasks"]["canary"] == "down"
    })
    .await;
    assert_eq!(
        app.get("/readyz").await.status(),
        200,
        "a task never makes it unready"
    );
    let restarts = app
        .metric(r#"hookgate_task_restarts_total{task="canary"}"#)
        .await
        .unwrap_or(0.0);
    assert!(restarts >= 1.0, "restarts counted: {restarts}");

    broken.store(false, Ordering::SeqCst);
    eventually("the task runs again", || async {
        let (status, body) = healthz().await;
        status == 200 && body["tasks"]["canary"] == "running"
    })
    .await;
    let (_, body) = healthz().await;
    for task in [
        "broker-watch",
        "inbox-batcher",
        "event-relay",
        "read-model-worker",
    ] {
        assert_eq!(body["tasks"][task], "running", "{body}");
    }
    tasks.abort_all();
}

#[tokio::test]
async fn scrapes_behind_a_lock_run_one_refresh_at_a_time_and_serve_the_last_figures() {
    let app = spawn_app().await;
    let first = app.get("/metrics").await.text().await.unwrap();
    assert!(
        first.contains("hookgate_outbox_backlog{outbox=\"events\"} 0"),
        "{first}"
    );
    assert!(first.contains("hookgate_scrape_age_seconds "), "{first}");
    let holder = app
        .lock_tables(&["inbox_unpublished", "notification_unpublished"])
        .await;
    let scrapes: Vec<_> = (0..10)
        .map(|_| tokio::spawn(reqwest::get(app.url("/metrics"))))
        .collect();
    for scrape in scrapes {
        let answer = scrape.await.unwrap().unwrap();
        assert_eq!(answer.status(), 200);
        let text = answer.text().await.unwrap();
        assert!(text.contains("hookgate_scrape_age_seconds "), "{text}");
    }
    // Ten scrapes, and one refresh's query waits on the lock: the others served what was there.
    let waiting = app.sessions_waiting(Waiting::ToCount).await;
    assert_eq!(waiting, 1);
    holder.rollback().await.unwrap();
    eventually("a refresh after the lock", || async {
        let text = app.get("/metrics").await.text().await.unwrap();
        text.contains("hookgate_outbox_backlog{outbox=\"events\"} 0")
            && text.contains("hookgate_outbox_backlog{outbox=\"notifications\"} 0")
    })
    .await;
}
