//! `POST /webhooks/{source}`: the responses of SPEC 2.3 for what is stored, limited or malformed.

use crate::support::{
    fixtures::{self, INTERLACE_SECRET},
    sign::{self, LATER},
    spawn_app, spawn_app_with_env,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn every_fixture_family_is_accepted_and_stored_as_described() {
    let app = spawn_app().await;
    // (fixture, family, status, object id, occurred at): a row per family is most of its length.
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
        let row = app.stored(envelope["id"].as_str().unwrap()).await;
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
    app.wait_until_handled(1).await;
    // The inbox keeps the bytes; the read model's JSONB copy, which the object API serves as
    // its text, keeps the digits too.
    let object = app
        .api("/v1/objects/payout/p-1")
        .await
        .text()
        .await
        .unwrap();
    for digits in [
        r#""fromAmount":2000.00000000"#,
        r#""toAmount":12345678901234.56"#,
        r#""fee":0.11"#,
    ] {
        assert!(object.contains(digits), "{digits} in {object}");
    }
    assert_eq!(
        app.stored("exact-1").await.resource_raw,
        resource.as_bytes()
    );
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
    let app = spawn_app_with_env(&[("HOOKGATE_MAX_BODY_BYTES", "2048")]).await;
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
        let row = app.stored(id).await;
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
    let row = app.stored("new-kind").await;
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
    let row = app.stored("nul").await;
    assert_eq!(row.resource_raw, resource.as_bytes());
    assert_eq!(row.routing_key, "transfer.pending");
}
