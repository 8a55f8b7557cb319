//! `hookgate sign` and `hookgate send`, run as the binary a person would run.

use crate::support::{fixtures, spawn_app};
use std::{
    path::{Path, PathBuf},
    process::Output,
};
use tokio::process::Command;

fn hookgate(app_secrets: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookgate"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOOKGATE_INTERLACE_SECRETS", app_secrets)
        .env("RUST_LOG", "warn");
    command
}

/// Runs `hookgate sign` on `file` with the app's `secrets` and any `flags` besides.
async fn sign(secrets: &str, file: &Path, flags: &[&str]) -> Output {
    hookgate(secrets)
        .arg("sign")
        .args(flags)
        .arg("--file")
        .arg(file)
        .output()
        .await
        .unwrap()
}

/// The headers of `hookgate sign --json`'s output.
fn headers_of(signed: &serde_json::Value) -> Vec<(String, String)> {
    signed["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// A JSON file holding `text`, for the test to remove.
fn json_file(text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("resource-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn send_signs_a_bare_resource_and_the_receiver_accepts_it() {
    let app = spawn_app().await;
    let resource = json_file(
        r#"{"id":"cli-transfer","status":"Pending","updateTime":"2023-03-01T08:23:05.033Z","amount":{"amount":"0.11","currency":"USD"}}"#,
    );
    let output = hookgate(fixtures::INTERLACE_SECRET)
        .args(["send", "--url", &app.url("/webhooks/interlace"), "--file"])
        .arg(&resource)
        .args(["--event-type", "TRANSFER.UPDATED", "--event-id", "cli-1"])
        .output()
        .await
        .unwrap();
    std::fs::remove_file(&resource).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        r#"200 {"received":true}"#
    );
    assert_eq!(app.event("cli-1").await["routingKey"], "transfer.pending");
}

#[tokio::test]
async fn sign_prints_a_request_the_receiver_accepts() {
    let app = spawn_app().await;
    let fixture = fixtures::dir().join("interlace/kyc.json");
    let output = sign(fixtures::INTERLACE_SECRET, &fixture, &["--json"]).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let signed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let headers = headers_of(&signed);
    assert!(headers.iter().any(|(k, _)| k == "Signature"));
    let response = app
        .post_webhook(
            "interlace",
            &headers,
            signed["body"].as_str().unwrap().to_owned(),
        )
        .await;
    assert_eq!(response.status(), 200);
    // The envelope's own id is kept, so the fixture's event is what was stored.
    let stored = app.event("0b6f7c1e-2a51-4c1b-9a55-6f0d2c1e0004").await;
    assert_eq!(stored["source"], "interlace");

    let text = sign(fixtures::INTERLACE_SECRET, &fixture, &[]).await;
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.starts_with("POST /webhooks/interlace\n"), "{text}");
    assert!(text.contains("\nSignature: "), "{text}");
}

#[tokio::test]
async fn sign_without_a_secret_or_event_type_explains_itself() {
    let fixture = fixtures::dir().join("interlace/kyc.json");
    let output = sign("", &fixture, &[]).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no secret"));

    let bare = json_file(r#"{"id":"x","status":"Pending"}"#);
    let output = sign("s", &bare, &[]).await;
    std::fs::remove_file(&bare).unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--event-type"));
}

#[tokio::test]
async fn sign_takes_a_secret_and_a_time_and_signs_the_resource_bytes_as_they_are() {
    let app = spawn_app().await;
    let text = "{ \"status\": \"Pending\",  \"id\": \"t-exact\",\n  \"updateTime\": \"2023-03-01T08:23:05.033Z\" }\n";
    let file = json_file(text);
    let flags = [
        "--json",
        "--secret",
        fixtures::INTERLACE_SECRET,
        "--create-time",
        "2026-11-23T10:00:00Z",
        "--event-type",
        "TRANSFER.UPDATED",
        "--event-id",
        "exact-1",
    ];
    // No secret configured: --secret is the one signing.
    let output = sign("", &file, &flags).await;
    std::fs::remove_file(&file).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let signed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let body = signed["body"].as_str().unwrap();
    let envelope: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(envelope["resource"], text, "the file's bytes, unchanged");
    let millis = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
        .unwrap()
        .timestamp_millis()
        .to_string();
    assert_eq!(envelope["createTime"], millis.as_str());
    let headers = headers_of(&signed);
    let response = app
        .post_webhook("interlace", &headers, body.to_owned())
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.stored("exact-1").await.resource_raw, text.as_bytes());
}
