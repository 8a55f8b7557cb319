//! What one client can hold of the server (SPEC 2.3): stalled headers and bodies get 408 and
//! their connection closed, idle connections are closed, large headers get 431, requests and
//! body bytes beyond the in-flight limits are shed with 503 `busy` at once (probes never
//! count), and a source's `allowed_networks` refuse other addresses with 403.

use crate::support::{
    assert_error, fixtures::INTERLACE_SECRET, sign::signed_transfer, spawn_app_with,
    spawn_app_with_env, TestApp, TestOptions,
};
use hookgate::settings::{SchemeKind, Secret, SourceConfig};
use std::time::Duration;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Longer than any limit under test: a read that takes this long means nothing was answered.
const NO_ANSWER: Duration = Duration::from_secs(20);

async fn connect(app: &TestApp) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    TcpStream::connect(address).await.unwrap()
}

/// What the server sent until it closed the connection.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(NO_ANSWER, stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Headers of a signed webhook whose body of `length` bytes is still to come.
fn head(length: usize) -> String {
    format!(
        "POST /webhooks/interlace HTTP/1.1\r\nhost: hookgate\r\ncontent-type: application/json\r\n\
         content-length: {length}\r\n\r\n"
    )
}

#[tokio::test]
async fn stalled_uploads_get_408_and_their_connections_are_closed() {
    let app = spawn_app_with_env(&[("HOOKGATE_BODY_TIMEOUT_MS", "300")]).await;
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut stream = connect(&app).await;
        stream.write_all(head(1000).as_bytes()).await.unwrap();
        stream.write_all(&[b' '; 500]).await.unwrap();
        stalled.push(stream);
    }
    for mut stream in stalled {
        let answer = until_closed(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("request_timeout"), "{answer}");
        assert!(answer.to_ascii_lowercase().contains("connection: close"));
    }
    assert_eq!(
        app.metric(
            "hookgate_webhook_requests_total{outcome=\"request_timeout\",source=\"interlace\"}"
        )
        .await,
        Some(20.0)
    );
}

/// Headers have 10 s (SPEC 2.3), then 408 and the connection is closed; a keep-alive
/// connection left idle is closed the same way, with nothing to answer.
#[tokio::test]
async fn stalled_headers_get_408_and_idle_connections_are_closed() {
    let app = spawn_app_with(TestOptions::default()).await;
    let mut partial = connect(&app).await;
    partial
        .write_all(b"POST /webhooks/interlace HTTP/1.1\r\nhost: hookgate\r\n")
        .await
        .unwrap();
    let mut idle = connect(&app).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: hookgate\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut partial).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    let answer = until_closed(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        answer.matches("HTTP/1.1").count(),
        1,
        "no 408 after the answer"
    );
}

#[tokio::test]
async fn headers_over_32_kib_get_431_and_the_connection_is_closed() {
    let app = spawn_app_with(TestOptions::default()).await;
    let mut stream = connect(&app).await;
    let request = format!(
        "POST /webhooks/interlace HTTP/1.1\r\nhost: hookgate\r\nx-padding: {}\r\n\r\n",
        "a".repeat(33 * 1024)
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert_eq!(
        app.metric("hookgate_http_connections_closed_total{reason=\"headers_too_large\"}")
            .await,
        Some(1.0)
    );
    // Headers just under the limit are read as usual.
    let (mut headers, body) = signed_transfer("padded", "t-pad");
    headers.push(("x-padding".into(), "a".repeat(30 * 1024)));
    app.accepted("interlace", &headers, body).await;
}

#[tokio::test]
async fn requests_beyond_the_in_flight_limit_are_shed_at_once_and_probes_never_count() {
    let app = spawn_app_with_env(&[("HOOKGATE_MAX_IN_FLIGHT", "2")]).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&app).await;
        stream.write_all(head(1000).as_bytes()).await.unwrap();
        held.push(stream);
    }
    // Both are being read: the next one is shed, not queued behind them.
    let (headers, body) = signed_transfer("third", "t-3");
    let busy = loop {
        let response = app.post_webhook("interlace", &headers, body.clone()).await;
        if response.status() == 503 {
            break response;
        }
        // The held requests may not have reached the handler yet.
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(busy.headers().contains_key("retry-after"));
    assert_error(busy, (503, "busy")).await;
    for probe in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(app.get(probe).await.status(), 200, "{probe}");
    }
    drop(held);
    let (headers, body) = signed_transfer("after", "t-4");
    app.accepted("interlace", &headers, body).await;
}

#[tokio::test]
async fn body_bytes_beyond_their_budget_are_shed_at_once() {
    let app = spawn_app_with_env(&[
        ("HOOKGATE_MAX_BODY_BYTES", "100000"),
        ("HOOKGATE_MAX_BODY_BYTES_IN_FLIGHT", "150000"),
    ])
    .await;
    let mut held = connect(&app).await;
    held.write_all(head(100_000).as_bytes()).await.unwrap();
    let (headers, body) = signed_transfer("squeezed", "t-s");
    let busy = loop {
        let mut stream = connect(&app).await;
        stream.write_all(head(60_000).as_bytes()).await.unwrap();
        let answer = until_closed_or_answer(&mut stream).await;
        if answer.starts_with("HTTP/1.1 503") {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(busy.contains("\"busy\""), "{busy}");
    // A small body still fits beside the held one.
    app.accepted("interlace", &headers, body).await;
    drop(held);
}

/// The status line and headers of the first answer on `stream`.
async fn until_closed_or_answer(stream: &mut TcpStream) -> String {
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(NO_ANSWER, stream.read(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&answer[..read]).into_owned()
}

fn source_from(networks: &[&str]) -> SourceConfig {
    SourceConfig {
        name: "guarded".into(),
        scheme: SchemeKind::Interlace,
        secrets: vec![Secret::new(INTERLACE_SECRET)],
        timestamp_tolerance_secs: None,
        allowed_networks: Some(networks.iter().map(|n| n.parse().unwrap()).collect()),
    }
}

#[tokio::test]
async fn a_source_refuses_addresses_outside_its_allowed_networks() {
    let mut options = TestOptions::with_sources(vec![source_from(&["203.0.113.0/24"])]);
    options
        .env
        .push(("HOOKGATE_TRUSTED_PROXIES", "127.0.0.1/32".into()));
    let app = spawn_app_with(options).await;
    let (headers, body) = signed_transfer("from-loopback", "t-g");
    let refused = app.post_webhook("guarded", &headers, body).await;
    assert_error(refused, (403, "forbidden")).await;

    // Behind a trusted proxy, the hop it added is the client.
    let (mut headers, body) = signed_transfer("via-proxy", "t-g");
    headers.push(("x-forwarded-for".into(), "198.51.100.1, 203.0.113.7".into()));
    app.accepted("guarded", &headers, body).await;
    let (mut headers, body) = signed_transfer("spoofed", "t-g2");
    headers.push(("x-forwarded-for".into(), "203.0.113.7, 198.51.100.1".into()));
    let refused = app.post_webhook("guarded", &headers, body).await;
    assert_error(refused, (403, "forbidden")).await;
}
