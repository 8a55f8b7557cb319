//! The receiver when its database goes away, and when it is asked to stop.

use crate::support::{fixtures, spawn_app_with, TestOptions};
use serde_json::Value;

fn through_proxy() -> TestOptions {
    TestOptions {
        database_proxy: true,
        ..TestOptions::default()
    }
}

#[tokio::test]
async fn database_unavailable_answers_503_and_acknowledges_nothing() {
    let app = spawn_app_with(through_proxy()).await;
    let fixtures = fixtures::interlace();
    assert_eq!(app.post_fixture(&fixtures[0]).await.status(), 200);

    app.database_proxy.as_ref().unwrap().cut();
    let response = app.post_fixture(&fixtures[1]).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.json::<Value>().await.unwrap()["database"], "down");
    assert_eq!(
        app.inbox_count().await,
        1,
        "nothing stored while the link is down"
    );

    // The platform retries; once the database is back the retry is stored as new.
    app.database_proxy.as_ref().unwrap().restore();
    let retried = app.post_fixture(&fixtures[1]).await;
    assert_eq!(retried.status(), 200);
    assert_eq!(
        retried.json::<Value>().await.unwrap(),
        serde_json::json!({"received": true})
    );
    assert_eq!(app.inbox_count().await, 2);
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn a_full_inbox_queue_answers_503_at_once_and_stores_nothing_it_refused() {
    // One event per commit, one commit at a time: one event in flight and one waiting fill it.
    let app = spawn_app_with(through_proxy().and_env(&[
        ("HOOKGATE_INBOX_MAX_BATCH", "1"),
        ("HOOKGATE_INBOX_COMMITS", "1"),
        ("HOOKGATE_DATABASE_TIMEOUT_MS", "60000"),
    ]))
    .await;
    let proxy = app.database_proxy.as_ref().unwrap();
    proxy.freeze();
    let requests: Vec<_> = (0..10)
        .map(|n| crate::support::sign::signed_transfer(&format!("bp-{n}"), &format!("t-{n}")))
        .collect();
    let mut pending = tokio::task::JoinSet::new();
    for (n, (headers, body)) in requests.iter().cloned().enumerate() {
        let url = app.url("/webhooks/interlace");
        pending.spawn(async move {
            let mut request = reqwest::Client::new().post(url).body(body);
            for (name, value) in &headers {
                request = request.header(name, value);
            }
            let response = request.send().await.unwrap();
            let retry_after = response.headers().get("retry-after").cloned();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (n, status, retry_after, body)
        });
    }
    // The commit in flight cannot finish while the link is frozen, and the database timeout is
    // a minute: every answer that comes now is the queue's.
    let mut busy = Vec::new();
    while busy.len() < 8 {
        let next = tokio::time::timeout(std::time::Duration::from_secs(30), pending.join_next());
        let (n, status, retry_after, body) = next
            .await
            .expect("requests beyond the queue's room are answered without waiting for a commit")
            .unwrap()
            .unwrap();
        assert_eq!(status, 503, "{body}");
        assert_eq!(retry_after.unwrap(), "5");
        assert_eq!(body["error"]["code"], "unavailable");
        assert_eq!(
            body["error"]["message"],
            "too many events are waiting to be stored, retry later"
        );
        busy.push(n);
    }
    // Cutting the frozen link fails the admitted requests (those that found room, at most
    // two): 503, not stored.
    proxy.cut();
    while let Some(answer) = pending.join_next().await {
        let (_, status, _, body) = answer.unwrap();
        assert_eq!(status, 503, "{body}");
    }
    proxy.restore();
    assert_eq!(app.inbox_count().await, 0, "nothing refused was stored");
    // The platform retries each one, and each is stored once.
    for (headers, body) in &requests {
        app.accepted("interlace", headers, body.clone()).await;
    }
    assert_eq!(app.inbox_count().await, 10);
}

#[tokio::test]
async fn shutdown_finishes_a_request_in_flight() {
    let mut app = spawn_app_with(TestOptions::default()).await;
    let fixture = fixtures::interlace_named("payout_success");
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(receiver));
    let headers = fixture.json_headers();
    let (half, rest) = fixture.body.as_bytes().split_at(fixture.body.len() / 2);
    sender.send(Ok(half.to_vec())).await.unwrap();

    let url = app.url("/webhooks/interlace");
    let request = tokio::spawn(async move {
        let mut request = reqwest::Client::new().post(url).body(body);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        request.send().await
    });
    // Wait until the server holds the request, then ask it to stop before the body is complete.
    while app.get("/metrics").await.status() != 200 {}
    tokio::task::yield_now().await;
    let server = app.begin_shutdown();
    sender.send(Ok(rest.to_vec())).await.unwrap();
    drop(sender);

    let response = request.await.unwrap().expect("answered, not dropped");
    assert_eq!(response.status(), 200);
    server.await.unwrap().unwrap();
    assert_eq!(app.inbox_count().await, 1);
}

fn tokio_stream_from(
    mut receiver: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}
