//! Concurrent batches in the read-model worker: many events for few objects end in the right
//! state, and one unfit event in a batch holds back nothing.

use crate::support::{
    amqp,
    faults::{LeftAs, RawEvent},
    sign::{transfer, EARLIER},
    spawn_app, TestApp,
};
use hookgate::store::census;
use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions},
    BasicProperties,
};
use serde_json::{json, Value};

/// Stores transfer events directly and publishes them to the read-model queue back to back, so
/// the worker takes them in batches of many.
async fn deliver_back_to_back(app: &TestApp, events: &[(&str, String)]) {
    let now = chrono::Utc::now();
    let rows: Vec<RawEvent> = events
        .iter()
        .map(|(id, resource)| RawEvent {
            status: None,
            object_id: None,
            envelope_time: Some(now),
            ..RawEvent::transfer(id, "", "", resource.as_bytes())
        })
        .collect();
    app.store_raw(&rows, LeftAs::Published).await;
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
    let mut first_pending_applied = 0;
    for object_id in objects {
        let found = app.object("transfer", object_id).await;
        assert_eq!(found["status"], "closed", "{object_id}");
        assert_eq!(found["lastEventId"], format!("{object_id}-closed"));
        let history = found["history"].as_array().unwrap();
        assert_eq!(history.len(), 30, "{object_id}: every event once");
        // Batches under way together commit in any order, so which pendings applied varies;
        // that closed did, once, and ended it does not.
        let closed: Vec<&Value> = history.iter().filter(|h| h["status"] == "closed").collect();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0]["applied"], true, "{object_id}");
        let pending_applied = |h: &&Value| h["status"] == "pending" && h["applied"] == true;
        if history.iter().any(|h| pending_applied(&h)) {
            first_pending_applied += 1;
        }
    }
    assert_eq!(
        census::notifications_routed(&app.pool, "notify.transfer.closed")
            .await
            .unwrap(),
        3,
        "each object's close notified once"
    );
    assert_eq!(
        census::notifications_routed(&app.pool, "notify.transfer.pending")
            .await
            .unwrap(),
        first_pending_applied,
        "a pending is notified only for an object's first state: pending after pending is no change"
    );
    assert_eq!(app.census().await.history, events.len() as i64);
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
    assert_eq!(app.object("transfer", "t-b1").await["status"], "pending");
    assert_eq!(app.object("transfer", "t-b2").await["status"], "closed");
    let unfit: Value = app.api_json("/v1/events/unfit").await;
    assert_eq!(unfit["state"], "dead_lettered");
    assert_eq!(
        unfit["processedAt"],
        Value::Null,
        "a dead-lettered event is not processed"
    );
}
