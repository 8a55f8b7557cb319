//! The relay: every stored event reaches `<prefix>.events` with confirms, also after outages
//! and crashes (SPEC 1 invariant 3, SPEC 4).

use crate::support::{
    amqp::{body, header_text, message_id, Tap, WAIT},
    fixtures::{self, INTERLACE_SECRET},
    sign::{self, LATER},
    spawn_app, spawn_app_with, spawn_app_with_env, TestApp, TestOptions,
};
use serde_json::Value;
use std::time::Duration;

async fn send_transfer(app: &TestApp, n: usize) -> String {
    let event_id = format!("evt-{n:04}");
    let resource =
        serde_json::json!({"id": format!("t-{n}"), "accountId": "acc", "status": "Pending",
        "updateTime": LATER, "amount": {"amount": "1.10", "currency": "USD"}})
        .to_string();
    let (headers, body) =
        sign::interlace(INTERLACE_SECRET, &event_id, "TRANSFER.UPDATED", &resource);
    let response = app.post_webhook("interlace", &headers, body).await;
    assert_eq!(response.status(), 200, "{event_id}");
    event_id
}

#[tokio::test]
async fn every_family_lands_on_its_routing_key_with_the_spec_message() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let mut tap = Tap::bind(&app.names().events(), "#", false).await;
    let all = fixtures::interlace();
    for fixture in &all {
        assert_eq!(app.post_fixture(fixture).await.status(), 200);
    }
    let deliveries = tap.take(all.len(), WAIT).await;
    for fixture in &all {
        let envelope: Value = serde_json::from_str(&fixture.body).unwrap();
        let id = envelope["id"].as_str().unwrap();
        let delivery = deliveries
            .iter()
            .find(|d| message_id(d) == id)
            .expect("published");
        let stored = app.stored(id).await;
        let (family, status, object_id, account_id) = (
            stored.family,
            stored.status.unwrap(),
            stored.object_id.unwrap(),
            stored.account_id,
        );
        let occurred_at = stored.occurred_at.unwrap();
        let occurred_at = occurred_at.trim_end_matches('Z');
        assert_eq!(
            delivery.routing_key.as_str(),
            format!("{family}.{status}"),
            "{}",
            fixture.name
        );
        let properties = &delivery.properties;
        assert_eq!(
            properties.kind().as_ref().unwrap().as_str(),
            envelope["eventType"].as_str().unwrap()
        );
        assert_eq!(
            properties.content_type().as_ref().unwrap().as_str(),
            "application/json"
        );
        assert_eq!(properties.delivery_mode(), &Some(2));
        assert!(properties.timestamp().is_some());
        assert_eq!(header_text(delivery, "x-source").unwrap(), "interlace");

        let message = body(delivery);
        assert_eq!(message["schemaVersion"], 1);
        assert_eq!(message["id"], id);
        assert_eq!(message["source"], "interlace");
        assert_eq!(message["eventType"], envelope["eventType"]);
        assert_eq!(message["family"], family);
        assert_eq!(message["status"], status);
        assert_eq!(message["objectId"], object_id);
        assert_eq!(message["accountId"], serde_json::json!(account_id));
        assert!(
            message["occurredAt"]
                .as_str()
                .unwrap()
                .starts_with(occurred_at),
            "{}",
            fixture.name
        );
        assert!(message["receivedAt"].is_string());
        // The resource arrives as the object that was signed, byte for byte.
        let raw = std::str::from_utf8(&delivery.data).unwrap();
        assert!(
            raw.ends_with(&format!(
                r#""resource":{}}}"#,
                envelope["resource"].as_str().unwrap()
            )),
            "{raw}"
        );
    }
    app.wait_until_published().await;
    assert!(
        tap.next(Duration::from_millis(300)).await.is_none(),
        "nothing published twice"
    );
}

