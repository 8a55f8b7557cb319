//! Rows that PostgreSQL or the broker refuses, or that an older hookgate stored before today's
//! limits: each fails alone, is parked or dead-lettered with its reason, and stops nothing.

use crate::support::{
    eventually,
    faults::{LeftAs, RawEvent},
    sign::{transfer, LATER},
    spawn_app, TestApp,
};
use hookgate::app::{Roles, StartOptions};
use serde_json::json;
use sha2::{Digest, Sha256};

#[tokio::test]
async fn a_row_the_database_refuses_in_the_worker_fails_alone_and_at_once() {
    let mut app = spawn_app().await;
    // The test's own database refuses one object, as it would a value it cannot hold.
    app.refuse_writes_of("transfers", "poison").await;
    // Queued while no worker runs, so that the worker takes them in one batch.
    app.restart_as(StartOptions {
        migrate: false,
        roles: Roles::SERVE,
    })
    .await;
    let ids: Vec<String> = (0..6).map(|n| format!("w-{n}")).collect();
    for (n, id) in ids.iter().enumerate() {
        let object = if n == 3 {
            "poison".to_owned()
        } else {
            format!("t-{n}")
        };
        app.post_transfer(id, &object, "Closed", LATER).await;
    }
    app.wait_until_published().await;
    app.restart_as(StartOptions {
        migrate: false,
        roles: Roles::WORK,
    })
    .await;
    for (n, id) in ids.iter().enumerate() {
        let want = if n == 3 { "dead_lettered" } else { "processed" };
        eventually(&format!("{id} {want}"), || async {
            app.event_state(id).await == want
        })
        .await;
    }
    let letters = app.cli_json(&["dlq", "list", "--json"]).await;
    let poison = &letters.as_array().unwrap()[0];
    assert_eq!(poison["eventId"], "w-3");
    assert_eq!(
        poison["attempts"], 1,
        "a data error is permanent: no retry tiers"
    );
    assert!(poison["error"]
        .as_str()
        .unwrap()
        .contains("refused for the test"));
    let retried = app
        .metric(r#"hookgate_worker_messages_total{outcome="retried""#)
        .await;
    assert_eq!(
        retried,
        Some(0.0),
        "no neighbour went through the retry tiers"
    );
}

/// Writes a row as an older hookgate without the edge limits could have stored it.
async fn insert_legacy_row(app: &TestApp, event_id: &str, event_type: &str, routing_key: &str) {
    let resource = transfer("t-legacy", "Closed", LATER).to_string();
    let hashed = [resource.as_bytes(), event_id.as_bytes()].concat();
    let row = RawEvent {
        event_type,
        routing_key,
        occurred_at: Some(chrono::Utc::now()),
        content_hash: Sha256::digest(&hashed).to_vec(),
        ..RawEvent::transfer(event_id, "closed", "t-legacy", resource.as_bytes())
    };
    app.store_raw(&[row], LeftAs::Unpublished).await;
}

#[tokio::test]
async fn the_relay_parks_a_row_it_cannot_publish_and_moves_on() {
    let app = spawn_app().await;
    let long_key = format!("transfer.{}", "s".repeat(5_000));
    insert_legacy_row(&app, "legacy-key", "TRANSFER.UPDATED", &long_key).await;
    insert_legacy_row(
        &app,
        &"i".repeat(300),
        "TRANSFER.UPDATED",
        "transfer.closed",
    )
    .await;
    insert_legacy_row(&app, "legacy-type", &"T".repeat(300), "transfer.closed").await;
    app.post_transfer("behind", "t-behind", "Closed", LATER)
        .await;
    eventually("the event behind the bad rows processed", || async {
        app.event_state("behind").await == "processed"
    })
    .await;
    eventually("three rows parked", || async {
        app.census().await.parked == 3
    })
    .await;
    let parked = app.event("legacy-key").await;
    assert_eq!(parked["state"], "dead_lettered");
    assert!(parked["error"].as_str().unwrap().contains("routing key"));
    let status = app.cli_json(&["status", "--json"]).await;
    assert_eq!(status["inbox"]["deadLettered"], 3, "{status}");
    assert_eq!(status["inbox"]["parked"], 3, "{status}");
    let letters = app.cli_json(&["dlq", "list", "--json"]).await;
    let listed: Vec<&str> = letters
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["queue"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["relay (parked)"; 3]);
    assert_eq!(
        app.metric(r#"hookgate_parked_total{outbox="events"}"#)
            .await,
        Some(3.0)
    );
    // Archive replay, asked to include dead-lettered events, meets the same rows: it skips
    // them instead of dying on them.
    let replayed = app
        .cli_json(&[
            "replay",
            "--since",
            "2000-01-01T00:00:00Z",
            "--include-dead-lettered",
            "--json",
        ])
        .await;
    assert_eq!(
        replayed,
        json!({"replayed": 0, "skipped": 4}),
        "1 processed, 3 unpublishable"
    );

    // Once fixed, a replay hands the row back to the relay and it goes all the way.
    app.set_routing_key("legacy-key", "transfer.closed").await;
    let counts = app
        .cli_json(&["dlq", "replay", "--event-id", "legacy-key", "--json"])
        .await;
    assert_eq!(counts["replayed"], 1, "{counts}");
    eventually("the fixed row processed", || async {
        app.event_state("legacy-key").await == "processed"
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn rebuild_covers_objects_older_than_year_one() {
    let app = spawn_app().await;
    app.handle_transfer("ancient", "t-ancient", "Closed", "0001-01-01T00:00:00.000Z")
        .await;
    // As an older hookgate, which accepted years PostgreSQL keeps before year 1, stored it.
    app.set_occurred_at("ancient", "1000-01-01 00:00:00+00 BC")
        .await;
    let counts = app.cli_json(&["rebuild", "--json"]).await;
    assert_eq!(counts, json!({"replayed": 1, "skipped": 0, "differ": 0}));
    assert_eq!(app.object("transfer", "t-ancient").await["id"], "t-ancient");
}

#[tokio::test]
async fn the_inbox_stores_a_row_the_database_refuses_as_unfit_without_failing_its_batch() {
    use hookgate::{
        catalogue::RoutingKey,
        catalogue::{EventId, EventType, Family, Reading, ResourceId, StatusToken, ValidEvent},
        heartbeat::Heartbeat,
        receiving::inbox::{Inbox, InboxSettings, NewEvent, Stored},
    };
    let app = spawn_app().await;
    let (inbox, batcher) = Inbox::new(app.pool.clone(), InboxSettings::default());
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(batcher.run(Heartbeat::new(), stop.clone()));
    let closed = StatusToken::normalise("closed").unwrap();
    let event = |id: &str, occurred_at| NewEvent {
        source: "interlace".into(),
        event_id: EventId::parse(id).unwrap(),
        event_type: EventType::parse("TRANSFER.UPDATED").unwrap(),
        envelope_time: None,
        reading: Reading::Valid(ValidEvent {
            family: Family::Transfer,
            status: closed.clone(),
            object_id: ResourceId::parse("object id", id).unwrap(),
            account_id: None,
            occurred_at,
            amounts: Vec::new(),
        }),
        routing_key: RoutingKey::event(Family::Transfer, &closed),
        resource_raw: id.as_bytes().to_vec(),
        content_hash: id.as_bytes().to_vec(),
        traceparent: None,
    };
    let now = chrono::Utc::now();
    // A time chrono holds and PostgreSQL refuses (SQLSTATE 22008): what a catalogue bug or an
    // older build could let through.
    let far = chrono::NaiveDate::from_ymd_opt(-5000, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let (first, refused, last) = tokio::join!(
        inbox.store(event("good-1", now)),
        inbox.store(event("refused", far)),
        inbox.store(event("good-2", now)),
    );
    for stored in [first, refused, last] {
        assert!(matches!(stored, Ok(Stored::New { .. })), "{stored:?}");
    }
    let refused = app.stored("refused").await;
    let (routing_key, error, occurred_at) = (
        refused.routing_key,
        refused.parse_error.unwrap(),
        refused.occurred_at,
    );
    assert_eq!(routing_key, "transfer.invalid");
    assert!(
        error.starts_with("the database refused the event"),
        "{error}"
    );
    assert_eq!(occurred_at, None);
    stop.cancel();
}
