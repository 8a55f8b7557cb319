//! Signature schemes (SPEC 2.1, 2.2): Interlace HMAC with secret rotation, Standard Webhooks
//! with its test vector, timestamp tolerance, and every way a signature can be wrong.

use crate::support::{
    assert_error,
    fixtures::{self, INTERLACE_SECRET},
    sign::{self, signed_transfer, transfer_resource, LATER, SW_SECRET},
    spawn_app, spawn_app_with, TestOptions,
};
use hookgate::settings::{SchemeKind, Secret, SourceConfig};
use serde_json::json;

#[tokio::test]
async fn wrong_secret_is_refused_and_nothing_stored() {
    let app = spawn_app().await;
    let (headers, body) = sign::interlace("not-the-secret", "evt-x", "TRANSFER.UPDATED", "{}");
    app.refused("interlace", &headers, body, (401, "invalid_signature"))
        .await;
}

#[tokio::test]
async fn any_secret_of_a_rotation_is_accepted() {
    let app = spawn_app_with(TestOptions {
        interlace_secrets: "retiring-secret,current-secret".into(),
        ..TestOptions::default()
    })
    .await;
    for (i, secret) in ["retiring-secret", "current-secret"].iter().enumerate() {
        let (headers, body) = sign::interlace(
            secret,
            &format!("rotated-{i}"),
            "TRANSFER.UPDATED",
            &transfer_resource(&format!("t-{i}"), "Pending", LATER),
        );
        assert_eq!(
            app.post_webhook("interlace", &headers, body).await.status(),
            200,
            "{secret}"
        );
    }
    let fixture = fixtures::interlace_named("transfer");
    app.refused_fixture("interlace", &fixture, (401, "invalid_signature"))
        .await;
    assert_eq!(app.inbox_count().await, 2);
}

#[tokio::test]
async fn tampered_resource_is_refused() {
    let app = spawn_app().await;
    let tampered = fixtures::interlace_named("transfer")
        .tampered(r#"\"amount\":\"30\""#, r#"\"amount\":\"3000\""#);
    app.refused_fixture("interlace", &tampered, (401, "invalid_signature"))
        .await;
}

#[tokio::test]
async fn missing_or_unusable_signature_headers_are_refused() {
    let app = spawn_app().await;
    let fixture = fixtures::interlace_named("card");
    let cases: [(&str, Option<&str>); 4] = [
        ("Signature", None),
        ("Signature", Some("")),
        ("Signature", Some("not base64 !")),
        ("Signature-Method", Some("HMAC-SHA1")),
    ];
    for (header, value) in cases {
        let mut broken = fixture.clone();
        match value {
            None => {
                broken.headers.remove(header);
            }
            Some(v) => {
                broken.headers.insert(header.into(), v.into());
            }
        }
        assert_error(app.post_fixture(&broken).await, (401, "invalid_signature")).await;
    }
    // Signature-Method is optional.
    let mut without_method = fixture.clone();
    without_method.headers.remove("Signature-Method");
    assert_eq!(app.post_fixture(&without_method).await.status(), 200);
    assert_eq!(app.inbox_count().await, 1);
}

#[tokio::test]
async fn error_bodies_never_echo_the_signature() {
    let app = spawn_app().await;
    let fixture = fixtures::interlace_named("kyc");
    let tampered = fixture.tampered("Passed", "Failed");
    let response = app.post_fixture(&tampered).await;
    let text = response.text().await.unwrap();
    assert!(!text.contains(&fixture.headers["Signature"]), "{text}");
    assert!(!text.contains(INTERLACE_SECRET), "{text}");
}

#[tokio::test]
async fn timestamp_outside_a_configured_tolerance_is_stale() {
    let app = spawn_app_with(TestOptions {
        extra_sources: vec![SourceConfig {
            name: "strict".into(),
            scheme: SchemeKind::Interlace,
            secrets: vec![Secret::new(INTERLACE_SECRET)],
            timestamp_tolerance_secs: Some(300),
            allowed_networks: None,
        }],
        ..TestOptions::default()
    })
    .await;
    // The fixtures' timestamps are old on purpose: off by default, refused where configured.
    let fixture = fixtures::interlace_named("transfer");
    app.refused_fixture("strict", &fixture, (401, "stale_timestamp"))
        .await;
    assert_eq!(app.post_fixture(&fixture).await.status(), 200);

    let (fresh, body) = signed_transfer("fresh", "t-fresh");
    app.accepted("strict", &fresh, body).await;
}

fn partner(tolerance: Option<u64>) -> SourceConfig {
    SourceConfig {
        name: "partner".into(),
        scheme: SchemeKind::StandardWebhooks,
        secrets: vec![Secret::new(SW_SECRET)],
        timestamp_tolerance_secs: tolerance,
        allowed_networks: None,
    }
}

#[tokio::test]
async fn standard_webhooks_test_vector_is_accepted_with_tolerance_off() {
    let app = spawn_app_with(TestOptions {
        extra_sources: vec![partner(Some(0))],
        ..TestOptions::default()
    })
    .await;
    let fixture = fixtures::standard_webhooks();
    let headers = fixture.json_headers();
    let response = app
        .post_webhook("partner", &headers, fixture.body.trim_end().to_owned())
        .await;
    assert_eq!(response.status(), 200);
    let row = app.stored("msg_p5jXN8AQM9LWM0D4loKWxJek").await;
    assert_eq!(row.source, "partner");
    assert_eq!(row.event_type, "transfer.updated");
    assert_eq!(row.family, "transfer");
    assert_eq!(
        row.resource_raw,
        br#"{"id":"c32e92cb-49fe-4f2c-9598-492d31ea3b19","status":"Closed"}"#
    );
    // The vector's resource has no time, which a transfer needs: stored, flagged invalid.
    assert_eq!(row.routing_key, "transfer.invalid");
    assert!(row.parse_error.unwrap().contains("time"));
}

#[tokio::test]
async fn standard_webhooks_fresh_requests_verify_and_stale_ones_do_not() {
    let app = spawn_app_with(TestOptions::with_sources(vec![partner(None)])).await;
    let body = json!({"type": "payout.updated", "timestamp": "2024-02-05T10:57:04.091Z",
                      "data": {"id": "p-9", "status": "PENDING", "createTime": "2024-02-05T10:57:04.091Z"}})
    .to_string();
    let now = chrono::Utc::now().timestamp();
    let headers = sign::standard_webhooks(SW_SECRET, "msg_fresh", now, &body);
    app.accepted("partner", &headers, body.clone()).await;
    assert_eq!(app.stored("msg_fresh").await.routing_key, "payout.pending");

    let forger = "whsec_c2VjcmV0LW9mLXNvbWVvbmUtZWxzZQ==";
    let mut no_id = headers.clone();
    no_id.retain(|(name, _)| name != "webhook-id");
    let not_json = "not json".to_owned();
    let cases = [
        (
            sign::standard_webhooks(SW_SECRET, "msg_stale", now - 3600, &body),
            body.clone(),
            (401, "stale_timestamp"),
        ),
        (
            sign::standard_webhooks(forger, "msg_forged", now, &body),
            body.clone(),
            (401, "invalid_signature"),
        ),
        (no_id, body.clone(), (401, "invalid_signature")),
        (
            sign::standard_webhooks(SW_SECRET, "msg_garbage", now, &not_json),
            not_json.clone(),
            (400, "malformed_payload"),
        ),
    ];
    for (headers, body, expected) in cases {
        app.refused("partner", &headers, body, expected).await;
    }
    assert_eq!(app.inbox_count().await, 1);
}
