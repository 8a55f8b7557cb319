//! Interlace: `Signature` = base64(HMAC-SHA256(secret, the decoded `resource` string)).

use super::{
    header,
    interlace_envelope::{self, EnvelopeError},
    within_tolerance, OutgoingEvent, Rejection, Scheme, SignedRequest, Verdict, VerifiedEvent,
};
use crate::catalogue::parse_time_str;
use crate::settings::Secret;
use axum::http::HeaderMap;
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

pub struct Interlace {
    secrets: Vec<Secret>,
    tolerance_secs: Option<u64>,
}

#[derive(Serialize)]
struct OutgoingEnvelope<'a> {
    id: &'a str,
    #[serde(rename = "eventType")]
    event_type: &'a str,
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    code: &'a str,
    message: &'a str,
    resource: &'a str,
    #[serde(rename = "createTime")]
    create_time: String,
}

impl Interlace {
    pub fn new(secrets: Vec<Secret>, tolerance_secs: Option<u64>) -> Self {
        Interlace {
            secrets,
            tolerance_secs,
        }
    }

    fn mac(secret: &Secret) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key")
    }
}

pub fn signature(secret: &Secret, resource: &[u8]) -> String {
    let mut mac = Interlace::mac(secret);
    mac.update(resource);
    STANDARD.encode(mac.finalize().into_bytes())
}

impl Scheme for Interlace {
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Verdict {
        // Unsigned, so parsed into bounded types before anything else is done with it.
        let envelope = interlace_envelope::parse(body).map_err(|error| match error {
            EnvelopeError::OutOfBounds(error) => Rejection::out_of_bounds(error),
            other => Rejection::Malformed(other.to_string()),
        })?;
        if let Some(method) = header(headers, "signature-method") {
            if !method.eq_ignore_ascii_case("HMAC-SHA256") {
                return Err(Rejection::InvalidSignature("unsupported Signature-Method"));
            }
        }
        let given = header(headers, "signature")
            .ok_or(Rejection::InvalidSignature("Signature header is missing"))?;
        let given = STANDARD
            .decode(given)
            .map_err(|_| Rejection::InvalidSignature("Signature is not base64"))?;
        let resource = envelope.resource.into_bytes();
        // verify_slice compares in constant time; trying every secret keeps rotation simple.
        let matches = self.secrets.iter().any(|secret| {
            let mut mac = Interlace::mac(secret);
            mac.update(&resource);
            mac.verify_slice(&given).is_ok()
        });
        if !matches {
            return Err(Rejection::InvalidSignature("signature does not match"));
        }
        if let Some(tolerance) = self.tolerance_secs {
            let sent = header(headers, "timestamp")
                .and_then(|t| parse_time_str(t).ok())
                .ok_or(Rejection::StaleTimestamp)?;
            if !within_tolerance(now, sent, tolerance) {
                return Err(Rejection::StaleTimestamp);
            }
        }
        Ok(VerifiedEvent {
            event_id: envelope.event_id,
            event_type: envelope.event_type,
            resource,
            envelope_time: envelope.create_time,
        })
    }

