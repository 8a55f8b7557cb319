//! The read-model worker and its notifications (SPEC 1 invariants 4–6, SPEC 3 and 4).

use crate::support::{
    amqp::{self, body, header_text, message_id, Tap, WAIT},
    eventually,
    faults::{LeftAs, RawEvent},
    find, fixtures,
    sign::{transfer, EARLIER, LATER},
    spawn_app, spawn_app_with,
    subscriber::{subscribed, Subscriber},
    TestOptions,
};
use hookgate::catalogue::Family;
use lapin::{options::BasicPublishOptions, BasicProperties};
use serde_json::{json, Value};

#[tokio::test]
async fn every_fixture_family_is_queryable_notified_and_delivered() {
    let subscriber = Subscriber::start(&[]).await;
    let app = spawn_app_with(subscribed(&subscriber)).await;
    app.wait_for_broker("up").await;
    let mut tap = Tap::bind(&app.names().notifications(), "notify.#", false).await;
    // (fixture, family, object id, final status): a row per family is most of its length; one
    // run checks table, API, notification and delivery together, as a subscriber sees them.
    let expected = [
        (
            "transfer",
            "transfer",
            "c32e92cb-49fe-4f2c-9598-492d31ea3b19",
            "closed",
        ),
        (
            "card_transaction",
            "card_transaction",
            "302b17cf-b56a-4f86-bc7f-32ae6dd71550",
            "closed",
        ),
        (
            "budget_transaction",
            "budget_transaction",
            "b4e61edc-63d0-44b9-9251-d1b10fcfb4bb",
            "closed",
        ),
        (
            "kyc",
            "kyc",
            "cae9efe2-b577-4632-8c57-8822ddb8542a",
            "passed",
        ),
        (
            "kyb",
            "kyb",
            "cae9efe2-b577-4632-8c57-8822ddb8542a",
            "passed",
        ),
        (
            "face_authentication",
            "face_authentication",
            "38bd10c0-ac62-4bd3-93cc-b189e260d31d",
            "fail",
        ),
        ("payout_success", "payout", "1851441353254617090", "closed"),
        (
            "crypto_deposit",
            "crypto_deposit",
            "8ea4d70d-6c49-43fd-ba0d-cd0b66aed212",
            "closed",
        ),
        (
            "global_account_transaction",
            "global_account_transaction",
            "2174e191-3554-49a9-a891-6bcac1b143c5",
            "pending",
        ),
        (
            "card",
            "card",
            "ce04331f-d2f3-42de-8d65-f66c69aa3888",
            "inactive",
        ),
    ];
    for (name, ..) in expected {
        app.post_fixture(&fixtures::interlace_named(name)).await;
    }
    app.wait_until_handled(10).await;
    // The refund follows the payout's success once that is applied.
    app.post_fixture(&fixtures::interlace_named("payout_refund"))
        .await;
    app.wait_until_handled(11).await;

    for (name, family, id, status) in expected {
        let envelope: Value = serde_json::from_str(&fixtures::interlace_named(name).body).unwrap();
        let found = app.object(family, id).await;
        let final_status = if family == "payout" {
            "refunded"
        } else {
            status
        };
        assert_eq!(found["family"], family, "{name}");
        assert_eq!(found["id"], id);
        assert_eq!(found["status"], final_status, "{name}");
        assert!(found["occurredAt"].is_string() && found["updatedAt"].is_string());
        assert!(found["resource"].is_object(), "{name}");
        let history = found["history"].as_array().unwrap();
        assert!(
            history.iter().any(|h| h["eventId"] == envelope["id"]
                && h["status"] == status
                && h["applied"] == true),
            "{name}: {history:?}"
        );
    }
    let payout = app.object("payout", "1851441353254617090").await;
    assert_eq!(payout["history"].as_array().unwrap().len(), 2);
    assert_eq!(
        payout["lastEventId"],
        "0b6f7c1e-2a51-4c1b-9a55-6f0d2c1e0008"
    );

    // One notification per applied transition: ten first states and closed → refunded.
    let notifications = tap.take(11, WAIT).await;
    let refund = notifications
        .iter()
        .map(body)
        .find(|n| n["status"] == "refunded")
        .expect("refund notified");
    assert_eq!(refund["previousStatus"], "closed");
    assert_eq!(refund["family"], "payout");
    assert_eq!(refund["eventId"], "0b6f7c1e-2a51-4c1b-9a55-6f0d2c1e0008");
    let first = notifications
        .iter()
        .map(body)
        .find(|n| n["family"] == "transfer")
        .unwrap();
    assert_eq!(first["previousStatus"], Value::Null);
    assert_eq!(first["schemaVersion"], 1);
    assert_eq!(first["accountId"], "d37deed7-f0e7-4635-a43a-781af0cb59f0");
    assert!(notifications
        .iter()
        .all(|n| n.routing_key.as_str().starts_with("notify.")));

    eventually("subscriber received all", || async {
        subscriber.delivered().len() >= 11
    })
    .await;
    let delivered = subscriber.delivered();
    assert_eq!(delivered.len(), 11);
    for request in &delivered {
        assert!(
            request.signature_valid,
            "Standard Webhooks signature with the subscriber's secret"
        );
        let sent: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(
            sent["id"],
            request.webhook_id.as_str(),
            "webhook-id is the notification id"
        );
    }
}

