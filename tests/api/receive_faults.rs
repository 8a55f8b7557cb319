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
