//! Stopping while the broker is silent: connected but answering nothing, as in a network
//! partition or a node hung mid-shutdown. The process must still stop, every task by itself,
//! and what was in flight must be neither lost nor doubled.

use crate::support::{
    eventually,
    fixtures::INTERLACE_SECRET,
    sign::{self, LATER},
    spawn_app_with, spawn_app_with_env, TestOptions,
};

#[tokio::test]
async fn a_process_stops_while_the_broker_is_silent_and_the_event_is_published_later() {
    let mut app = spawn_app_with(TestOptions::through_broker_proxy()).await;
    app.wait_for_broker("up").await;
    // The relay's confirm channel and the worker's consumer are set up once an event went
    // all the way through; freezing before that would test their setup, not the stop.
    app.handle_transfer("evt-warm", "t-warm", "Pending", LATER)
        .await;
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
        app.sessions_idle_in_transaction().await > 0
    })
    .await;

    let stopped = app.stop().await;
    assert!(stopped.is_ok(), "every task stopped by itself: {stopped:?}");

    let proxy = app.broker_proxy.as_ref().unwrap();
    proxy.cut();
    proxy.restore();
    app.restart().await;
    app.wait_until_handled(2).await;
    app.wait_until_published().await;
    assert_eq!(app.census().await.processed, 2);
}

/// The HTTP drain is bounded (issue 30, item 9): a request whose body never finishes (here
/// the body timeout is far longer than the drain) cannot hold a stopping process. The drain
/// ends, the process stops with its tasks, and the stalled connection is closed.
#[tokio::test]
async fn a_stalled_request_cannot_hold_a_stopping_process() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut app = spawn_app_with_env(&[("HOOKGATE_BODY_TIMEOUT_MS", "600000")]).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&address).await.unwrap();
    stalled
        .write_all(
            b"POST /webhooks/interlace HTTP/1.1\r\nhost: hookgate\r\n\
              content-type: application/json\r\ncontent-length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    // The request is in the handler, waiting for the rest of its body.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(60), app.stop())
        .await
        .expect("the drain is bounded");
    assert!(stopped.is_ok(), "{stopped:?}");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stalled.read_to_end(&mut rest),
    )
    .await;
    assert!(closed.is_ok(), "the stalled connection is closed");
}
