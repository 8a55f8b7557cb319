//! The one test that restarts the real, shared RabbitMQ. It lives in its own test binary:
//! `cargo test` runs binaries one after another, so no other test sees the broker go away.

#[path = "api/support/mod.rs"]
mod support;

use std::time::Duration;
use support::{
    amqp::{message_id, Tap},
    fixtures::INTERLACE_SECRET,
    sign, spawn_app,
};

/// Restarts the broker's application if the test stops half-way, so later runs find it up.
struct RestartGuard;

impl Drop for RestartGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .arg("start_app")
            .output();
    }
}

async fn rabbitmqctl(args: &[&str]) {
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("rabbitmqctl")
            .args(args)
            .output(),
    )
    .await
    .expect("rabbitmqctl finished")
    .expect("rabbitmqctl runs (it is installed with rabbitmq-server)");
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_broker_restart_under_steady_traffic_loses_nothing() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let tap = Tap::bind(&app.names().events(), "#", true).await;
    let tap_queue = tap.queue.clone();
    let mut sent = Vec::new();
    let mut send = |n: usize| {
        let event_id = format!("restart-{n:03}");
        let resource = serde_json::json!({"id": format!("t-{n}"), "status": "Pending",
            "updateTime": "2023-03-01T08:23:05.033Z"})
        .to_string();
        sent.push(event_id.clone());
        sign::interlace(INTERLACE_SECRET, &event_id, "TRANSFER.UPDATED", &resource)
    };

    for n in 0..30 {
        let (headers, body) = send(n);
        assert_eq!(
            app.post_webhook("interlace", &headers, body).await.status(),
            200
        );
    }
    let _guard = RestartGuard;
    rabbitmqctl(&["stop_app"]).await;
    app.wait_for_broker("down").await;
    for n in 30..60 {
        let (headers, body) = send(n);
        assert_eq!(
            app.post_webhook("interlace", &headers, body).await.status(),
            200,
            "accepted while the broker is down"
        );
    }
    rabbitmqctl(&["start_app"]).await;
    rabbitmqctl(&["await_startup"]).await;
    for n in 60..90 {
        let (headers, body) = send(n);
        assert_eq!(
            app.post_webhook("interlace", &headers, body).await.status(),
            200
        );
    }
    app.wait_for_broker("up").await;
    app.wait_until_published().await;

    // The tap's own connection died with the broker; its durable queue kept the messages.
    drop(tap);
    let mut tap = Tap::attach(&tap_queue).await;
    let mut received: Vec<String> = Vec::new();
    while received.len() < sent.len() {
        let delivery = tap
            .next(Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("only {} of {} events arrived", received.len(), sent.len()));
        let id = message_id(&delivery);
        if !received.contains(&id) {
            received.push(id);
        }
    }
    received.sort();
    assert_eq!(received, sent);
    tap.delete().await;
}
