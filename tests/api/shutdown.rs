//! Stopping while the broker is silent: connected but answering nothing, as in a network
//! partition or a node hung mid-shutdown. The process must still stop, every task by itself,
//! and what was in flight must be neither lost nor doubled.

use crate::support::{
    eventually,
    fixtures::INTERLACE_SECRET,
    sign::{self, LATER},
    spawn_app_with, TestOptions,
};

#[tokio::test]
async fn a_process_stops_while_the_broker_is_silent_and_the_event_is_published_later() {
    let mut app = spawn_app_with(TestOptions::through_broker_proxy()).await;
    app.wait_for_broker("up").await;
    app.broker_proxy.as_ref().unwrap().freeze();
    let resource = serde_json::json!({"id": "t-silent", "accountId": "acc", "status": "Pending",
        "updateTime": LATER, "amount": {"amount": "1.10", "currency": "USD"}})
    .to_string();
    let (headers, body) = sign::interlace(
        INTERLACE_SECRET,
        "evt-silent",
        "TRANSFER.UPDATED",
        &resource,
    );
    assert_eq!(
        app.post_webhook("interlace", &headers, body).await.status(),
        200
    );
    // The relay has claimed the event and waits, inside its transaction, for a publisher
    // confirm that will not come.
    eventually("the relay to wait on the silent broker", || async {
        app.count(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND state = 'idle in transaction'",
        )
        .await
            > 0
    })
    .await;

    let stopped = app.stop().await;
    assert!(stopped.is_ok(), "every task stopped by itself: {stopped:?}");

    let proxy = app.broker_proxy.as_ref().unwrap();
    proxy.cut();
    proxy.restore();
    app.restart().await;
    app.wait_until_handled(1).await;
    app.wait_until_published().await;
    assert_eq!(app.count("SELECT count(*) FROM inbox_processed").await, 1);
}