    fn sign(&self, event: &OutgoingEvent<'_>) -> Option<SignedRequest> {
        let secret = self.secrets.first()?;
        let millis = event.time.timestamp_millis().to_string();
        let body = serde_json::to_string(&OutgoingEnvelope {
            id: event.event_id,
            event_type: event.event_type,
            api_version: "v3",
            code: "000000",
            message: "",
            resource: event.resource,
            create_time: millis.clone(),
        })
        .expect("envelope serialises");
        Some(SignedRequest {
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Signature-Method".into(), "HMAC-SHA256".into()),
                (
                    "Signature".into(),
                    signature(secret, event.resource.as_bytes()),
                ),
                ("Timestamp".into(), millis),
            ],
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const RESOURCE: &str = r#"{"id":"t1","status":"Closed"}"#;

    fn scheme(secrets: &[&str], tolerance: Option<u64>) -> Interlace {
        Interlace::new(secrets.iter().map(|s| Secret::new(*s)).collect(), tolerance)
    }

    fn request(secret: &str) -> (HeaderMap, Vec<u8>) {
        let signed = scheme(&[secret], None)
            .sign(&OutgoingEvent {
                event_id: "e1",
                event_type: "TRANSFER.UPDATED",
                resource: RESOURCE,
                time: Utc::now(),
            })
            .unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in signed.headers {
            headers.insert(
                axum::http::HeaderName::try_from(name).unwrap(),
                HeaderValue::try_from(value).unwrap(),
            );
        }
        (headers, signed.body.into_bytes())
    }

    #[test]
    fn known_vector() {
        // The fixture transfer's signature, computed independently of this code.
        let resource = r#"{"id":"c32e92cb-49fe-4f2c-9598-492d31ea3b19","accountId":"d37deed7-f0e7-4635-a43a-781af0cb59f0","source":{"type":"crypto_assets","currency":"USDC"},"destination":{"type":"master_account"},"amount":{"amount":"30","currency":"USDC"},"fee":{"amount":"0.6","currency":"USD"},"status":"Closed","createTime":"2023-03-01T08:23:03.096Z","updateTime":"2023-03-01T08:23:05.033Z"}"#;
        assert_eq!(
            signature(
                &Secret::new("test-interlace-secret-0001"),
                resource.as_bytes()
            ),
            "p/PUDfgmXHwJeqWbKTUOjvgzkBgmQ5F18L9T20oHoYo="
        );
    }

    #[test]
    fn signed_request_verifies_and_any_rotated_secret_matches() {
        let (headers, body) = request("new");
        let event = scheme(&["old", "new"], None)
            .verify(&headers, &body, Utc::now())
            .unwrap();
        assert_eq!(event.event_id.as_str(), "e1");
        assert_eq!(event.event_type.as_str(), "TRANSFER.UPDATED");
        assert_eq!(event.resource, RESOURCE.as_bytes());
        assert!(event.envelope_time.is_some());
    }

    #[test]
    fn wrong_secret_and_tampered_resource_are_refused() {
        let (headers, body) = request("other");
        assert_eq!(
            scheme(&["mine"], None).verify(&headers, &body, Utc::now()),
            Err(Rejection::InvalidSignature("signature does not match"))
        );
        let (headers, body) = request("mine");
        let tampered = String::from_utf8(body)
            .unwrap()
            .replace("Closed", "Pending");
        assert!(matches!(
            scheme(&["mine"], None).verify(&headers, tampered.as_bytes(), Utc::now()),
            Err(Rejection::InvalidSignature(_))
        ));
    }

    #[test]
    fn no_secret_matches_nothing() {
        let (headers, body) = request("mine");
        assert!(matches!(
            scheme(&[], None).verify(&headers, &body, Utc::now()),
            Err(Rejection::InvalidSignature(_))
        ));
        assert!(scheme(&[], None)
            .sign(&OutgoingEvent {
                event_id: "e",
                event_type: "T.U",
                resource: "{}",
                time: Utc::now()
            })
            .is_none());
    }

    #[test]
    fn header_problems_are_signature_failures() {
        let (mut headers, body) = request("mine");
        headers.insert("signature-method", HeaderValue::from_static("HMAC-MD5"));
        assert_eq!(
            scheme(&["mine"], None).verify(&headers, &body, Utc::now()),
            Err(Rejection::InvalidSignature("unsupported Signature-Method"))
        );
        let (mut headers, body) = request("mine");
        headers.remove("signature");
        assert!(matches!(
            scheme(&["mine"], None).verify(&headers, &body, Utc::now()),
            Err(Rejection::InvalidSignature(_))
        ));
    }

    #[test]
    fn envelope_problems_are_malformed() {
        let (headers, _) = request("mine");
        for body in [
            &b"not json"[..],
            br#"{"eventType":"T.U","resource":"{}"}"#,
            br#"{"id":"e","resource":"{}"}"#,
            br#"{"id":"e","eventType":"T.U"}"#,
            br#"{"id":"e","eventType":"T.U","resource":{"id":1}}"#,
            br#"{"id":"","eventType":"T.U","resource":"{}"}"#,
            b"{\"id\":\"\xff\",\"eventType\":\"T.U\",\"resource\":\"{}\"}",
        ] {
            assert!(
                matches!(
                    scheme(&["mine"], None).verify(&headers, body, Utc::now()),
                    Err(Rejection::Malformed(_))
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn tolerance_is_off_by_default_and_enforced_when_set() {
        let (mut headers, body) = request("mine");
        headers.insert("timestamp", HeaderValue::from_static("1000"));
        assert!(scheme(&["mine"], None)
            .verify(&headers, &body, Utc::now())
            .is_ok());
        assert_eq!(
            scheme(&["mine"], Some(300)).verify(&headers, &body, Utc::now()),
            Err(Rejection::StaleTimestamp)
        );
        let (headers, body) = request("mine");
        assert!(scheme(&["mine"], Some(300))
            .verify(&headers, &body, Utc::now())
            .is_ok());
    }
}
