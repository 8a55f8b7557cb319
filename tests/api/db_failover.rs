//! A PostgreSQL failover as the app sees it, through a proxy the test controls: the old
//! primary's connections go silent (no FIN, no RST) while the address moves to the new one,
//! or the old primary turns read-only in a switchover. The pipeline must find the silent
//! connections by its own deadlines, retry what failed, and lose, double or dead-letter
//! nothing.

use crate::support::{
    eventually, sign, spawn_app_with, subscriber::subscribed, subscriber::Subscriber, TestApp,
    TestOptions,
};
use hookgate::app::{Roles, StartOptions};
use std::time::Duration;

/// Posts until the app stores the webhook, as the platform retries a 503.
async fn stored_eventually(app: &TestApp, event_id: &str, object_id: &str) {
    let resource = sign::transfer(object_id, "Pending", sign::EARLIER).to_string();
    let (headers, body) = sign::interlace(
        crate::support::fixtures::INTERLACE_SECRET,
        event_id,
        "TRANSFER.UPDATED",
        &resource,
    );
    eventually(&format!("{event_id} stored"), || async {
        let response = app.post_webhook("interlace", &headers, body.clone()).await;
        response.status() == 200
    })
    .await;
}

fn failover_options(subscriber: &Subscriber) -> TestOptions {
    let options = TestOptions {
        database_proxy: true,
        ..subscribed(subscriber)
    };
    options.and_env(&[
        ("HOOKGATE_STATEMENT_TIMEOUT_MS", "1000"),
        ("HOOKGATE_DATABASE_TIMEOUT_MS", "1000"),
        ("HOOKGATE_READ_TIMEOUT_MS", "1000"),
    ])
}

#[tokio::test]
async fn connections_the_old_primary_left_silent_are_abandoned_and_every_stage_moves_on() {
    let subscriber = Subscriber::start(&[]).await;
    let app = spawn_app_with(failover_options(&subscriber)).await;
    app.wait_for_broker("up").await;
    // Every pool has connections open to the old primary.
    app.handle_transfer("before", "t-before", "Pending", sign::EARLIER)
        .await;
    assert_eq!(app.api("/v1/objects/transfer/t-before").await.status(), 200);

    // Both relays' claims wait behind a lock, so each is in flight when the link goes silent:
    // the answer the server sends once the lock goes never arrives.
    let holder = app
        .lock_tables(&["inbox_unpublished", "notification_outbox"])
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let proxy = app.database_proxy.as_ref().unwrap();
    proxy.freeze();
    holder.rollback().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The address moves: new connections reach the new primary, the old ones stay silent.
    proxy.restore();

    let ids: Vec<String> = (0..5).map(|n| format!("after-{n}")).collect();
    for (n, id) in ids.iter().enumerate() {
        stored_eventually(&app, id, &format!("t-after-{n}")).await;
    }
    for n in 0..ids.len() {
        let path = format!("/v1/objects/transfer/t-after-{n}");
        eventually(&format!("{path} projected"), || async {
            app.api(&path).await.status() == 200
        })
        .await;
    }
    eventually("every notification delivered", || async {
        subscriber.delivered().len() == 1 + ids.len()
    })
    .await;
    let delivered = subscriber.delivered();
    let mut ids_seen: Vec<&str> = delivered.iter().map(|r| r.webhook_id.as_str()).collect();
    ids_seen.sort_unstable();
    ids_seen.dedup();
    assert_eq!(ids_seen.len(), delivered.len(), "no notification twice");
    for id in std::iter::once("before").chain(ids.iter().map(String::as_str)) {
        assert_eq!(app.event_state(id).await, "processed", "{id}");
    }
}

#[tokio::test]
async fn a_primary_turned_read_only_in_a_switchover_fails_nothing_for_good() {
    let subscriber = Subscriber::start(&[]).await;
    let mut app = spawn_app_with(failover_options(&subscriber)).await;
    let serve_only = StartOptions {
        migrate: false,
        roles: Roles::SERVE,
    };
    app.restart_as(serve_only).await;
    app.wait_for_broker("up").await;
    // Stored and published while the primary could still write; then it turns read-only
    // (25006 for every write) before a worker takes the event, as in a switchover before the
    // standby is promoted.
    app.post_transfer("switched", "t-switched", "Pending", sign::EARLIER)
        .await;
    app.wait_until_published().await;
    app.set_read_only(true).await;
    let proxy = app.database_proxy.as_ref().unwrap();
    // Connections opened from now on take the setting.
    proxy.cut();
    proxy.restore();
    let worker = app
        .sibling(StartOptions {
            migrate: false,
            roles: Roles::WORK,
        })
        .await;
    let metric = |outcome: &'static str| {
        let url = format!("{}/metrics", worker.address);
        async move {
            let text = reqwest::get(url).await.unwrap().text().await.unwrap();
            let line = format!("hookgate_worker_messages_total{{outcome=\"{outcome}\",queue=");
            text.lines()
                .filter(|l| l.starts_with(&line))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>()
        }
    };
    eventually(
        "the worker to meet the read-only primary and retry",
        || async { metric("retried").await >= 1.0 },
    )
    .await;
    app.set_read_only(false).await;
    proxy.cut();
    proxy.restore();
    eventually(
        "the event processed once the standby is promoted",
        || async { app.event_state("switched").await == "processed" },
    )
    .await;
    assert_eq!(metric("dead_lettered").await, 0.0);
    eventually("its notification delivered", || async {
        subscriber.delivered().len() == 1
    })
    .await;
}
