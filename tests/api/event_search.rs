//! `GET /v1/events`: filters, newest first, keyset pages that add up to everything exactly
//! once, and each wrong parameter answered with its own status and code.

use crate::support::{
    assert_error,
    sign::{EARLIER, LATER},
    spawn_app, TestApp,
};
use serde_json::{json, Value};
use std::collections::HashSet;

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let page: Value = app.api_json(&format!("/v1/events?{query}")).await;
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Six events: two transfers of t-1, one of t-2, a payout, an unfit card transaction and an
/// event type outside the catalogue, received in that order.
async fn six_events(app: &TestApp) {
    app.post_transfer("s-1", "t-1", "Pending", EARLIER).await;
    app.post_transfer("s-2", "t-1", "Closed", LATER).await;
    app.post_transfer("s-3", "t-2", "Pending", EARLIER).await;
    app.post_event(
        "s-4",
        "PAYOUT.UPDATED",
        json!({"id": "p-1", "accountId": "acc-2", "status": "CLOSED", "createTime": LATER}),
    )
    .await;
    app.post_event(
        "s-5",
        "CARD_TRANSACTION.UPDATED",
        json!({"status": "Closed", "transactionTime": LATER}),
    )
    .await;
    app.post_event("s-6", "CARDHOLDER.UPDATED", json!({"id": "h-1"}))
        .await;
    app.wait_until_handled(6).await;
}

#[tokio::test]
async fn each_filter_finds_its_events_newest_first() {
    let app = spawn_app().await;
    six_events(&app).await;
    assert_eq!(
        ids(&app, "").await,
        ["s-6", "s-5", "s-4", "s-3", "s-2", "s-1"]
    );
    assert_eq!(ids(&app, "family=transfer").await, ["s-3", "s-2", "s-1"]);
    assert_eq!(ids(&app, "family=transfer&status=Closed").await, ["s-2"]);
    assert_eq!(ids(&app, "objectId=t-1").await, ["s-2", "s-1"]);
    assert_eq!(ids(&app, "accountId=acc-2").await, ["s-4"]);
    assert_eq!(ids(&app, "eventType=PAYOUT.UPDATED").await, ["s-4"]);
    assert_eq!(ids(&app, "family=unknown").await, ["s-6"]);
    assert_eq!(ids(&app, "state=dead_lettered").await, ["s-5"]);
    assert_eq!(
        ids(&app, "state=processed&family=transfer&objectId=t-2").await,
        ["s-3"]
    );
    assert!(ids(&app, "from=2999-01-01T00:00:00Z").await.is_empty());
    assert_eq!(ids(&app, "to=2999-01-01T00:00:00Z&limit=1").await, ["s-6"]);

    let page: Value = app.api_json("/v1/events?objectId=t-1&limit=1").await;
    let event = &page["events"][0];
    assert_eq!(event["id"], "s-2");
    assert_eq!(event["family"], "transfer");
    assert_eq!(event["status"], "closed");
    assert_eq!(event["accountId"], "acc-1");
    assert_eq!(event["state"], "processed");
    assert_eq!(event["routingKey"], "transfer.closed");
    assert!(event["receivedAt"].is_string() && event["processedAt"].is_string());
}

#[tokio::test]
async fn pages_add_up_to_every_event_once() {
    let app = spawn_app().await;
    six_events(&app).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(cursor) => format!("/v1/events?limit=4&cursor={cursor}"),
            None => "/v1/events?limit=4".to_owned(),
        };
        let page: Value = app.api_json(&query).await;
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 4);
        seen.extend(events.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["s-6", "s-5", "s-4", "s-3", "s-2", "s-1"]);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 6);
}

#[tokio::test]
async fn each_wrong_parameter_is_named() {
    let app = spawn_app().await;
    for (query, status, code) in [
        ("family=spaceship", 400, "unknown_family"),
        ("state=lost", 400, "malformed_payload"),
        ("limit=0", 400, "malformed_payload"),
        ("limit=501", 400, "malformed_payload"),
        ("limit=many", 400, "malformed_payload"),
        ("from=yesterday", 400, "malformed_payload"),
        ("cursor=not-ours", 400, "malformed_payload"),
        ("colour=blue", 400, "malformed_payload"),
    ] {
        let response = app.api(&format!("/v1/events?{query}")).await;
        assert_error(response, (status, code)).await;
    }
    let anonymous = reqwest::get(app.url("/v1/events")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
}