#[tokio::test]
async fn exact_amounts_are_republished_exactly() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let mut tap = Tap::bind(&app.names().events(), "payout.*", false).await;
    let resource = r#"{"id":"p-1","status":"CLOSED","successTime":"2024-02-05 18:57:04.091+08","data":{"fromAmount":2000.00000000,"toAmount":12345678901234.56,"fee":0.11}}"#;
    let (headers, body_text) =
        sign::interlace(INTERLACE_SECRET, "exact", "PAYOUT.UPDATED", resource);
    app.post_webhook("interlace", &headers, body_text).await;
    let delivery = tap.take(1, WAIT).await.remove(0);
    let message = body(&delivery);
    assert_eq!(
        message["resource"]["data"]["fromAmount"].to_string(),
        "2000.00000000"
    );
    assert_eq!(
        message["resource"]["data"]["toAmount"].to_string(),
        "12345678901234.56"
    );
    assert_eq!(message["resource"]["data"]["fee"].to_string(), "0.11");
}

#[tokio::test]
async fn a_duplicate_is_not_published_again() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let mut tap = Tap::bind(&app.names().events(), "#", false).await;
    let fixture = fixtures::interlace_named("card");
    app.post_fixture(&fixture).await;
    app.wait_until_published().await;
    let again = app.post_fixture(&fixture).await;
    assert_eq!(again.json::<Value>().await.unwrap()["duplicate"], true);
    // A later event marks the point by which a republished copy would have arrived.
    let marker = send_transfer(&app, 1).await;
    let deliveries = tap.take(2, WAIT).await;
    let ids: Vec<String> = deliveries.iter().map(message_id).collect();
    assert_eq!(
        ids,
        ["0b6f7c1e-2a51-4c1b-9a55-6f0d2c1e0011".to_owned(), marker]
    );
}

#[tokio::test]
async fn invalid_and_unknown_events_are_published_on_their_keys() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let mut tap = Tap::bind(&app.names().events(), "#", false).await;
    let (headers, body_text) =
        sign::interlace(INTERLACE_SECRET, "bad", "PAYOUT.UPDATED", r#"{"id":"p"}"#);
    app.post_webhook("interlace", &headers, body_text).await;
    let (headers, body_text) = sign::interlace(
        INTERLACE_SECRET,
        "new",
        "CARDHOLDER.CREATED",
        r#"{"id":"h"}"#,
    );
    app.post_webhook("interlace", &headers, body_text).await;
    let keys: Vec<String> = tap
        .take(2, WAIT)
        .await
        .iter()
        .map(|d| d.routing_key.to_string())
        .collect();
    assert_eq!(keys, ["payout.invalid", "unknown.cardholder.created"]);
}

#[tokio::test]
async fn events_stored_by_a_process_that_died_are_published_by_the_next_one() {
    let mut app = spawn_app_with(TestOptions::through_broker_proxy()).await;
    app.broker_proxy.as_ref().unwrap().cut();
    let sent: Vec<String> = {
        let mut sent = Vec::new();
        for n in 0..5 {
            sent.push(send_transfer(&app, n).await);
        }
        sent
    };
    app.kill();
    app.broker_proxy.as_ref().unwrap().restore();
    let mut tap = Tap::bind_when_declared(&app).await;
    app.restart().await;
    let ids: Vec<String> = tap.take(5, WAIT).await.iter().map(message_id).collect();
    assert_eq!(ids, sent, "published in order of receipt");
    app.wait_until_published().await;
}

#[tokio::test]
async fn broker_outage_keeps_accepting_and_loses_nothing() {
    let app = spawn_app_with(TestOptions::through_broker_proxy()).await;
    app.wait_for_broker("up").await;
    let mut tap = Tap::bind(&app.names().events(), "#", false).await;
    let proxy = app.broker_proxy.as_ref().unwrap();
    let mut sent = Vec::new();
    for n in 0..120 {
        if n == 40 {
            proxy.cut();
            app.wait_for_broker("down").await;
        }
        if n == 80 {
            let backlog = app
                .metric("hookgate_outbox_backlog{outbox=\"events\"}")
                .await;
            // Read at the scrape: it grows while the relay waits for the broker.
            assert!(
                backlog.is_some_and(|b| b >= 40.0),
                "the 40 events of the outage are in the backlog: {backlog:?}"
            );
            proxy.restore();
        }
        sent.push(send_transfer(&app, n).await);
    }
    app.wait_for_broker("up").await;
    app.wait_until_published().await;
    // At least once on the wire: a message whose confirm was lost with the link is sent again,
    // under the same message id. Nothing is missing, and order of receipt holds for the first
    // copy of each.
    let mut first_seen: Vec<String> = Vec::new();
    while first_seen.len() < sent.len() {
        let delivery = tap
            .next(WAIT)
            .await
            .unwrap_or_else(|| panic!("missing after {} events", first_seen.len()));
        let id = message_id(&delivery);
        assert!(sent.contains(&id), "unexpected {id}");
        if !first_seen.contains(&id) {
            first_seen.push(id);
        }
    }
    let mut ordered = first_seen.clone();
    ordered.sort();
    assert_eq!(ordered, sent);
    assert!(
        app.metric("hookgate_broker_reconnects_total")
            .await
            .unwrap()
            >= 1.0
    );
}

