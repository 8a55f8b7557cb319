//! What a starting process logs first: version, role, prefix, sources and migrations, and a
//! warning when the read and admin API have no token.

use crate::support::spawn_app;
use serde_json::Value;
use std::{process::Stdio, time::Duration};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn the_first_lines_say_what_runs_and_what_is_missing() {
    let app = spawn_app().await;
    let mut child = app
        .command(
            &["work"],
            &[
                ("HOOKGATE_LOG_FORMAT", "json"),
                ("RUST_LOG", "info"),
                ("HOOKGATE_LISTEN", "127.0.0.1:0"),
                ("HOOKGATE_INTERLACE_SECRETS", "startup-secret"),
            ],
        )
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut logged: Vec<Value> = Vec::new();
    let listening = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let entry: Value = serde_json::from_str(&line).unwrap();
            let done = entry["fields"]["message"] == "listening";
            logged.push(entry);
            if done {
                return;
            }
        }
    })
    .await;
    child.kill().await.unwrap();
    assert!(listening.is_ok(), "the process started: {logged:?}");

    let starting = logged
        .iter()
        .find(|e| e["fields"]["message"] == "starting")
        .expect("a starting line");
    let fields = &starting["fields"];
    assert_eq!(fields["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(fields["role"], "work");
    assert_eq!(fields["prefix"], app.config.broker.prefix.as_str());
    assert!(fields["sources"].as_str().unwrap().contains("interlace"));
    assert_eq!(fields["migrations_applied"], 0, "{fields}");
    // `work`: read, background, worker and scrape pools, at their default sizes.
    assert_eq!(fields["pools"], "read=4 background=8 worker=8 scrape=1");
    assert_eq!(fields["connection_budget"], 21);
    assert!(fields["schema_version"].as_i64().unwrap() >= 6, "{fields}");
    assert!(
        logged.iter().any(|e| e["level"] == "WARN"
            && e["fields"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("HOOKGATE_API_TOKEN is not set")),
        "{logged:?}"
    );
    let text = serde_json::to_string(&logged).unwrap();
    assert!(!text.contains("startup-secret"), "no secret in the log");
}
