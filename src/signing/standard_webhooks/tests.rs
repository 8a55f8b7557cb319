//! The Standard Webhooks scheme: the published vector, rotation, bounds and v1a.

use super::*;
use axum::http::{HeaderName, HeaderValue};

const SECRET: &str = "whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c=";
const BODY: &str = r#"{"type":"transfer.updated","timestamp":"2021-02-25T15:02:10Z","data":{"id":"c32e92cb-49fe-4f2c-9598-492d31ea3b19","status":"Closed"}}"#;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.insert(
            HeaderName::try_from(*k).unwrap(),
            HeaderValue::try_from(*v).unwrap(),
        );
    }
    map
}

fn vector_headers(signature: &str) -> HeaderMap {
    headers(&[
        ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("webhook-timestamp", "1614265330"),
        ("webhook-signature", signature),
    ])
}

fn at_vector_time() -> DateTime<Utc> {
    Utc.timestamp_opt(1614265330, 0).unwrap()
}

#[test]
fn published_test_vector_verifies() {
    let scheme = StandardWebhooks::new(&[Secret::new(SECRET)], None).unwrap();
    let event = scheme
        .verify(
            &vector_headers("v1,QhAdmyPYOHWbObkAmkIdR45UVI7NDtXSxtDfg2+YRfc="),
            BODY.as_bytes(),
            at_vector_time(),
        )
        .unwrap();
    assert_eq!(event.event_id.as_str(), "msg_p5jXN8AQM9LWM0D4loKWxJek");
    assert_eq!(event.event_type.as_str(), "transfer.updated");
    assert_eq!(
        event.resource,
        br#"{"id":"c32e92cb-49fe-4f2c-9598-492d31ea3b19","status":"Closed"}"#
    );
}

#[test]
fn one_matching_entry_among_several_is_enough() {
    let scheme = StandardWebhooks::new(&[Secret::new(SECRET)], None).unwrap();
    let header = "v1,AAAA v1a,xyz v1,QhAdmyPYOHWbObkAmkIdR45UVI7NDtXSxtDfg2+YRfc=";
    assert!(scheme
        .verify(&vector_headers(header), BODY.as_bytes(), at_vector_time())
        .is_ok());
}

#[test]
fn old_timestamp_is_stale_unless_tolerance_is_off() {
    let good = vector_headers("v1,QhAdmyPYOHWbObkAmkIdR45UVI7NDtXSxtDfg2+YRfc=");
    let strict = StandardWebhooks::new(&[Secret::new(SECRET)], None).unwrap();
    assert_eq!(
        strict.verify(&good, BODY.as_bytes(), Utc::now()),
        Err(Rejection::StaleTimestamp)
    );
    let off = StandardWebhooks::new(&[Secret::new(SECRET)], Some(0)).unwrap();
    assert!(off.verify(&good, BODY.as_bytes(), Utc::now()).is_ok());
}

#[test]
fn tampering_and_missing_headers_are_refused() {
    let scheme = StandardWebhooks::new(&[Secret::new(SECRET)], None).unwrap();
    let good = vector_headers("v1,QhAdmyPYOHWbObkAmkIdR45UVI7NDtXSxtDfg2+YRfc=");
    let tampered = BODY.replace("Closed", "Pending");
    assert!(matches!(
        scheme.verify(&good, tampered.as_bytes(), at_vector_time()),
        Err(Rejection::InvalidSignature(_))
    ));
    for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut h = good.clone();
        h.remove(missing);
        assert!(matches!(
            scheme.verify(&h, BODY.as_bytes(), at_vector_time()),
            Err(Rejection::InvalidSignature(_))
        ));
    }
}

