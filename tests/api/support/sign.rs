//! Signing for tests, written from the SPEC independently of the crate's own signer.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The Standard Webhooks secret of the `partner` sources tests configure.
pub const SW_SECRET: &str = "whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c=";

/// Transfer times for tests where only their order matters: `EARLIER` comes before `LATER`.
pub const EARLIER: &str = "2023-03-01T08:23:01.000Z";
pub const LATER: &str = "2023-03-01T08:23:05.033Z";

fn hmac(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// An Interlace envelope around `resource`, with its headers.
pub fn interlace(
    secret: &str,
    id: &str,
    event_type: &str,
    resource: &str,
) -> (Vec<(String, String)>, String) {
    interlace_created(secret, id, event_type, resource, "1756879969964".into())
}

/// An Interlace envelope around `resource` whose `createTime` is `create_time`, with its
/// headers. Nothing of the envelope is signed, so any envelope can carry a captured resource.
pub fn interlace_created(
    secret: &str,
    id: &str,
    event_type: &str,
    resource: &str,
    create_time: serde_json::Value,
) -> (Vec<(String, String)>, String) {
    let body = serde_json::json!({
        "id": id,
        "eventType": event_type,
        "apiVersion": "v3",
        "code": "000000",
        "message": "",
        "resource": resource,
        "createTime": create_time,
    })
    .to_string();
    let headers = vec![
        ("Content-Type".into(), "application/json".into()),
        ("Signature-Method".into(), "HMAC-SHA256".into()),
        (
            "Signature".into(),
            hmac(secret.as_bytes(), &[resource.as_bytes()]),
        ),
        (
            "Timestamp".into(),
            chrono::Utc::now().timestamp_millis().to_string(),
        ),
    ];
    (headers, body)
}

/// A Standard Webhooks request for `body`, signed with `whsec_` secret at Unix second `timestamp`.
pub fn standard_webhooks(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &str,
) -> Vec<(String, String)> {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let ts = timestamp.to_string();
    let signature = hmac(
        &key,
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body.as_bytes()],
    );
    vec![
        ("Content-Type".into(), "application/json".into()),
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts),
        ("webhook-signature".into(), format!("v1,{signature}")),
    ]
}

/// A transfer resource with exact amounts, for tests that need many objects.
pub fn transfer(id: &str, status: &str, update_time: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "accountId": "acc-1", "status": status, "updateTime": update_time,
                       "amount": {"amount": "10.50", "currency": "USD"},
                       "fee": {"amount": "0.10", "currency": "USD"}})
}

/// A pending USDC transfer resource as text, in the platform's field order.
pub fn transfer_resource(id: &str, status: &str, update_time: &str) -> String {
    serde_json::json!({"id": id, "accountId": "acc-1", "amount": {"amount": "30", "currency": "USDC"},
                       "status": status, "createTime": "2023-03-01T08:23:03.096Z", "updateTime": update_time})
    .to_string()
}

/// `transfer_resource` of `object_id`, pending at `LATER`, signed as Interlace event `event_id`.
pub fn signed_transfer(event_id: &str, object_id: &str) -> (Vec<(String, String)>, String) {
    interlace(
        super::fixtures::INTERLACE_SECRET,
        event_id,
        "TRANSFER.UPDATED",
        &transfer_resource(object_id, "Pending", LATER),
    )
}
