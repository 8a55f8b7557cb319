//! The shipped alerts (`deploy/prometheus/alerts.yaml`) and dashboard
//! (`deploy/grafana/dashboard.json`) name only metrics, and label values, that a live hookgate
//! exports from start-up.

use crate::support::{spawn_app_with, subscriber::subscribed, subscriber::Subscriber};
use std::collections::BTreeSet;

const ALERTS: &str = include_str!("../../deploy/prometheus/alerts.yaml");
const DASHBOARD: &str = include_str!("../../deploy/grafana/dashboard.json");

/// Every `hookgate_…` name in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("hookgate_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// The values an `outcome` matcher (`outcome="x"` or `outcome=~"x|y"`) in `text` asks for.
fn outcome_values(text: &str) -> BTreeSet<String> {
    let mut values = BTreeSet::new();
    for matcher in text.split("outcome").skip(1) {
        let Some(quoted) = matcher
            .strip_prefix("=~\"")
            .or_else(|| matcher.strip_prefix("=\""))
            .or_else(|| matcher.strip_prefix("=~\\\""))
            .or_else(|| matcher.strip_prefix("=\\\""))
        else {
            continue;
        };
        let end = quoted.find(['"', '\\']).unwrap();
        values.extend(quoted[..end].split('|').map(str::to_owned));
    }
    values
}

#[tokio::test]
async fn every_metric_the_alerts_and_dashboard_name_is_exported() {
    let subscriber = Subscriber::start(&[]).await;
    let app = spawn_app_with(subscribed(&subscriber)).await;
    app.wait_for_broker("up").await;
    let text = app.get("/metrics").await.text().await.unwrap();

    let mut exported = BTreeSet::new();
    for line in text.lines() {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            let mut parts = declared.split(' ');
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            exported.insert(name.to_owned());
            if kind == "histogram" {
                for suffix in ["_bucket", "_sum", "_count"] {
                    exported.insert(format!("{name}{suffix}"));
                }
            }
        }
    }
    for (file, text_of_file) in [("alerts", ALERTS), ("dashboard", DASHBOARD)] {
        let named = metric_names(text_of_file);
        assert!(named.len() >= 8, "{file} names {named:?}");
        let missing: Vec<&String> = named.difference(&exported).collect();
        assert!(
            missing.is_empty(),
            "{file} names metrics /metrics lacks: {missing:?}"
        );
        for outcome in outcome_values(text_of_file) {
            assert!(
                text.contains(&format!("outcome=\"{outcome}\"")),
                "{file} asks for outcome {outcome:?}, which no series has"
            );
        }
    }
    // The queues the expressions select by name are there, at their depth.
    let names = app.names();
    for queue in [names.read_model(), names.dlq(), names.subscriber("ledger")] {
        assert!(
            text.contains(&format!("hookgate_queue_messages{{queue=\"{queue}\"}} 0")),
            "no depth for {queue}"
        );
    }
    assert!(text.contains("hookgate_broker_up 1"));
    assert!(text.contains("hookgate_processing_backlog 0"));
}

#[tokio::test]
async fn a_notification_nobody_subscribes_to_is_not_counted_as_a_failure() {
    let app = crate::support::spawn_app().await;
    app.post_transfer("n-1", "t-1", "Closed", crate::support::sign::EARLIER)
        .await;
    app.wait_until_handled(1).await;
    crate::support::eventually("the notification published", || async {
        app.metric("hookgate_publish_unrouted_total{outbox=\"notifications\"}")
            .await
            == Some(1.0)
    })
    .await;
    assert_eq!(
        app.metric("hookgate_publish_returns_total{outbox=\"notifications\"}")
            .await,
        Some(0.0)
    );
}
