//! Hostile input, signed or not (SPEC 2.3a): every defect of the hardening issue, each tried
//! as an attacker or a buggy platform would, with the pipeline shown to keep going after it.

use crate::support::{
    eventually,
    fixtures::INTERLACE_SECRET,
    sign::{self, transfer, LATER},
    spawn_app, spawn_app_with, TestApp, TestOptions,
};
use hookgate::{
    app::{Roles, StartOptions},
    settings::{SchemeKind, Secret, SourceConfig},
};
use serde_json::{json, Value};

const SW_SECRET: &str = "whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c=";

/// Posts an Interlace event whose resource is given as raw text (so that numbers JSON
/// libraries would reject or rewrite reach the app as sent).
async fn post_raw(app: &TestApp, id: &str, event_type: &str, resource: &str) -> u16 {
    let (headers, body) = sign::interlace(INTERLACE_SECRET, id, event_type, resource);
    app.post_webhook("interlace", &headers, body)
        .await
        .status()
        .as_u16()
}

async fn event(app: &TestApp, id: &str) -> Value {
    let response = app.api(&format!("/v1/events/{id}")).await;
    assert_eq!(response.status(), 200, "{id}");
    response.json().await.unwrap()
}

async fn state_of(app: &TestApp, id: &str) -> String {
    event(app, id).await["state"].as_str().unwrap().to_owned()
}