#[tokio::test]
async fn an_unroutable_publish_is_detected_and_retried_once_routable() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let names = app.names();
    // Without the read-model queue nothing is bound to the events exchange.
    let connection = crate::support::amqp::connect().await;
    let channel = connection.create_channel().await.unwrap();
    channel
        .queue_delete(
            names.read_model().as_str().into(),
            lapin::options::QueueDeleteOptions::default(),
        )
        .await
        .unwrap();
    let id = send_transfer(&app, 7).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while app
        .metric("hookgate_publish_returns_total{outbox=\"events\"}")
        .await
        .unwrap_or(0.0)
        < 1.0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "return never counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.event(&id).await["publishedAt"],
        Value::Null,
        "a returned message is not marked published"
    );

    let mut tap = Tap::bind(&names.events(), "#", false).await;
    let delivery = tap.take(1, WAIT).await.remove(0);
    assert_eq!(message_id(&delivery), id);
    app.wait_until_published().await;
}

#[tokio::test]
async fn healthz_reports_the_broker_and_readiness_does_not_depend_on_it() {
    let app = spawn_app_with(TestOptions::through_broker_proxy()).await;
    app.wait_for_broker("up").await;
    app.broker_proxy.as_ref().unwrap().cut();
    app.wait_for_broker("down").await;
    let ready = app.get("/readyz").await;
    assert_eq!(
        ready.status(),
        200,
        "webhooks are still accepted without the broker"
    );
    let fixture = fixtures::interlace_named("kyc");
    assert_eq!(app.post_fixture(&fixture).await.status(), 200);
}

/// How many rows a claim within `limit` takes now (in a transaction rolled back at once).
async fn claimed_rows(app: &TestApp, limit: hookgate::store::outbox::ClaimLimit) -> usize {
    let mut tx = app.pool.begin().await.unwrap();
    let rows = hookgate::store::outbox::claim_events(&mut tx, limit)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    rows.len()
}

#[tokio::test]
async fn a_relay_claim_stops_at_its_byte_budget_but_always_takes_one_row() {
    use hookgate::store::outbox::ClaimLimit;
    let app = spawn_app_with(TestOptions::through_broker_proxy()).await;
    app.broker_proxy.as_ref().unwrap().cut();
    for n in 0..3 {
        app.post_transfer(&format!("b-{n}"), &format!("t-{n}"), "Pending", LATER)
            .await;
    }
    let first = app.stored("b-0").await.resource_raw.len() as i64;
    let rows = |bytes| ClaimLimit { rows: 500, bytes };
    // The relay, waiting for the broker, holds no rows; each claim sees all three.
    crate::support::eventually("claims within their budgets", || async {
        claimed_rows(&app, rows(1)).await == 1
            && claimed_rows(&app, rows(first + 1)).await == 2
            && claimed_rows(&app, rows(1 << 20)).await == 3
            && claimed_rows(
                &app,
                ClaimLimit {
                    rows: 2,
                    bytes: 1 << 20,
                },
            )
            .await
                == 2
    })
    .await;
}

#[tokio::test]
async fn a_byte_budget_of_one_still_publishes_every_event_one_claim_at_a_time() {
    let app = spawn_app_with_env(&[("HOOKGATE_RELAY_BATCH_BYTES", "1")]).await;
    for n in 0..5 {
        app.post_transfer(&format!("o-{n}"), &format!("t-{n}"), "Pending", LATER)
            .await;
    }
    app.wait_until_handled(5).await;
    app.wait_until_published().await;
}