#[tokio::test]
async fn out_of_order_events_end_in_the_right_state() {
    let app = spawn_app().await;
    app.handle_transfer("t-closed", "t-1", "Closed", LATER)
        .await;
    app.handle_transfer("t-pending", "t-1", "Pending", EARLIER)
        .await;
    let found = app.object("transfer", "t-1").await;
    assert_eq!(found["status"], "closed");
    assert_eq!(found["lastEventId"], "t-closed");
    let history = found["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["eventId"], "t-pending");
    assert_eq!(history[0]["applied"], false);
    assert_eq!(history[1]["applied"], true);

    let refund = fixtures::interlace_named("payout_refund");
    app.post_fixture(&refund).await;
    app.wait_until_handled(3).await;
    app.post_fixture(&fixtures::interlace_named("payout_success"))
        .await;
    app.wait_until_handled(4).await;
    let payout = app.object("payout", "1851441353254617090").await;
    assert_eq!(payout["status"], "refunded");
    let stale = find(&payout["history"], "status", "closed");
    assert_eq!(stale["applied"], false);
    // Stale events change nothing downstream either.
    assert_eq!(app.census().await.notifications, 2);
}

#[tokio::test]
async fn an_event_delivered_five_times_applies_and_notifies_once() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let mut events = Tap::bind(&app.names().events(), "#", false).await;
    let mut notifications = Tap::bind(&app.names().notifications(), "notify.#", false).await;
    app.post_transfer("five", "t-5", "Pending", EARLIER).await;
    let original = events.take(1, WAIT).await.remove(0);
    app.wait_until_handled(1).await;

    let connection = amqp::connect().await;
    let channel = connection.create_channel().await.unwrap();
    for _ in 0..4 {
        channel
            .basic_publish(
                "".into(),
                app.names().read_model().as_str().into(),
                BasicPublishOptions::default(),
                &original.data,
                BasicProperties::default().with_message_id(message_id(&original).as_str().into()),
            )
            .await
            .unwrap();
    }
    eventually("four redeliveries seen", || async {
        app.metric(&format!(
            "hookgate_already_processed_total{{queue=\"{}\"}}",
            app.names().read_model()
        ))
        .await
        .unwrap_or(0.0)
            >= 4.0
    })
    .await;
    assert_eq!(app.census().await.history, 1);
    assert_eq!(app.census().await.notifications, 1);
    app.post_transfer("marker", "t-6", "Pending", EARLIER).await;
    let received: Vec<Value> = notifications.take(2, WAIT).await.iter().map(body).collect();
    assert_eq!(received[0]["eventId"], "five");
    assert_eq!(received[1]["eventId"], "marker");
}