fn time_resource(id: &str, time: &str) -> String {
    format!(r#"{{"id":"{id}","status":"Closed","transactionTime":"{time}","amount":"1.00"}}"#)
}

/// One signed event of each hostile class, with the words its dead-letter reason must hold.
/// `None`: the event is safe once cleaned at the edge and is processed.
fn hostile_events(tag: &str) -> Vec<(String, &'static str, String, Option<&'static str>)> {
    let id = |n: &str| format!("{tag}-{n}");
    let ok_time = LATER;
    vec![
        (
            id("long-status"),
            "TRANSFER.UPDATED",
            transfer("t-long", &"S".repeat(5_000), ok_time).to_string(),
            Some("status"),
        ),
        (
            id("status-240"),
            "TRANSFER.UPDATED",
            transfer("t-240", &"s".repeat(240), ok_time).to_string(),
            Some("status"),
        ),
        (
            id("long-object-id"),
            "TRANSFER.UPDATED",
            transfer(&"o".repeat(3_000), "Closed", ok_time).to_string(),
            Some("object id"),
        ),
        (
            id("nul-status"),
            "TRANSFER.UPDATED",
            transfer("t-nul", "Clo\u{0}sed", ok_time).to_string(),
            None,
        ),
        (
            id("nul-account"),
            "TRANSFER.UPDATED",
            json!({"id": "t-acc", "accountId": "a\u{0}", "status": "Closed", "updateTime": ok_time})
                .to_string(),
            Some("accountId"),
        ),
        (
            id("nul-currency"),
            "TRANSFER.UPDATED",
            json!({"id": "t-cur", "status": "Closed", "updateTime": ok_time,
                   "amount": {"amount": "1", "currency": "US\u{0}"}})
            .to_string(),
            Some("currency"),
        ),
        (
            id("year-minus-5000"),
            "CARD_TRANSACTION.UPDATED",
            time_resource("c-old", "-5000-01-01T00:00:00Z"),
            Some("years"),
        ),
        (
            id("huge-number"),
            "CARD_TRANSACTION.UPDATED",
            r#"{"id":"c-huge","status":"Closed","transactionTime":"2023-03-01T08:23:05Z","amount":1e200000}"#
                .to_owned(),
            Some("outside the range"),
        ),
        (
            id("300kb-time"),
            "CARD_TRANSACTION.UPDATED",
            time_resource("c-big", &"9".repeat(300_000)),
            Some("transactionTime"),
        ),
        (
            id("routing-chars"),
            "TRANSFER.UPDATED",
            transfer("t-route", "closed.x#*", ok_time).to_string(),
            None,
        ),
    ]
}

async fn assert_settled_with_bounded_reasons(
    app: &TestApp,
    events: &[(String, &'static str, String, Option<&'static str>)],
) {
    for (id, _, _, reason) in events {
        let want = if reason.is_some() {
            "dead_lettered"
        } else {
            "processed"
        };
        eventually(&format!("{id} {want}"), || async {
            state_of(app, id).await == want
        })
        .await;
        let stored = event(app, id).await;
        if let Some(reason) = reason {
            let error = stored["error"].as_str().expect("a reason");
            assert!(
                error.contains(reason),
                "{id}: {error} should mention {reason}"
            );
            assert!(error.len() <= 1024, "{id}: reason of {} bytes", error.len());
        }
    }
}

#[tokio::test]
async fn envelope_fields_out_of_bounds_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let resource = transfer("t-1", "Closed", LATER).to_string();
    let long_id = "e".repeat(256);
    let long_type = format!("TRANSFER.{}", "U".repeat(120));
    let cases: [(&str, &str); 9] = [
        (&long_id, "TRANSFER.UPDATED"),
        ("tab\tid", "TRANSFER.UPDATED"),
        ("nul\u{0}id", "TRANSFER.UPDATED"),
        ("ünïcode", "TRANSFER.UPDATED"),
        ("ok-1", &long_type),
        ("ok-2", "TRANSFER.#"),
        ("ok-3", "TRANSFER UPDATED"),
        ("ok-4", "TRANSFER-UPDATED"),
        ("ok-5", "TRANSFER.*"),
    ];
    for (id, event_type) in cases {
        let (headers, body) = sign::interlace(INTERLACE_SECRET, id, event_type, &resource);
        let response = app.post_webhook("interlace", &headers, body).await;
        assert_eq!(response.status(), 400, "{id:?} {event_type:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "malformed_payload", "{body}");
        assert!(
            body.to_string().len() < 400,
            "the answer does not echo the value"
        );
    }
    assert_eq!(app.inbox_count().await, 0);

    // The Standard Webhooks id is a header: the same limit applies.
    let partner = spawn_app_with(TestOptions {
        extra_sources: vec![SourceConfig {
            name: "partner".into(),
            scheme: SchemeKind::StandardWebhooks,
            secrets: vec![Secret::new(SW_SECRET)],
            timestamp_tolerance_secs: None,
        }],
        ..TestOptions::default()
    })
    .await;
    let body = json!({"type": "transfer.updated", "data": {"id": "t"}}).to_string();
    for (id, event_type) in [
        ("m".repeat(256), "transfer.updated"),
        ("m-1".into(), "transfer.#"),
    ] {
        let body = body.replace("transfer.updated", event_type);
        let headers =
            sign::standard_webhooks(SW_SECRET, &id, chrono::Utc::now().timestamp(), &body);
        let response = partner.post_webhook("partner", &headers, body).await;
        assert_eq!(response.status(), 400, "{event_type}");
    }
    assert_eq!(partner.inbox_count().await, 0);
}

#[tokio::test]
async fn every_hostile_resource_is_stored_and_ends_with_its_reason_while_others_flow() {
    let app = spawn_app().await;
    let hostile = hostile_events("h");
    for (id, event_type, resource, _) in &hostile {
        assert_eq!(post_raw(&app, id, event_type, resource).await, 200, "{id}");
    }
    app.post_transfer("after", "t-after", "Closed", LATER).await;
    assert_settled_with_bounded_reasons(&app, &hostile).await;
    eventually("the event behind them processed", || async {
        state_of(&app, "after").await == "processed"
    })
    .await;

    // Routing characters are replaced, so the key matches the family's patterns.
    assert_eq!(
        event(&app, "h-routing-chars").await["routingKey"],
        "transfer.closed_x_"
    );
    // Bounded reasons reach the DLQ headers too, and the broker never had to drop the
    // connection for an oversized frame.
    let letters = app.cli_json(&["dlq", "list", "--json"]).await;
    let letters = letters.as_array().unwrap();
    assert_eq!(letters.len(), 8, "{letters:?}");
    for letter in letters {
        assert!(letter["error"].as_str().unwrap().len() <= 1024);
    }
    assert_eq!(
        app.metric("hookgate_broker_reconnects_total").await,
        Some(0.0)
    );
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn a_copy_with_the_event_type_in_another_case_is_a_duplicate() {
    let app = spawn_app().await;
    let resource = transfer("t-case", "Closed", LATER).to_string();
    assert_eq!(
        post_raw(&app, "e-upper", "TRANSFER.UPDATED", &resource).await,
        200
    );
    let (headers, body) =
        sign::interlace(INTERLACE_SECRET, "e-lower", "transfer.updated", &resource);
    let response = app.post_webhook("interlace", &headers, body).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"received": true, "duplicate": true}));
    assert_eq!(app.inbox_count().await, 1);
}

#[tokio::test]
async fn a_row_the_database_refuses_in_the_worker_fails_alone_and_at_once() {
    let mut app = spawn_app().await;
    // The test's own database refuses one object, as it would a value it cannot hold.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.object_id = 'poison' THEN
                 RAISE EXCEPTION 'refused for the test' USING ERRCODE = '22023';
             END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON transfers
             FOR EACH ROW EXECUTE FUNCTION refuse_poison();",
    )
    .execute(&app.pool)
    .await
    .unwrap();
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
            state_of(&app, id).await == want
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
    assert_eq!(retried, None, "no neighbour went through the retry tiers");
}

