//! `POST /webhooks/{source}`: every row of SPEC 2.3 and the deduplication rules of 2.4.

use crate::support::{
    assert_error,
    fixtures::{self, INTERLACE_SECRET},
    sign::{self, LATER},
    spawn_app, spawn_app_with, TestApp, TestOptions,
};
use hookgate::settings::{SchemeKind, Secret, SourceConfig};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SW_SECRET: &str = "whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c=";

fn transfer_resource(id: &str, status: &str, update_time: &str) -> String {
    json!({"id": id, "accountId": "acc-1", "amount": {"amount": "30", "currency": "USDC"},
           "status": status, "createTime": "2023-03-01T08:23:03.096Z", "updateTime": update_time})
    .to_string()
}

fn signed_transfer(event_id: &str, object_id: &str) -> (Vec<(String, String)>, String) {
    sign::interlace(
        INTERLACE_SECRET,
        event_id,
        "TRANSFER.UPDATED",
        &transfer_resource(object_id, "Pending", LATER),
    )
}

#[derive(sqlx::FromRow, Debug)]
struct Row {
    source: String,
    event_type: String,
    family: String,
    status: Option<String>,
    object_id: Option<String>,
    routing_key: String,
    occurred_at: Option<String>,
    resource_raw: Vec<u8>,
    content_hash: Vec<u8>,
    parse_error: Option<String>,
}