#[tokio::test]
async fn a_resource_that_does_not_fit_is_dead_lettered_with_its_reason() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let no_id = json!({"status": "Closed", "transactionTime": "2021-10-28T11:07:31.019Z"});
    app.post_event("no-id", "CARD_TRANSACTION.UPDATED", no_id)
        .await;
    app.wait_until_handled(1).await;
    let event: Value = app.api_json("/v1/events/no-id").await;
    assert_eq!(event["state"], "dead_lettered");
    assert_eq!(event["routingKey"], "card_transaction.invalid");
    assert!(event["deadLetteredAt"].is_string());
    assert!(
        event["error"].as_str().unwrap().contains("object id"),
        "{event}"
    );

    let mut dlq = Tap::attach(&app.names().dlq()).await;
    let dead = dlq.take(1, WAIT).await.remove(0);
    assert_eq!(message_id(&dead), "no-id");
    let text = |name: &str| header_text(&dead, name);
    assert_eq!(text("x-hookgate-queue"), Some(app.names().read_model()));
    assert!(text("x-hookgate-error").unwrap().contains("object id"));
    assert!(text("x-hookgate-failed-at").is_some());
    assert_eq!(
        dead.properties
            .headers()
            .as_ref()
            .unwrap()
            .inner()
            .get("x-hookgate-attempts")
            .and_then(|v| v.as_long_long_int()),
        Some(1)
    );
}

#[tokio::test]
async fn a_worker_killed_mid_stream_causes_no_second_effect() {
    let mut app = spawn_app().await;
    app.wait_for_broker("up").await;
    for n in 0..40 {
        app.post_transfer(&format!("k-{n}"), &format!("t-k{n}"), "Closed", EARLIER)
            .await;
    }
    // Killed wherever it is: some events committed and not acknowledged, some not started.
    app.kill();
    app.restart().await;
    app.wait_until_handled(40).await;
    assert_eq!(app.census().await.history, 40);
    assert_eq!(app.census().await.notifications, 40);
    assert_eq!(app.objects_of(Family::Transfer).await, 40);
}

#[tokio::test]
async fn the_database_going_away_sends_the_event_through_a_retry_tier() {
    let app = spawn_app_with(TestOptions::through_database_proxy()).await;
    app.wait_for_broker("up").await;
    // Stored directly (the test's own connection is not proxied), then delivered while the
    // worker cannot reach the database.
    let resource = transfer("t-db", "Pending", EARLIER).to_string();
    let row = RawEvent {
        routing_key: "transfer.pending",
        occurred_at: Some("2023-03-01T08:23:01Z".parse().unwrap()),
        content_hash: vec![0],
        ..RawEvent::transfer("db-down", "pending", "t-db", resource.as_bytes())
    };
    app.store_raw(&[row], LeftAs::Published).await;
    app.database_proxy.as_ref().unwrap().cut();
    let connection = amqp::connect().await;
    let channel = connection.create_channel().await.unwrap();
    channel
        .basic_publish(
            "".into(),
            app.names().read_model().as_str().into(),
            BasicPublishOptions::default(),
            json!({"id": "db-down", "source": "interlace"})
                .to_string()
                .as_bytes(),
            BasicProperties::default().with_message_id("db-down".into()),
        )
        .await
        .unwrap();
    eventually("a retry", || async {
        app.metric("hookgate_worker_messages_total{outcome=\"retried\"")
            .await
            .unwrap_or(0.0)
            >= 1.0
    })
    .await;
    app.database_proxy.as_ref().unwrap().restore();
    app.wait_until_handled(1).await;
    assert_eq!(app.object("transfer", "t-db").await["status"], "pending");
}

#[tokio::test]
async fn events_outside_the_catalogue_are_processed_and_counted() {
    let app = spawn_app().await;
    app.post_event("holder", "CARDHOLDER.UPDATED", json!({"id": "h-1"}))
        .await;
    app.wait_until_handled(1).await;
    let event: Value = app.api_json("/v1/events/holder?source=interlace").await;
    assert_eq!(event["state"], "processed");
    assert_eq!(event["routingKey"], "unknown.cardholder.updated");
    assert_eq!(app.metric("hookgate_unknown_events_total").await, Some(1.0));
    assert_eq!(app.census().await.history, 0);
}
