//! The subscriber contract: every message hookgate publishes, for every family and for unfit
//! and unknown events, is valid against `asyncapi.yaml`'s schemas (body, headers, AMQP
//! properties and routing key), on the exchanges the document names.

use crate::support::{
    amqp::{Tap, WAIT},
    fixtures, json_schema,
    sign::{EARLIER, LATER},
    spawn_app,
};
use jsonschema::Validator;
use lapin::message::Delivery;
use serde_json::{json, Map, Value};

fn document() -> Value {
    json_schema::yaml_file("asyncapi.yaml")
}

fn assert_valid(validator: &Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:?} in {instance}");
}

fn headers(delivery: &Delivery) -> Value {
    let mut map = Map::new();
    if let Some(headers) = delivery.properties.headers() {
        for (name, value) in headers.inner() {
            let text = value
                .as_long_string()
                .map(|s| Value::from(s.to_string()))
                .unwrap_or_else(|| Value::from(format!("{value:?}")));
            map.insert(name.to_string(), text);
        }
    }
    Value::Object(map)
}

fn properties(delivery: &Delivery) -> Value {
    let p = &delivery.properties;
    let text = |v: &Option<lapin::types::ShortString>| v.as_ref().map(|s| s.to_string());
    let mut map = Map::new();
    for (name, value) in [
        ("message_id", text(p.message_id()).map(Value::from)),
        ("type", text(p.kind()).map(Value::from)),
        ("content_type", text(p.content_type()).map(Value::from)),
        ("app_id", text(p.app_id()).map(Value::from)),
        ("delivery_mode", p.delivery_mode().map(Value::from)),
        ("timestamp", p.timestamp().map(Value::from)),
    ] {
        if let Some(value) = value {
            map.insert(name.to_owned(), value);
        }
    }
    Value::Object(map)
}

/// Checks one message against the named schemas of its kind.
fn check(document: &Value, kind: &str, delivery: &Delivery) {
    let what = format!("{kind} {}", delivery.routing_key);
    let body: Value = serde_json::from_slice(&delivery.data).expect("JSON body");
    assert_valid(&json_schema::component(document, kind), &body, &what);
    assert_valid(
        &json_schema::component(document, &format!("{kind}Headers")),
        &headers(delivery),
        &what,
    );
    assert_valid(
        &json_schema::component(document, &format!("{kind}Properties")),
        &properties(delivery),
        &what,
    );
    assert_valid(
        &json_schema::component(document, &format!("{kind}RoutingKey")),
        &Value::from(delivery.routing_key.as_str()),
        &what,
    );
}

#[tokio::test]
async fn every_published_message_matches_the_asyncapi_document() {
    let document = document();
    assert_eq!(document["asyncapi"], "3.0.0");
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let prefix = app.config.broker.prefix.clone();
    let address = |channel: &str| {
        document["channels"][channel]["address"]
            .as_str()
            .unwrap()
            .replace("{prefix}", &prefix)
    };
    assert_eq!(address("events"), app.names().events());
    assert_eq!(address("notifications"), app.names().notifications());
    let mut events = Tap::bind(&address("events"), "#", false).await;
    let mut notifications = Tap::bind(&address("notifications"), "#", false).await;

    let all = fixtures::interlace();
    for fixture in &all {
        assert_eq!(app.post_fixture(fixture).await.status(), 200);
    }
    // A transition from a previous status, an unfit resource and an unknown event type. The
    // first status is projected before the second arrives: two workers' batches commit in any
    // order, and the later status projected first would have no previous status to check.
    app.handle_transfer("c-1", "t-contract", "Pending", EARLIER)
        .await;
    app.post_transfer("c-2", "t-contract", "Closed", LATER)
        .await;
    app.post_event(
        "c-unfit",
        "PAYOUT.UPDATED",
        json!({"id": "p", "status": "CLOSED"}),
    )
    .await;
    app.post_event("c-unknown", "CARDHOLDER.UPDATED", json!({"id": "h"}))
        .await;
    let published = all.len() + 4;
    app.wait_until_handled(published as i64).await;

    for delivery in events.take(published, WAIT).await {
        check(&document, "event", &delivery);
    }
    let notified = app.census().await.notifications;
    let mut bodies = Vec::new();
    for delivery in notifications.take(notified as usize, WAIT).await {
        check(&document, "notification", &delivery);
        bodies.push(serde_json::from_slice::<Value>(&delivery.data).unwrap());
    }
    assert!(
        bodies
            .iter()
            .any(|b| b["objectId"] == "t-contract" && b["previousStatus"] == "pending"),
        "a transition with its previous status was checked"
    );
}

#[tokio::test]
async fn the_schemas_refuse_what_breaks_the_contract() {
    let document = document();
    let event = json_schema::component(&document, "event");
    let valid = json!({"schemaVersion": 1, "id": "e-1", "source": "interlace",
        "eventType": "TRANSFER.UPDATED", "family": "transfer", "status": "closed",
        "objectId": "t-1", "accountId": null, "occurredAt": "2023-03-01T08:23:05.033Z",
        "receivedAt": "2026-11-23T10:00:00.000000Z", "resource": {"id": "t-1"}});
    assert!(event.is_valid(&valid));
    for (field, broken) in [
        ("schemaVersion", json!(2)),
        ("family", json!("spaceship")),
        ("status", json!("Closed")),
        ("occurredAt", json!("2023-03-01 08:23:05")),
        ("id", json!("")),
    ] {
        let mut message = valid.clone();
        message[field] = broken;
        assert!(!event.is_valid(&message), "{field} accepted");
    }
    let mut missing = valid.clone();
    missing.as_object_mut().unwrap().remove("resource");
    assert!(!event.is_valid(&missing), "a message without its resource");
    let notification_id = json_schema::component(&document, "notificationId");
    assert!(notification_id.is_valid(&json!("ntf_0123456789abcdef0123456789abcdef")));
    assert!(!notification_id.is_valid(&json!("0123456789abcdef")));
}
