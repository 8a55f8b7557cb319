//! Deduplication at the edge (SPEC 2.4): by event id, by content under a new id, and under
//! concurrent deliveries, exactly one row is stored.

use crate::support::{
    fixtures::{self, INTERLACE_SECRET},
    sign::{self, signed_transfer, transfer_resource, LATER},
    spawn_app,
};
use serde_json::{json, Value};

#[tokio::test]
async fn duplicate_by_event_id_is_acknowledged_and_not_stored_again() {
    let app = spawn_app().await;
    let fixture = fixtures::interlace_named("transfer");
    assert_eq!(app.post_fixture(&fixture).await.status(), 200);
    let again = app.post_fixture(&fixture).await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({"received": true, "duplicate": true})
    );
    assert_eq!(app.inbox_count().await, 1);
}

#[tokio::test]
async fn same_id_with_other_content_is_still_a_duplicate() {
    let app = spawn_app().await;
    app.post_transfer("evt-1", "t-1", "Pending", LATER).await;
    let (headers, body) = sign::interlace(
        INTERLACE_SECRET,
        "evt-1",
        "TRANSFER.UPDATED",
        &transfer_resource("t-1", "Closed", "2023-03-01T09:00:00.000Z"),
    );
    let answer = app.accepted("interlace", &headers, body).await;
    assert_eq!(answer, json!({"received": true, "duplicate": true}));
    assert_eq!(app.stored("evt-1").await.status.as_deref(), Some("pending"));
    assert_eq!(app.inbox_count().await, 1);
}

#[tokio::test]
async fn duplicate_by_content_under_a_new_id_is_recognised() {
    let app = spawn_app().await;
    let (headers, body) = signed_transfer("first-envelope", "t-1");
    app.accepted("interlace", &headers, body).await;
    let (headers, body) = signed_transfer("second-envelope", "t-1");
    let answer = app.accepted("interlace", &headers, body).await;
    assert_eq!(answer, json!({"received": true, "duplicate": true}));
    assert_eq!(app.inbox_count().await, 1);

    // The envelope is not signed, so another event type does not make the bytes new.
    let (headers, body) = sign::interlace(
        INTERLACE_SECRET,
        "third-envelope",
        "TRANSFER.CREATED",
        &transfer_resource("t-1", "Pending", LATER),
    );
    let answer = app.accepted("interlace", &headers, body).await;
    assert_eq!(answer, json!({"received": true, "duplicate": true}));
    assert_eq!(app.inbox_count().await, 1);
}

#[tokio::test]
async fn concurrent_identical_deliveries_store_exactly_one_row() {
    let app = spawn_app().await;
    let (headers, body) = signed_transfer("raced", "t-race");
    let deliveries = (0..24).map(|_| app.post_webhook("interlace", &headers, body.clone()));
    let responses = futures_util::future::join_all(deliveries).await;
    let mut new = 0;
    for response in responses {
        assert_eq!(response.status(), 200);
        if response
            .json::<Value>()
            .await
            .unwrap()
            .get("duplicate")
            .is_none()
        {
            new += 1;
        }
    }
    assert_eq!(new, 1, "exactly one delivery is the new event");
    assert_eq!(app.inbox_count().await, 1);
}

#[tokio::test]
async fn concurrent_content_duplicates_under_different_ids_store_one_row() {
    let app = spawn_app().await;
    let deliveries: Vec<_> = (0..16)
        .map(|i| signed_transfer(&format!("envelope-{i}"), "t-same"))
        .collect();
    let responses = futures_util::future::join_all(
        deliveries
            .iter()
            .map(|(headers, body)| app.post_webhook("interlace", headers, body.clone())),
    )
    .await;
    assert!(responses.iter().all(|r| r.status() == 200));
    assert_eq!(app.inbox_count().await, 1);
}
