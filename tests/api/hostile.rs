//! Hostile input, signed or not (SPEC 2.3a): every defect of the hardening issue, each tried
//! as an attacker or a buggy platform would, with the pipeline shown to keep going after it.

use crate::support::{
    eventually,
    fixtures::INTERLACE_SECRET,
    sign::{self, transfer, LATER, SW_SECRET},
    spawn_app, spawn_app_with, TestApp, TestOptions,
};
use hookgate::settings::{SchemeKind, Secret, SourceConfig};
use serde_json::{json, Value};

/// Posts an Interlace event whose resource is given as raw text (so that numbers JSON
/// libraries would reject or rewrite reach the app as sent).
async fn post_raw(app: &TestApp, id: &str, event_type: &str, resource: &str) -> u16 {
    let (headers, body) = sign::interlace(INTERLACE_SECRET, id, event_type, resource);
    app.post_webhook("interlace", &headers, body)
        .await
        .status()
        .as_u16()
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
            app.event_state(id).await == want
        })
        .await;
        let stored = app.event(id).await;
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
            allowed_networks: None,
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
        app.event_state("after").await == "processed"
    })
    .await;

    // Routing characters are replaced, so the key matches the family's patterns.
    assert_eq!(
        app.event("h-routing-chars").await["routingKey"],
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
    app.wait_until_processed(&normal).await;
    assert_settled_with_bounded_reasons(&app, &hostile).await;
    let ready: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["ready"], true, "{ready}");
    let text = app.get("/metrics").await.text().await.unwrap();
    let restarts: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("hookgate_task_restarts_total{"))
        .collect();
    assert!(!restarts.is_empty(), "restarts are exported at zero");
    assert!(
        restarts.iter().all(|line| line.ends_with(" 0")),
        "no task failed: {restarts:?}"
    );
}
