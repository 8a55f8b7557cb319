//! Operations (SPEC 5 admin routes, SPEC 6 commands): dead letters, archive replay, rebuild,
//! and status, run against the real services.

use crate::support::{
    eventually,
    faults::{LeftAs, RawEvent},
    fixtures,
    sign::{transfer, EARLIER},
    spawn_app, spawn_app_with,
    subscriber::{subscribed, Subscriber},
    TestApp,
};
use hookgate::store::census;
use serde_json::{json, Value};

pub(crate) async fn dead_letters(app: &TestApp) -> Vec<Value> {
    app.cli_json(&["dlq", "list", "--json"])
        .await
        .as_array()
        .unwrap()
        .clone()
}

pub(crate) async fn two_bad_events(app: &TestApp) {
    let no_id = json!({"status": "Closed", "transactionTime": "2021-10-28T11:07:31.019Z"});
    let no_time = json!({"id": "p", "status": "CLOSED"});
    app.post_event("bad-1", "CARD_TRANSACTION.UPDATED", no_id)
        .await;
    app.post_event("bad-2", "PAYOUT.UPDATED", no_time).await;
    app.wait_until_handled(2).await;
    eventually("both in the DLQ", || async {
        dead_letters(app).await.len() == 2
    })
    .await;
}

/// An app whose subscriber refuses its first three notifications, of events `{prefix}-0` to
/// `{prefix}-2`, each of which is dead-lettered.
pub(crate) async fn three_dead_notifications(prefix: &str) -> (Subscriber, TestApp) {
    let subscriber = Subscriber::start(&[400, 400, 400]).await;
    let app = spawn_app_with(subscribed(&subscriber)).await;
    for n in 0..3 {
        app.post_transfer(
            &format!("{prefix}-{n}"),
            &format!("t-{n}"),
            "Closed",
            EARLIER,
        )
        .await;
    }
    eventually("three dead letters", || async {
        dead_letters(&app).await.len() == 3
    })
    .await;
    (subscriber, app)
}

/// Asks for a dry run of replaying the whole DLQ, which must count both of
/// [`two_bad_events`].
pub(crate) async fn a_dry_run_would_replay_both(app: &TestApp) {
    let dry = app
        .cli_json(&["dlq", "replay", "--all", "--dry-run", "--json"])
        .await;
    assert_eq!(dry, json!({"replayed": 2, "skipped": 0, "dryRun": true}));
}

