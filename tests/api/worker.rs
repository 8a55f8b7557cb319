//! The read-model worker, notifications and the read API (SPEC 1 invariants 4–6, SPEC 3–5).

use crate::support::{
    amqp::{self, body, header_text, message_id, Tap},
    assert_error, eventually,
    fixtures::{self, INTERLACE_SECRET},
    sign::{self, transfer, EARLIER, LATER},
    spawn_app, spawn_app_with,
    subscriber::{subscribed, Subscriber},
    TestApp, TestOptions, API_TOKEN,
};
use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions},
    BasicProperties,
};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

async fn object(app: &TestApp, family: &str, id: &str) -> Value {
    let response = app.api(&format!("/v1/objects/{family}/{id}")).await;
    assert_eq!(response.status(), 200, "{family}/{id}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn every_fixture_family_is_queryable_notified_and_delivered() {
    let subscriber = Subscriber::start(&[]).await;
    let app = spawn_app_with(subscribed(&subscriber)).await;
    app.wait_for_broker("up").await;
    let mut tap = Tap::bind(&app.names().notifications(), "notify.#", false).await;
    // (fixture, family, object id, final status)
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
        let found = object(&app, family, id).await;
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
    let payout = object(&app, "payout", "1851441353254617090").await;
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
    app.post_transfer("t-closed", "t-1", "Closed", LATER).await;
    app.wait_until_handled(1).await;
    app.post_transfer("t-pending", "t-1", "Pending", EARLIER)
        .await;
    app.wait_until_handled(2).await;
    let found = object(&app, "transfer", "t-1").await;
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
    let payout = object(&app, "payout", "1851441353254617090").await;
    assert_eq!(payout["status"], "refunded");
    let stale = payout["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["status"] == "closed")
        .unwrap()
        .clone();
    assert_eq!(stale["applied"], false);
    // Stale events change nothing downstream either.
    assert_eq!(
        app.count("SELECT count(*) FROM notification_outbox").await,
        2
    );
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
    assert_eq!(app.count("SELECT count(*) FROM status_history").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM notification_outbox").await,
        1
    );
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
    let event: Value = app.api("/v1/events/no-id").await.json().await.unwrap();
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
async fn a_subscriber_that_fails_then_recovers_receives_the_notification_once() {
    let subscriber = Subscriber::start(&[500, 503]).await;
    let app = spawn_app_with(subscribed(&subscriber)).await;
    app.post_transfer("retry-me", "t-r", "Closed", EARLIER)
        .await;
    eventually("delivered after retries", || async {
        !subscriber.delivered().is_empty()
    })
    .await;
    app.post_transfer("marker", "t-m", "Closed", EARLIER).await;
    eventually("marker delivered", || async {
        subscriber.delivered().len() >= 2
    })
    .await;
    let received = subscriber.received();
    let attempts: Vec<u16> = received
        .iter()
        .filter(|r| r.body.contains("retry-me"))
        .map(|r| r.answered)
        .collect();
    assert_eq!(
        attempts,
        [500, 503, 200],
        "two transient failures, then one delivery"
    );
    let ids: std::collections::HashSet<&str> = received
        .iter()
        .filter(|r| r.body.contains("retry-me"))
        .map(|r| r.webhook_id.as_str())
        .collect();
    assert_eq!(ids.len(), 1, "the same notification id every time");
    assert!(app
        .metric("hookgate_worker_messages_total{outcome=\"retried\"")
        .await
        .is_some());
}

#[tokio::test]
async fn a_subscriber_answering_400_dead_letters_the_notification() {
    let subscriber = Subscriber::start(&[400]).await;
    let app = spawn_app_with(subscribed(&subscriber)).await;
    app.wait_for_broker("up").await;
    let mut dlq = Tap::attach(&app.names().dlq()).await;
    app.post_transfer("refused", "t-x", "Closed", EARLIER).await;
    let dead = dlq.take(1, WAIT).await.remove(0);
    assert_eq!(
        header_text(&dead, "x-hookgate-queue"),
        Some(app.names().subscriber("ledger"))
    );
    let error = header_text(&dead, "x-hookgate-error").unwrap();
    assert!(error.contains("400"), "{error}");
    assert_eq!(subscriber.received().len(), 1, "a 4xx is not retried");
    eventually("inbox records the dead letter", || async {
        app.count("SELECT count(*) FROM inbox_events WHERE event_id = 'refused' AND dead_lettered_at IS NOT NULL").await == 1
    })
    .await;
    let event: Value = app.api("/v1/events/refused").await.json().await.unwrap();
    assert_eq!(event["state"], "dead_lettered");
    assert!(event["error"].as_str().unwrap().contains("ledger"));
    // `status` counts the event by the same state rule as the event API.
    let status = app.cli_json(&["status", "--json"]).await;
    assert_eq!(status["inbox"]["deadLettered"], 1, "{status}");
    assert_eq!(status["inbox"]["unprocessed"], 0, "{status}");
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
    assert_eq!(app.count("SELECT count(*) FROM status_history").await, 40);
    assert_eq!(
        app.count("SELECT count(*) FROM notification_outbox").await,
        40
    );
    assert_eq!(app.count("SELECT count(*) FROM transfers").await, 40);
}

#[tokio::test]
async fn the_database_going_away_sends_the_event_through_a_retry_tier() {
    let app = spawn_app_with(TestOptions::through_database_proxy()).await;
    app.wait_for_broker("up").await;
    // Stored directly (the test's own connection is not proxied), then delivered while the
    // worker cannot reach the database.
    let resource = transfer("t-db", "Pending", EARLIER).to_string();
    sqlx::query(
        "INSERT INTO inbox_events (source, event_id, event_type, family, status, object_id, routing_key,
                                   occurred_at, resource_raw, content_hash, published_at)
         VALUES ('interlace', 'db-down', 'TRANSFER.UPDATED', 'transfer', 'pending', 't-db', 'transfer.pending',
                 '2023-03-01T08:23:01Z', $1, '\\x00', now())",
    )
    .bind(resource.as_bytes())
    .execute(&app.pool)
    .await
    .unwrap();
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
    assert_eq!(object(&app, "transfer", "t-db").await["status"], "pending");
}

#[tokio::test]
async fn exact_decimals_survive_the_whole_path() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let mut notifications = Tap::bind(&app.names().notifications(), "notify.payout.*", false).await;
    let resource = r#"{"id":"p-exact","status":"CLOSED","successTime":"2024-02-05 18:57:04.091+08","data":{"fromCurrency":"HKD","fromAmount":2000.00000000,"toCurrency":"USD","toAmount":12345678901234.56,"fee":0.11,"feeCurrency":"USD"}}"#;
    let (headers, body_text) =
        sign::interlace(INTERLACE_SECRET, "exact", "PAYOUT.UPDATED", resource);
    app.post_webhook("interlace", &headers, body_text).await;
    app.wait_until_handled(1).await;
    let (amount, to_amount, fee, currency): (String, String, String, String) = sqlx::query_as(
        "SELECT amount::text, to_amount::text, fee::text, currency FROM payouts WHERE object_id = 'p-exact'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (
            amount.as_str(),
            to_amount.as_str(),
            fee.as_str(),
            currency.as_str()
        ),
        ("2000.00000000", "12345678901234.56", "0.11", "HKD")
    );
    let api = app
        .api("/v1/objects/payout/p-exact")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        api.contains("2000.00000000") && api.contains("12345678901234.56"),
        "{api}"
    );
    let notification = notifications.take(1, WAIT).await.remove(0);
    let text = String::from_utf8(notification.data.clone()).unwrap();
    assert!(
        text.contains(r#""fromAmount":2000.00000000"#) && text.contains("12345678901234.56"),
        "{text}"
    );
}