/// Writes a row as an older hookgate without the edge limits could have stored it.
async fn insert_legacy_row(app: &TestApp, event_id: &str, event_type: &str, routing_key: &str) {
    let resource = transfer("t-legacy", "Closed", LATER).to_string();
    sqlx::query(
        "INSERT INTO inbox_events (source, event_id, event_type, family, status, object_id,
                                   routing_key, occurred_at, resource_raw, resource, content_hash)
         VALUES ('interlace', $1, $2, 'transfer', 'closed', 't-legacy', $3, now(), $4,
                 $5::jsonb, sha256($4 || $1::bytea))",
    )
    .bind(event_id)
    .bind(event_type)
    .bind(routing_key)
    .bind(resource.as_bytes())
    .bind(&resource)
    .execute(&app.pool)
    .await
    .unwrap();
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
        state_of(&app, "behind").await == "processed"
    })
    .await;
    eventually("three rows parked", || async {
        app.count("SELECT count(*) FROM inbox_events WHERE parked_at IS NOT NULL")
            .await
            == 3
    })
    .await;
    let parked = event(&app, "legacy-key").await;
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
    // Archive replay meets the same rows: it skips them instead of dying on them.
    let replayed = app
        .cli_json(&["replay", "--since", "2000-01-01T00:00:00Z", "--json"])
        .await;
    assert_eq!(
        replayed,
        json!({"replayed": 0, "skipped": 4}),
        "1 processed, 3 unpublishable"
    );

    // Once fixed, a replay hands the row back to the relay and it goes all the way.
    sqlx::query(
        "UPDATE inbox_events SET routing_key = 'transfer.closed' WHERE event_id = 'legacy-key'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let counts = app
        .cli_json(&["dlq", "replay", "--event-id", "legacy-key", "--json"])
        .await;
    assert_eq!(counts["replayed"], 1, "{counts}");
    eventually("the fixed row processed", || async {
        state_of(&app, "legacy-key").await == "processed"
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn rebuild_covers_objects_older_than_year_one() {
    let app = spawn_app().await;
    app.post_transfer("ancient", "t-ancient", "Closed", "0001-01-01T00:00:00.000Z")
        .await;
    app.wait_until_handled(1).await;
    // As an older hookgate, which accepted years PostgreSQL keeps before year 1, stored it.
    sqlx::query("UPDATE inbox_events SET occurred_at = '1000-01-01 00:00:00+00 BC'")
        .execute(&app.pool)
        .await
        .unwrap();
    let counts = app.cli_json(&["rebuild", "--json"]).await;
    assert_eq!(counts, json!({"replayed": 1, "skipped": 0}));
    assert_eq!(
        app.count("SELECT count(*) FROM transfers WHERE object_id = 't-ancient'")
            .await,
        1
    );
}

#[tokio::test]
async fn poison_events_among_normal_ones_under_load_stop_nothing() {
    let app = spawn_app().await;
    let hostile = hostile_events("p");
    let normal: Vec<String> = (0..200).map(|n| format!("n-{n}")).collect();
    let posts = normal.iter().enumerate().map(|(n, id)| {
        let app = &app;
        async move {
            let resource = transfer(
                &format!("t-{}", n % 50),
                "Pending",
                &format!("2023-03-01T08:{:02}:{:02}.000Z", n / 60, n % 60),
            );
            app.post_event(id, "TRANSFER.UPDATED", resource).await;
        }
    });
    let hostile_posts = hostile.iter().map(|(id, event_type, resource, _)| {
        let app = &app;
        async move { assert_eq!(post_raw(app, id, event_type, resource).await, 200, "{id}") }
    });
    tokio::join!(
        futures_util::future::join_all(posts),
        futures_util::future::join_all(hostile_posts)
    );
    eventually("every normal event processed", || async {
        app.count(
            "SELECT count(*) FROM inbox_events WHERE event_id LIKE 'n-%' AND processed_at IS NOT NULL",
        )
        .await
            == 200
    })
    .await;
    assert_settled_with_bounded_reasons(&app, &hostile).await;
    let ready: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["ready"], true, "{ready}");
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        !text.contains("hookgate_task_restarts_total{"),
        "no task failed:\n{text}"
    );
}

#[tokio::test]
async fn the_inbox_stores_a_row_the_database_refuses_as_unfit_without_failing_its_batch() {
    use hookgate::{
        catalogue::{EventId, EventType, Family, Reading, ResourceId, StatusToken, ValidEvent},
        receiving::inbox::{Inbox, InboxSettings, NewEvent, Stored},
        supervisor::Heartbeat,
        wire::RoutingKey,
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
        resource_is_json: false,
        content_hash: id.as_bytes().to_vec(),
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
    let (routing_key, error, occurred_at): (String, String, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as(
            "SELECT routing_key, parse_error, occurred_at FROM inbox_events WHERE event_id = 'refused'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(routing_key, "transfer.invalid");
    assert!(
        error.starts_with("the database refused the event"),
        "{error}"
    );
    assert_eq!(occurred_at, None);
    stop.cancel();
}