#[test]
fn secrets_must_be_whsec_whpk_or_whsk_base64() {
    for bad in ["plain", "whsec_***", "whsec_", ""] {
        assert!(
            StandardWebhooks::new(&[Secret::new(bad)], None).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn the_timestamp_is_checked_before_the_header_or_any_signature() {
    let scheme = StandardWebhooks::new(&[Secret::new(SECRET)], None).unwrap();
    let flood = vec!["v1,AAAA"; 35_000].join(" ");
    let late = at_vector_time() + chrono::Duration::seconds(301);
    assert_eq!(
        scheme.verify(&vector_headers(&flood), BODY.as_bytes(), late),
        Err(Rejection::StaleTimestamp)
    );
}

#[test]
fn a_header_with_too_many_entries_or_bytes_is_refused() {
    let scheme = StandardWebhooks::new(&[Secret::new(SECRET)], None).unwrap();
    let good = "v1,QhAdmyPYOHWbObkAmkIdR45UVI7NDtXSxtDfg2+YRfc=";
    let seventeen = format!("{} {good}", vec!["v1,AAAA"; 16].join(" "));
    let long = format!("{good} {}", "v1,".to_owned() + &"A".repeat(4100));
    for header in [seventeen, long] {
        assert!(matches!(
            scheme.verify(&vector_headers(&header), BODY.as_bytes(), at_vector_time()),
            Err(Rejection::InvalidSignature(_))
        ));
    }
    let sixteen = format!("{} {good}", vec!["v1,AAAA"; 15].join(" "));
    assert!(scheme
        .verify(&vector_headers(&sixteen), BODY.as_bytes(), at_vector_time())
        .is_ok());
}

fn ed25519_pair(seed: u8) -> (Secret, Secret) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    (
        Secret::new(format!("whsk_{}", STANDARD.encode(key.to_bytes()))),
        Secret::new(format!(
            "whpk_{}",
            STANDARD.encode(key.verifying_key().as_bytes())
        )),
    )
}

fn signed_by(secret: Secret) -> (HeaderMap, String) {
    signed(
        &[secret],
        "transfer.updated",
        r#"{"id":"t","status":"Closed"}"#,
    )
}

/// A request signed now with the first of `secrets` that can sign.
fn signed(secrets: &[Secret], event_type: &str, resource: &str) -> (HeaderMap, String) {
    let signer = StandardWebhooks::new(secrets, None).unwrap();
    let signed = signer
        .sign(&OutgoingEvent {
            event_id: "msg_1",
            event_type,
            resource,
            time: Utc::now(),
        })
        .unwrap();
    let pairs: Vec<(&str, &str)> = signed
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    (headers(&pairs), signed.body)
}

#[test]
fn v1a_signatures_verify_under_the_matching_public_key_only() {
    let (private, public) = ed25519_pair(1);
    let (_, other_public) = ed25519_pair(2);
    let (headers, body) = signed_by(private);
    assert!(headers["webhook-signature"]
        .to_str()
        .unwrap()
        .starts_with("v1a,"));
    let mixed = StandardWebhooks::new(&[Secret::new(SECRET), public], None).unwrap();
    assert!(mixed.verify(&headers, body.as_bytes(), Utc::now()).is_ok());
    let other = StandardWebhooks::new(&[other_public], None).unwrap();
    assert_eq!(
        other.verify(&headers, body.as_bytes(), Utc::now()),
        Err(Rejection::InvalidSignature("signature does not match"))
    );
    let tampered = body.replace("Closed", "Pending");
    assert!(mixed
        .verify(&headers, tampered.as_bytes(), Utc::now())
        .is_err());
}

#[test]
fn at_most_four_ed25519_checks_are_made() {
    let (private, public) = ed25519_pair(3);
    let (mut headers, body) = signed_by(private);
    let genuine = headers["webhook-signature"].to_str().unwrap().to_owned();
    let decoy = format!("v1a,{}", STANDARD.encode([0u8; 64]));
    let scheme = StandardWebhooks::new(&[public], None).unwrap();
    for (decoys, verifies) in [(3, true), (4, false)] {
        let value = format!("{} {genuine}", vec![decoy.as_str(); decoys].join(" "));
        headers.insert("webhook-signature", HeaderValue::try_from(value).unwrap());
        assert_eq!(
            scheme.verify(&headers, body.as_bytes(), Utc::now()).is_ok(),
            verifies,
            "{decoys} decoys first"
        );
    }
}

#[test]
fn sign_then_verify_round_trips_with_rotation() {
    let old = "whsec_".to_owned() + &STANDARD.encode(b"old-key-0123456789");
    let verifier = StandardWebhooks::new(&[Secret::new(old), Secret::new(SECRET)], None).unwrap();
    let (headers, body) = signed(
        &[Secret::new(SECRET)],
        "payout.updated",
        r#"{"id":"p","amount":0.11}"#,
    );
    let event = verifier
        .verify(&headers, body.as_bytes(), Utc::now())
        .unwrap();
    assert_eq!(event.resource, br#"{"id":"p","amount":0.11}"#);
    assert_eq!(event.event_type.as_str(), "payout.updated");
}
