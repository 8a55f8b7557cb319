//! One trace from webhook to notification (SPEC 7): a sender's `traceparent` (or a new trace)
//! is carried on the event message and the notification message and sent to HTTP
//! subscribers; with `HOOKGATE_OTLP_ENDPOINT` set, spans reach an OTLP collector, and a
//! sender's sampled flag never forces sampling.

use crate::support::{
    amqp::{header_text, Tap, WAIT},
    eventually,
    fixtures::INTERLACE_SECRET,
    sign::{interlace, transfer, EARLIER},
    spawn_app, spawn_app_with,
    subscriber::{subscribed, Subscriber},
    TestApp,
};
use axum::{body::Bytes, routing::post, Router};
use serde_json::Value;
use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::io::{AsyncBufReadExt, BufReader};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SENDER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// `(trace id, span id, flags)` of a `traceparent`.
fn parts(header: &str) -> (String, String, String) {
    let fields: Vec<&str> = header.split('-').collect();
    assert_eq!(fields.len(), 4, "{header:?}");
    assert_eq!(fields[0], "00");
    (fields[1].into(), fields[2].into(), fields[3].into())
}

/// Posts a closed transfer to `base` (an app's address) with `traceparent`, when given.
async fn post_with_trace(base: &str, event_id: &str, traceparent: Option<&str>) {
    let resource = transfer(event_id, "Closed", EARLIER).to_string();
    let (headers, body) = interlace(INTERLACE_SECRET, event_id, "TRANSFER.UPDATED", &resource);
    let mut request = reqwest::Client::new()
        .post(format!("{base}/webhooks/interlace"))
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    let answer = request.send().await.unwrap();
    assert_eq!(answer.status(), 200);
}

async fn traced_through(
    app: &TestApp,
    subscriber: &Subscriber,
    traceparent: Option<&str>,
) -> Vec<String> {
    app.wait_for_broker("up").await;
    let mut events = Tap::bind(&app.names().events(), "#", false).await;
    let mut notifications = Tap::bind(&app.names().notifications(), "#", false).await;
    post_with_trace(&app.url(""), "traced", traceparent).await;
    let event = events.take(1, WAIT).await.remove(0);
    let notification = notifications.take(1, WAIT).await.remove(0);
    eventually("the subscriber got it", || async {
        !subscriber.delivered().is_empty()
    })
    .await;
    vec![
        header_text(&event, "traceparent").expect("the event message carries its trace"),
        header_text(&notification, "traceparent").expect("the notification message too"),
        subscriber.delivered()[0].traceparent.clone(),
    ]
}

#[tokio::test]
async fn a_senders_trace_runs_through_the_event_the_notification_and_the_post() {
    let subscriber = Subscriber::start(&[]).await;
    let app = spawn_app_with(subscribed(&subscriber)).await;
    let hops = traced_through(&app, &subscriber, Some(SENDER)).await;
    let mut spans = vec!["00f067aa0ba902b7".to_owned()];
    for hop in &hops {
        let (trace, span, flags) = parts(hop);
        assert_eq!(trace, TRACE, "{hops:?}");
        assert_eq!(flags, "01");
        spans.push(span);
    }
    spans.sort();
    spans.dedup();
    assert_eq!(spans.len(), 4, "each step is a span of its own: {hops:?}");
}

#[tokio::test]
async fn without_a_trace_a_new_one_starts_and_a_bad_header_is_ignored() {
    for sent in [
        None,
        Some("00-zz-not-a-trace"),
        Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
    ] {
        let subscriber = Subscriber::start(&[]).await;
        let app = spawn_app_with(subscribed(&subscriber)).await;
        let hops = traced_through(&app, &subscriber, sent).await;
        let traces: Vec<String> = hops.iter().map(|h| parts(h).0).collect();
        assert!(
            traces.iter().all(|t| *t == traces[0] && t.len() == 32),
            "{hops:?}"
        );
        assert_ne!(traces[0], "0".repeat(32));
    }
}

/// An OTLP/HTTP collector that keeps every export's body.
async fn collector() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let received: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let kept = received.clone();
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body);
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// Starts `hookgate serve` for `app` with `env`, and its address once it listens.
async fn serving(app: &TestApp, env: &[(&str, &str)]) -> (tokio::process::Child, String) {
    let mut vars = vec![
        ("HOOKGATE_LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
        ("HOOKGATE_LISTEN", "127.0.0.1:0"),
        ("HOOKGATE_INTERLACE_SECRETS", INTERLACE_SECRET),
    ];
    vars.extend_from_slice(env);
    let mut child = app
        .command(&["serve", "--no-migrate"], &vars)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let entry: Value = serde_json::from_str(&line).unwrap_or_default();
            if entry["fields"]["message"] == "listening" {
                return entry["fields"]["address"].as_str().unwrap().to_owned();
            }
        }
        panic!("the process ended before it listened");
    })
    .await
    .expect("the process listens");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://{address}"))
}

#[tokio::test]
async fn spans_reach_an_otlp_collector_with_the_senders_trace() {
    let app = spawn_app().await;
    let (endpoint, received) = collector().await;
    let (mut child, base) = serving(&app, &[("HOOKGATE_OTLP_ENDPOINT", &endpoint)]).await;
    post_with_trace(&base, "exported", Some(SENDER)).await;
    let trace_id = hex::decode(TRACE).unwrap();
    eventually("the collector got the trace's spans", || async {
        received
            .lock()
            .unwrap()
            .iter()
            .any(|body| body.windows(16).any(|w| w == trace_id.as_slice()))
    })
    .await;
    let bodies = received.lock().unwrap().clone();
    let exported = bodies.concat();
    for secret in [INTERLACE_SECRET.as_bytes(), b"acc-1", b"/webhooks/"] {
        assert!(
            !exported.windows(secret.len()).any(|w| w == secret),
            "spans carry no secret, URL or resource data"
        );
    }
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_senders_sampled_flag_does_not_force_sampling() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let mut events = Tap::bind(&app.names().events(), "#", false).await;
    let (endpoint, _) = collector().await;
    let env = [
        ("HOOKGATE_OTLP_ENDPOINT", endpoint.as_str()),
        ("HOOKGATE_TRACE_SAMPLE_RATIO", "0"),
    ];
    let (mut child, base) = serving(&app, &env).await;
    post_with_trace(&base, "unsampled", Some(SENDER)).await;
    let event = events.take(1, WAIT).await.remove(0);
    let (trace, _, flags) = parts(&header_text(&event, "traceparent").unwrap());
    assert_eq!((trace.as_str(), flags.as_str()), (TRACE, "00"));
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_collector_that_never_answers_does_not_hold_up_receiving() {
    let app = spawn_app().await;
    // Accepts connections and never answers: every export waits for its timeout.
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", black_hole.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = black_hole.accept().await {
            held.push(socket);
        }
    });
    let (mut child, base) = serving(&app, &[("HOOKGATE_OTLP_ENDPOINT", &endpoint)]).await;
    for n in 0..40 {
        post_with_trace(&base, &format!("held-{n}"), Some(SENDER)).await;
    }
    app.wait_until_handled(40).await;
    child.kill().await.unwrap();
}
