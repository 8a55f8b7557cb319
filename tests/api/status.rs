//! `hookgate status` only reads: it declares nothing, says when the prefix has no topology, and
//! fails naming the broker when the broker cannot be read.

use crate::support::{amqp, spawn_app};
use lapin::{options::QueueDeclareOptions, types::FieldTable};
use serde_json::Value;

#[tokio::test]
async fn status_under_a_mistyped_prefix_declares_nothing_and_says_so() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let typo = format!("hg_typo_{}", uuid::Uuid::new_v4().simple());
    let output = app
        .cli_with_env(
            &["status", "--json"],
            &[("HOOKGATE_AMQP_PREFIX", typo.as_str())],
        )
        .await;
    assert!(!output.status.success());
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    let broker = status["broker"].as_str().unwrap();
    assert!(broker.contains("no hookgate topology"), "{broker}");
    assert!(broker.contains(&typo), "{broker}");
    assert!(status["queues"].is_null());

    let connection = amqp::connect().await;
    let channel = connection.create_channel().await.unwrap();
    let looked = channel
        .queue_declare(
            format!("{typo}.read-model").as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await;
    assert!(looked.is_err(), "status declared nothing");
    let _ = connection.close(200, "done".into()).await;
}

#[tokio::test]
async fn status_with_the_broker_down_reports_the_rest_and_fails_naming_it() {
    let app = spawn_app().await;
    let output = app
        .cli_with_env(
            &["status"],
            &[("HOOKGATE_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2f")],
        )
        .await;
    assert!(!output.status.success());
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["inbox"]["total"], 0, "the database part is reported");
    let broker = status["broker"].as_str().unwrap();
    assert!(broker.starts_with("unreachable: "), "{broker}");
    assert!(status["queues"].is_null());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broker unreachable"), "{stderr}");
}

#[tokio::test]
async fn status_of_a_running_app_lists_its_queues() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let status = app.cli_json(&["status", "--json"]).await;
    assert_eq!(status["broker"], "up");
    let queues = status["queues"].as_array().unwrap();
    assert!(queues
        .iter()
        .any(|q| q["queue"] == app.names().dlq().as_str()));
}