#[tokio::test]
async fn every_amount_format_keeps_its_value_and_scale_in_table_api_and_notification() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let mut notifications =
        Tap::bind(&app.names().notifications(), "notify.transfer.*", false).await;
    let formats = [
        "0",
        "0.00",
        "-3.25",
        "2000.00000000",
        "0.11",
        "12345678901234.56",
        "-0.000001",
        "0.1000000000000000055511151231257827021181583404541015625",
        "123456789012345678901234567890123456789.5",
    ];
    let mut cases = Vec::new();
    for (n, text) in formats.iter().enumerate() {
        for quoted in [true, false] {
            let amount = if quoted {
                format!("\"{text}\"")
            } else {
                text.to_string()
            };
            let object = format!("t-money-{n}-{quoted}");
            let resource = format!(
                r#"{{"id":"{object}","status":"Closed","updateTime":"2024-02-05T10:57:04.091Z","amount":{{"amount":{amount},"currency":"USD"}}}}"#
            );
            let (headers, body) = sign::interlace(
                INTERLACE_SECRET,
                &format!("m-{n}-{quoted}"),
                "TRANSFER.UPDATED",
                &resource,
            );
            app.accepted("interlace", &headers, body).await;
            cases.push((object, text, amount));
        }
    }
    app.wait_until_handled(cases.len() as i64).await;
    let mut bodies: Vec<String> = notifications
        .take(cases.len(), WAIT)
        .await
        .iter()
        .map(|d| String::from_utf8(d.data.clone()).unwrap())
        .collect();
    for (object, text, amount) in &cases {
        let stored: String =
            sqlx::query_scalar("SELECT amount::text FROM transfers WHERE object_id = $1")
                .bind(object)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert_eq!(stored, **text, "{object}: NUMERIC keeps value and scale");
        let api = app
            .api(&format!("/v1/objects/transfer/{object}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            api.contains(&format!(r#""amount":{amount}"#)),
            "{object}: {api}"
        );
        let position = bodies
            .iter()
            .position(|b| b.contains(&format!(r#""objectId":"{object}""#)))
            .expect("notified");
        let body = bodies.remove(position);
        assert!(
            body.contains(&format!(r#""amount":{amount}"#)),
            "{object}: {body}"
        );
    }
}

#[tokio::test]
async fn events_outside_the_catalogue_are_processed_and_counted() {
    let app = spawn_app().await;
    app.post_event("holder", "CARDHOLDER.UPDATED", json!({"id": "h-1"}))
        .await;
    app.wait_until_handled(1).await;
    let event: Value = app
        .api("/v1/events/holder?source=interlace")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(event["state"], "processed");
    assert_eq!(event["routingKey"], "unknown.cardholder.updated");
    assert_eq!(
        app.metric("hookgate_unknown_events_total{event_type=\"CARDHOLDER.UPDATED\"}")
            .await,
        Some(1.0)
    );
    assert_eq!(app.count("SELECT count(*) FROM status_history").await, 0);
}

#[tokio::test]
async fn read_api_requires_the_bearer_token() {
    let app = spawn_app().await;
    app.post_transfer("auth", "t-a", "Pending", EARLIER).await;
    app.wait_until_handled(1).await;
    let client = reqwest::Client::new();
    let path = app.url("/v1/objects/transfer/t-a");
    let none = client.get(&path).send().await.unwrap();
    assert_error(none, (401, "unauthorized")).await;
    let wrong = client
        .get(&path)
        .bearer_auth("not-it")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = client
        .get(&path)
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);

    for missing in [
        "/v1/objects/transfer/nope",
        "/v1/objects/spaceship/t-a",
        "/v1/objects/unknown/t-a",
        "/v1/events/nope",
        "/v1/events/auth?source=partner",
    ] {
        assert_error(app.api(missing).await, (404, "not_found")).await;
    }
    let event: Value = app.api("/v1/events/auth").await.json().await.unwrap();
    assert_eq!(event["id"], "auth");
    assert_eq!(event["source"], "interlace");
    assert_eq!(event["eventType"], "TRANSFER.UPDATED");
    assert_eq!(event["state"], "processed");
    assert!(event["publishedAt"].is_string() && event["processedAt"].is_string());
    assert_eq!(event["deadLetteredAt"], Value::Null);
    assert_eq!(event["error"], Value::Null);
}

#[tokio::test]
async fn read_api_is_unavailable_without_a_configured_token() {
    let app = spawn_app_with(TestOptions::with_env("HOOKGATE_API_TOKEN", "")).await;
    assert_error(app.api("/v1/events/anything").await, (503, "unavailable")).await;
}

/// Stores transfer events directly and publishes them to the read-model queue back to back, so
/// the worker takes them in batches of many.
async fn deliver_back_to_back(app: &TestApp, events: &[(&str, String)]) {
    for (id, resource) in events {
        sqlx::query(
            "INSERT INTO inbox_events (source, event_id, event_type, family, routing_key, resource_raw,
                                       content_hash, envelope_time, published_at)
             VALUES ('interlace', $1, 'TRANSFER.UPDATED', 'transfer', 'transfer.x', $2, sha256($2), now(), now())",
        )
        .bind(id)
        .bind(resource.as_bytes())
        .execute(&app.pool)
        .await
        .unwrap();
    }
    let connection = amqp::connect().await;
    let channel = connection.create_channel().await.unwrap();
    // Confirmed, so none is still in flight when the connection is dropped.
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let mut confirms = Vec::new();
    for (id, _) in events {
        let confirm = channel
            .basic_publish(
                "".into(),
                app.names().read_model().as_str().into(),
                BasicPublishOptions::default(),
                json!({"id": id, "source": "interlace"})
                    .to_string()
                    .as_bytes(),
                BasicProperties::default().with_message_id((*id).into()),
            )
            .await
            .unwrap();
        confirms.push(confirm);
    }
    for confirm in confirms {
        assert!(confirm.await.unwrap().is_ack());
    }
}

#[tokio::test]
async fn many_events_for_few_objects_in_concurrent_batches_end_in_the_right_state() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    // Per object: pending at seconds 1..=29 and closed at second 30, scrambled with closed
    // eighth, so one object's events meet in one batch and in batches under way together.
    let objects = ["t-m1", "t-m2", "t-m3"];
    let seconds: Vec<u32> = (0..30).map(|step| (step * 7 + 11) % 30).collect();
    let mut events: Vec<(String, String)> = Vec::new();
    for &second in &seconds {
        for object_id in objects {
            let (id, status, second) = match second {
                0 => (format!("{object_id}-closed"), "Closed", 30),
                _ => (format!("{object_id}-pending-{second}"), "Pending", second),
            };
            let time = format!("2023-03-01T08:23:{second:02}.000Z");
            events.push((id, transfer(object_id, status, &time).to_string()));
        }
    }
    let borrowed: Vec<(&str, String)> = events
        .iter()
        .map(|(id, resource)| (id.as_str(), resource.clone()))
        .collect();
    deliver_back_to_back(&app, &borrowed).await;
    app.wait_until_handled(events.len() as i64).await;
    for object_id in objects {
        let found = object(&app, "transfer", object_id).await;
        assert_eq!(found["status"], "closed", "{object_id}");
        assert_eq!(found["lastEventId"], format!("{object_id}-closed"));
        let history = found["history"].as_array().unwrap();
        assert_eq!(history.len(), 30, "{object_id}: every event once");
        // Batches under way together commit in any order, so which pendings applied varies;
        // that closed did, once, and ended it does not.
        let closed: Vec<&Value> = history.iter().filter(|h| h["status"] == "closed").collect();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0]["applied"], true, "{object_id}");
    }
    assert_eq!(
        app.count(
            "SELECT count(*) FROM notification_outbox WHERE routing_key = 'notify.transfer.closed'"
        )
        .await,
        3,
        "each object's close notified once"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM notification_outbox WHERE routing_key = 'notify.transfer.pending'"
        )
        .await,
        app.count(
            "SELECT count(DISTINCT object_id) FROM status_history
             WHERE status = 'pending' AND applied"
        )
        .await,
        "a pending is notified only for an object's first state: pending after pending is no change"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM status_history").await,
        events.len() as i64
    );
    assert_eq!(
        app.metric("hookgate_worker_messages_total{outcome=\"retried\"")
            .await
            .unwrap_or(0.0),
        0.0,
        "batches touching the same objects wait for each other instead of failing"
    );
}

#[tokio::test]
async fn one_unfit_event_in_a_batch_does_not_hold_back_the_others() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let events = [
        ("good-1", transfer("t-b1", "Pending", EARLIER).to_string()),
        ("unfit", json!({"status": "Pending"}).to_string()),
        ("good-2", transfer("t-b2", "Closed", EARLIER).to_string()),
    ];
    deliver_back_to_back(&app, &events).await;
    app.wait_until_handled(3).await;
    assert_eq!(object(&app, "transfer", "t-b1").await["status"], "pending");
    assert_eq!(object(&app, "transfer", "t-b2").await["status"], "closed");
    let unfit: Value = app.api("/v1/events/unfit").await.json().await.unwrap();
    assert_eq!(unfit["state"], "dead_lettered");
    assert_eq!(
        unfit["processedAt"],
        Value::Null,
        "a dead-lettered event is not processed"
    );
}