async fn stored(app: &TestApp, event_id: &str) -> Row {
    sqlx::query_as(
        "SELECT source, event_type, family, status, object_id, routing_key,
                to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS occurred_at,
                resource_raw, content_hash, parse_error
         FROM inbox_events WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_fixture_family_is_accepted_and_stored_as_described() {
    let app = spawn_app().await;
    // (fixture, family, status, object id, occurred at)
    let expected = [
        (
            "transfer",
            "transfer",
            "closed",
            "c32e92cb-49fe-4f2c-9598-492d31ea3b19",
            LATER,
        ),
        (
            "card_transaction",
            "card_transaction",
            "closed",
            "302b17cf-b56a-4f86-bc7f-32ae6dd71550",
            "2021-10-28T11:07:31.019Z",
        ),
        (
            "budget_transaction",
            "budget_transaction",
            "closed",
            "b4e61edc-63d0-44b9-9251-d1b10fcfb4bb",
            "2022-01-19T08:44:38.599Z",
        ),
        (
            "kyc",
            "kyc",
            "passed",
            "cae9efe2-b577-4632-8c57-8822ddb8542a",
            "2025-09-03T06:12:49.964Z",
        ),
        (
            "kyb",
            "kyb",
            "passed",
            "cae9efe2-b577-4632-8c57-8822ddb8542a",
            "2025-09-03T06:12:49.964Z",
        ),
        (
            "face_authentication",
            "face_authentication",
            "fail",
            "38bd10c0-ac62-4bd3-93cc-b189e260d31d",
            "2025-09-03T06:12:49.964Z",
        ),
        (
            "payout_success",
            "payout",
            "closed",
            "1851441353254617090",
            "2024-02-05T10:57:04.091Z",
        ),
        (
            "payout_refund",
            "payout",
            "refunded",
            "1851441353254617090",
            "2024-02-05T10:57:04.091Z",
        ),
        (
            "crypto_deposit",
            "crypto_deposit",
            "closed",
            "8ea4d70d-6c49-43fd-ba0d-cd0b66aed212",
            "2022-09-21T08:03:45.000Z",
        ),
        (
            "global_account_transaction",
            "global_account_transaction",
            "pending",
            "2174e191-3554-49a9-a891-6bcac1b143c5",
            "2021-11-18T07:23:42.096Z",
        ),
        (
            "card",
            "card",
            "inactive",
            "ce04331f-d2f3-42de-8d65-f66c69aa3888",
            "2025-09-03T06:12:49.964Z",
        ),
    ];
    let all = fixtures::interlace();
    assert_eq!(all.len(), expected.len());
    for (name, family, status, object_id, occurred_at) in expected {
        let fixture = all.iter().find(|f| f.name == name).unwrap();
        assert_eq!(fixture.secret, INTERLACE_SECRET, "{name}");
        let response = app.post_fixture(fixture).await;
        assert_eq!(response.status(), 200, "{name}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"received": true}),
            "{name}"
        );

        let envelope: Value = serde_json::from_str(&fixture.body).unwrap();
        let row = stored(&app, envelope["id"].as_str().unwrap()).await;
        let resource = envelope["resource"].as_str().unwrap();
        assert_eq!(row.source, "interlace");
        assert_eq!(row.event_type, envelope["eventType"].as_str().unwrap());
        assert_eq!(row.family, family, "{name}");
        assert_eq!(row.status.as_deref(), Some(status), "{name}");
        assert_eq!(row.object_id.as_deref(), Some(object_id), "{name}");
        assert_eq!(row.routing_key, format!("{family}.{status}"), "{name}");
        assert_eq!(row.occurred_at.as_deref(), Some(occurred_at), "{name}");
        assert_eq!(
            row.resource_raw,
            resource.as_bytes(),
            "{name}: bytes kept exactly"
        );
        assert_eq!(
            row.content_hash,
            Sha256::digest(resource.as_bytes()).to_vec()
        );
        assert_eq!(row.parse_error, None, "{name}");
    }
    assert_eq!(app.inbox_count().await, 11);
}

#[tokio::test]
async fn exact_amounts_survive_storage() {
    let app = spawn_app().await;
    let resource = r#"{"id":"p-1","status":"CLOSED","successTime":"2024-02-05 18:57:04.091+08","data":{"fromCurrency":"HKD","fromAmount":2000.00000000,"toAmount":12345678901234.56,"fee":0.11}}"#;
    let (headers, body) = sign::interlace(INTERLACE_SECRET, "exact-1", "PAYOUT.UPDATED", resource);
    app.accepted("interlace", &headers, body).await;
    let (from, to, fee): (String, String, String) = sqlx::query_as(
        "SELECT resource->'data'->>'fromAmount', resource->'data'->>'toAmount', resource->'data'->>'fee'
         FROM inbox_events WHERE event_id = 'exact-1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (from.as_str(), to.as_str(), fee.as_str()),
        ("2000.00000000", "12345678901234.56", "0.11")
    );
    assert_eq!(
        stored(&app, "exact-1").await.resource_raw,
        resource.as_bytes()
    );
}

#[tokio::test]
async fn duplicate_by_event_id_is_acknowledged_and_not_stored_again() {
    let app = spawn_app().await;
    let fixture = fixtures::interlace_named("transfer");
    assert_eq!(app.post_fixture(&fixture).await.status(), 200);
    let again = app.post_fixture(&fixture).await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({"received": true, "duplicate": true})
    );
    assert_eq!(app.inbox_count().await, 1);
}

#[tokio::test]
async fn same_id_with_other_content_is_still_a_duplicate() {
    let app = spawn_app().await;
    app.post_transfer("evt-1", "t-1", "Pending", LATER).await;
    let (headers, body) = sign::interlace(
        INTERLACE_SECRET,
        "evt-1",
        "TRANSFER.UPDATED",
        &transfer_resource("t-1", "Closed", "2023-03-01T09:00:00.000Z"),
    );
    let answer = app.accepted("interlace", &headers, body).await;
    assert_eq!(answer, json!({"received": true, "duplicate": true}));
    assert_eq!(
        stored(&app, "evt-1").await.status.as_deref(),
        Some("pending")
    );
    assert_eq!(app.inbox_count().await, 1);
}

#[tokio::test]
async fn duplicate_by_content_under_a_new_id_is_recognised() {
    let app = spawn_app().await;
    let (headers, body) = signed_transfer("first-envelope", "t-1");
    app.accepted("interlace", &headers, body).await;
    let (headers, body) = signed_transfer("second-envelope", "t-1");
    let answer = app.accepted("interlace", &headers, body).await;
    assert_eq!(answer, json!({"received": true, "duplicate": true}));
    assert_eq!(app.inbox_count().await, 1);

    // The same bytes under another event type are a different state change.
    let (headers, body) = sign::interlace(
        INTERLACE_SECRET,
        "third-envelope",
        "TRANSFER.CREATED",
        &transfer_resource("t-1", "Pending", LATER),
    );
    let answer = app.accepted("interlace", &headers, body).await;
    assert_eq!(answer, json!({"received": true}));
    assert_eq!(app.inbox_count().await, 2);
}

#[tokio::test]
async fn concurrent_identical_deliveries_store_exactly_one_row() {
    let app = spawn_app().await;
    let (headers, body) = signed_transfer("raced", "t-race");
    let deliveries = (0..24).map(|_| app.post_webhook("interlace", &headers, body.clone()));
    let responses = futures_util::future::join_all(deliveries).await;
    let mut new = 0;
    for response in responses {
        assert_eq!(response.status(), 200);
        if response
            .json::<Value>()
            .await
            .unwrap()
            .get("duplicate")
            .is_none()
        {
            new += 1;
        }
    }
    assert_eq!(new, 1, "exactly one delivery is the new event");
    assert_eq!(app.inbox_count().await, 1);
}

#[tokio::test]
async fn concurrent_content_duplicates_under_different_ids_store_one_row() {
    let app = spawn_app().await;
    let deliveries: Vec<_> = (0..16)
        .map(|i| signed_transfer(&format!("envelope-{i}"), "t-same"))
        .collect();
    let responses = futures_util::future::join_all(
        deliveries
            .iter()
            .map(|(headers, body)| app.post_webhook("interlace", headers, body.clone())),
    )
    .await;
    assert!(responses.iter().all(|r| r.status() == 200));
    assert_eq!(app.inbox_count().await, 1);
}

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
async fn unknown_source_is_not_found() {
    let app = spawn_app().await;
    let fixture = fixtures::interlace_named("transfer");
    app.refused_fixture("nobody", &fixture, (404, "unknown_source"))
        .await;
}

#[tokio::test]
async fn oversize_body_is_refused_with_or_without_content_length() {
    let app = spawn_app_with(TestOptions::with_env("HOOKGATE_MAX_BODY_BYTES", "2048")).await;
    let padding = "x".repeat(4096);
    let (headers, body) = sign::interlace(
        INTERLACE_SECRET,
        "big",
        "TRANSFER.UPDATED",
        &json!({"id": "t", "status": "Pending", "updateTime": LATER, "note": padding}).to_string(),
    );
    app.refused(
        "interlace",
        &headers,
        body.clone(),
        (413, "payload_too_large"),
    )
    .await;

    // Streamed with no Content-Length: the limit applies while reading.
    let chunks: Vec<Result<String, std::io::Error>> = body
        .as_bytes()
        .chunks(512)
        .map(|c| Ok(String::from_utf8_lossy(c).into_owned()))
        .collect();
    let streamed = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    app.refused("interlace", &headers, streamed, (413, "payload_too_large"))
        .await;

    // Just under the limit is fine.
    let fixture = fixtures::interlace_named("transfer");
    assert!(fixture.body.len() < 2048);
    assert_eq!(app.post_fixture(&fixture).await.status(), 200);
}

#[tokio::test]
async fn default_limit_is_one_mebibyte() {
    let app = spawn_app().await;
    let (headers, body) = sign::interlace(
        INTERLACE_SECRET,
        "huge",
        "TRANSFER.UPDATED",
        &"y".repeat(1024 * 1024),
    );
    app.refused("interlace", &headers, body, (413, "payload_too_large"))
        .await;
}

#[tokio::test]
async fn content_type_must_be_json() {
    let app = spawn_app().await;
    let fixture = fixtures::interlace_named("transfer");
    let signed: Vec<(String, String)> = fixture.headers.clone().into_iter().collect();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut headers = signed.clone();
        if let Some(ct) = content_type {
            headers.push(("Content-Type".into(), ct.into()));
        }
        app.refused(
            "interlace",
            &headers,
            fixture.body.clone(),
            (415, "unsupported_media_type"),
        )
        .await;
    }
    let mut headers = signed.clone();
    headers.push((
        "Content-Type".into(),
        "application/json; charset=utf-8".into(),
    ));
    app.accepted("interlace", &headers, fixture.body.clone())
        .await;
}