#[tokio::test]
async fn dlq_list_and_show_describe_dead_letters_without_consuming_them() {
    let app = spawn_app().await;
    two_bad_events(&app).await;
    let letters = dead_letters(&app).await;
    let first = letters
        .iter()
        .find(|l| l["eventId"] == "bad-1")
        .expect("bad-1 listed");
    assert_eq!(first["source"], "interlace");
    assert_eq!(first["eventType"], "CARD_TRANSACTION.UPDATED");
    assert_eq!(first["family"], "card_transaction");
    assert_eq!(first["queue"], app.names().read_model());
    assert_eq!(first["attempts"], 1);
    assert!(first["error"].as_str().unwrap().contains("object id"));
    assert!(first["failedAt"].is_string());
    assert_eq!(
        dead_letters(&app).await.len(),
        2,
        "listing leaves them in place"
    );

    let shown = app.cli_json(&["dlq", "show", "bad-2"]).await;
    assert_eq!(shown["eventId"], "bad-2");
    assert!(shown["headers"]["x-hookgate-error"]
        .as_str()
        .unwrap()
        .contains("payout"));
    assert_eq!(shown["body"]["id"], "bad-2");
    app.cli_refused(&["dlq", "show", "nope"]).await;

    let admin: Value = app.api_json("/admin/dlq?limit=1").await;
    assert_eq!(admin.as_array().unwrap().len(), 1);
    let admin: Value = app.api_json("/admin/dlq").await;
    assert_eq!(admin.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_replayed_message_that_fails_again_starts_its_attempts_afresh() {
    let app = spawn_app().await;
    two_bad_events(&app).await;
    a_dry_run_would_replay_both(&app).await;
    assert_eq!(
        dead_letters(&app).await.len(),
        2,
        "a dry run changes nothing"
    );

    let letter_of = |event_id: &'static str| {
        let app = &app;
        async move {
            dead_letters(app)
                .await
                .into_iter()
                .find(|l| l["eventId"] == event_id)
        }
    };
    // Replay resets the count: otherwise one transient failure would send it straight back.
    let selections = [
        ("bad-1", ["--event-id", "bad-1"]),
        ("bad-2", ["--event-type", "payout.updated"]),
    ];
    for (event_id, [flag, value]) in selections {
        let first_failure = letter_of(event_id).await.expect(event_id)["failedAt"].clone();
        let counts = app
            .cli_json(&["dlq", "replay", flag, value, "--json"])
            .await;
        assert_eq!(
            counts,
            json!({"replayed": 1, "skipped": 1}),
            "{flag} {value}"
        );
        let what = format!("{event_id} failed again, its attempts counted from the replay");
        eventually(&what, || async {
            letter_of(event_id)
                .await
                .is_some_and(|l| l["failedAt"] != first_failure && l["attempts"] == 1)
        })
        .await;
        assert_eq!(dead_letters(&app).await.len(), 2);
    }
}

#[tokio::test]
async fn admin_replay_sends_dead_letters_back_and_they_are_delivered_once() {
    // The subscriber refuses everything at first (a bad deploy on their side), then recovers.
    let (subscriber, app) = three_dead_notifications("n").await;

    let bad = app
        .post_api("/admin/dlq/replay", json!({"everything": true}))
        .await;
    assert_eq!(bad.status(), 400);
    // A listing reads bodies, so its page is bounded: 1-500.
    for limit in ["0", "501", "100000000", "-1", "x"] {
        let listed = app.api(&format!("/admin/dlq?limit={limit}")).await;
        assert_eq!(listed.status(), 400, "limit={limit}");
        let body: Value = listed.json().await.unwrap();
        assert_eq!(body["error"]["code"], "malformed_payload");
    }
    for limit in ["1", "500"] {
        let listed = app.api(&format!("/admin/dlq?limit={limit}")).await;
        assert_eq!(listed.status(), 200, "limit={limit}");
    }
    let none = app
        .post_api("/admin/dlq/replay", json!({"eventIds": []}))
        .await;
    assert_eq!(none.status(), 400);

    let one: Value = app
        .post_api("/admin/dlq/replay", json!({"eventIds": ["n-0"]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["replayed"], 1);
    let rest: Value = app
        .post_api("/admin/dlq/replay", json!({"all": true}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["replayed"], 2);
    eventually("all delivered", || async {
        subscriber.delivered().len() == 3
    })
    .await;
    assert!(dead_letters(&app).await.is_empty());
    let ids: std::collections::HashSet<String> = subscriber
        .delivered()
        .iter()
        .map(|r| r.webhook_id.clone())
        .collect();
    assert_eq!(ids.len(), 3, "each notification delivered once");
}

#[tokio::test]
async fn purge_needs_confirmation_and_then_empties_the_dlq() {
    let app = spawn_app().await;
    two_bad_events(&app).await;
    let refused = app.cli_refused(&["dlq", "purge"]).await;
    assert!(refused.contains("--yes"), "{refused}");
    assert_eq!(dead_letters(&app).await.len(), 2);
    let purged = app.cli(&["dlq", "purge", "--yes"]).await;
    assert!(purged.status.success());
    let answer: Value = serde_json::from_slice(&purged.stdout).unwrap();
    assert_eq!(
        answer,
        json!({"purged": 2}),
        "JSON when stdout is not a terminal"
    );
    assert!(dead_letters(&app).await.is_empty());
}

/// Stores events as if they had been published and then lost from the queue.
pub(crate) async fn lost_events(app: &TestApp, count: i32) -> Vec<String> {
    let events: Vec<(String, String, String)> = (0..count)
        .map(|n| {
            let object = format!("t-lost-{n}");
            let resource = transfer(&object, "Closed", EARLIER).to_string();
            (format!("lost-{n:03}"), object, resource)
        })
        .collect();
    let rows: Vec<RawEvent> = events
        .iter()
        .map(|(id, object, resource)| RawEvent {
            routing_key: "transfer.closed",
            occurred_at: Some(EARLIER.parse().unwrap()),
            ..RawEvent::transfer(id, "closed", object, resource.as_bytes())
        })
        .collect();
    app.store_raw(&rows, LeftAs::Published).await
}

#[tokio::test]
async fn replay_that_stopped_half_way_is_finished_by_running_it_again() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let ids = lost_events(&app, 20).await;
    let mut first_half = vec!["replay"];
    for id in &ids[..10] {
        first_half.extend(["--event-id", id.as_str()]);
    }
    first_half.push("--json");
    assert_eq!(
        app.cli_json(&first_half).await,
        json!({"replayed": 10, "skipped": 0})
    );
    eventually("first half processed", || async {
        app.census().await.processed == 10
    })
    .await;

    let again = app
        .cli_json(&["replay", "--family", "transfer", "--json"])
        .await;
    assert_eq!(again, json!({"replayed": 10, "skipped": 10}));
    app.wait_until_handled(20).await;
    assert_eq!(app.census().await.history, 20);
    assert_eq!(app.census().await.notifications, 20);

    // Everything is processed now: a replay changes nothing.
    let noop = app
        .cli_json(&["replay", "--since", "2000-01-01T00:00:00Z", "--json"])
        .await;
    assert_eq!(noop, json!({"replayed": 0, "skipped": 20}));
    app.cli_refused(&["replay", "--family", "spaceship"]).await;
}

/// The read model, without the columns a rebuild legitimately changes (`updated_at`).
async fn read_model(app: &TestApp) -> Vec<String> {
    census::read_model_lines(&app.pool).await.unwrap()
}

#[tokio::test]
async fn rebuild_after_a_full_run_gives_the_same_read_model_and_notifies_nobody() {
    let app = spawn_app().await;
    for fixture in fixtures::interlace() {
        app.post_fixture(&fixture).await;
    }
    app.post_transfer("t-late", "t-9", "Closed", "2023-03-01T09:00:00.000Z")
        .await;
    app.post_transfer("t-early", "t-9", "Pending", "2023-03-01T08:00:00.000Z")
        .await;
    app.wait_until_handled(13).await;
    let before = read_model(&app).await;
    let notifications = app.census().await.notifications;
    assert!(before.len() > 13);

    let counts = app.cli_json(&["rebuild", "--json"]).await;
    assert_eq!(counts, json!({"replayed": 13, "skipped": 0, "differ": 0}));
    assert_eq!(read_model(&app).await, before);
    assert_eq!(app.census().await.notifications, notifications);

    let transfers = app
        .cli_json(&["rebuild", "--family", "transfer", "--json"])
        .await;
    assert_eq!(transfers, json!({"replayed": 3, "skipped": 0, "differ": 0}));
    assert_eq!(read_model(&app).await, before);
}

#[tokio::test]
async fn status_reports_totals_backlogs_queues_and_the_last_event() {
    let app = spawn_app().await;
    two_bad_events(&app).await;
    app.post_transfer("ok-1", "t-s", "Pending", "2023-03-01T08:00:00.000Z")
        .await;
    app.wait_until_handled(3).await;
    let status = app.cli_json(&["status", "--json"]).await;
    assert_eq!(status["inbox"]["total"], 3);
    assert_eq!(status["inbox"]["deadLettered"], 2);
    assert_eq!(status["inbox"]["unprocessed"], 0);
    assert_eq!(status["lastProcessed"]["eventId"], "ok-1");
    let outboxes = status["outboxes"].as_array().unwrap();
    assert!(outboxes
        .iter()
        .any(|o| o["outbox"] == "events" && o["backlog"].is_number()));
    assert!(outboxes.iter().any(|o| o["outbox"] == "notifications"));
    let queues = status["queues"].as_array().unwrap();
    let dlq = queues
        .iter()
        .find(|q| q["queue"] == app.names().dlq())
        .unwrap();
    assert_eq!(dlq["messages"], 2);
    let read_model = queues
        .iter()
        .find(|q| q["queue"] == app.names().read_model())
        .unwrap();
    assert_eq!(read_model["consumers"], 1);
    assert!(queues
        .iter()
        .any(|q| q["queue"].as_str().unwrap().ends_with(".retry.200ms")));
}