#[tokio::test]
async fn bodies_that_are_not_envelopes_are_malformed() {
    let app = spawn_app().await;
    let fixture = fixtures::interlace_named("transfer");
    let headers = fixture.json_headers();
    let envelope: Value = serde_json::from_str(&fixture.body).unwrap();
    let without = |field: &str| {
        let mut e = envelope.clone();
        e.as_object_mut().unwrap().remove(field);
        e.to_string()
    };
    let mut invalid_utf8 = fixture.body.clone().into_bytes();
    let at = invalid_utf8
        .windows(6)
        .position(|w| w == b"Closed")
        .unwrap();
    invalid_utf8[at] = 0xff;
    let bodies: Vec<Vec<u8>> = vec![
        invalid_utf8,
        b"this is not json".to_vec(),
        b"".to_vec(),
        b"[1,2,3]".to_vec(),
        without("id").into_bytes(),
        without("eventType").into_bytes(),
        without("resource").into_bytes(),
        json!({"id": "x", "eventType": "TRANSFER.UPDATED", "resource": {"id": "t"}})
            .to_string()
            .into_bytes(),
    ];
    for body in bodies {
        app.refused("interlace", &headers, body, (400, "malformed_payload"))
            .await;
    }
}

#[tokio::test]
async fn timestamp_outside_a_configured_tolerance_is_stale() {
    let app = spawn_app_with(TestOptions {
        extra_sources: vec![SourceConfig {
            name: "strict".into(),
            scheme: SchemeKind::Interlace,
            secrets: vec![Secret::new(INTERLACE_SECRET)],
            timestamp_tolerance_secs: Some(300),
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
    let row = stored(&app, "msg_p5jXN8AQM9LWM0D4loKWxJek").await;
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
    assert_eq!(
        stored(&app, "msg_fresh").await.routing_key,
        "payout.pending"
    );

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

#[tokio::test]
async fn signed_event_that_does_not_fit_its_family_is_stored_with_its_error() {
    let app = spawn_app().await;
    let cases = [
        (
            "no-id",
            r#"{"status":"Closed","transactionTime":"2021-10-28T11:07:31.019Z"}"#,
            "object id",
        ),
        (
            "bad-amount",
            r#"{"id":"c","status":"Closed","transactionTime":"2021-10-28T11:07:31.019Z","amount":"ten"}"#,
            "amount",
        ),
        (
            "bad-time",
            r#"{"id":"c","status":"Closed","transactionTime":"last tuesday"}"#,
            "transactionTime",
        ),
        ("not-json", "this resource is not JSON", "not a JSON object"),
    ];
    for (id, resource, reason) in cases {
        let (headers, body) =
            sign::interlace(INTERLACE_SECRET, id, "CARD_TRANSACTION.UPDATED", resource);
        let response = app.post_webhook("interlace", &headers, body).await;
        assert_eq!(response.status(), 200, "{id}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"received": true})
        );
        let row = stored(&app, id).await;
        assert_eq!(row.routing_key, "card_transaction.invalid", "{id}");
        assert_eq!(row.status, None);
        assert_eq!(row.resource_raw, resource.as_bytes());
        let error = row.parse_error.expect("parse error recorded");
        assert!(error.contains(reason), "{id}: {error}");
    }
}

#[tokio::test]
async fn events_outside_the_catalogue_are_stored_under_unknown() {
    let app = spawn_app().await;
    app.post_event("new-kind", "CARDHOLDER.UPDATED", json!({"id": "h-1"}))
        .await;
    let row = stored(&app, "new-kind").await;
    assert_eq!(row.family, "unknown");
    assert_eq!(row.routing_key, "unknown.cardholder.updated");
    assert_eq!(row.parse_error, None);
}

#[tokio::test]
async fn control_characters_in_ids_are_malformed() {
    let app = spawn_app().await;
    let (headers, body) =
        sign::interlace(INTERLACE_SECRET, "evil\u{0}id", "TRANSFER.UPDATED", "{}");
    app.refused("interlace", &headers, body, (400, "malformed_payload"))
        .await;
}

#[tokio::test]
async fn a_resource_with_an_escaped_nul_is_still_stored() {
    let app = spawn_app().await;
    let resource = r#"{"id":"t-nul","status":"Pending","updateTime":"2023-03-01T08:23:05.033Z","note":"a\u0000b"}"#;
    let (headers, body) = sign::interlace(INTERLACE_SECRET, "nul", "TRANSFER.UPDATED", resource);
    app.accepted("interlace", &headers, body).await;
    let row = stored(&app, "nul").await;
    assert_eq!(row.resource_raw, resource.as_bytes());
    assert_eq!(row.routing_key, "transfer.pending");
}
