//! Standard Webhooks: `webhook-signature` = `v1,` base64(HMAC-SHA256(key, `{id}.{ts}.{body}`)),
//! key = the base64 after `whsec_`.

use super::{
    header, unreadable_body, within_tolerance, OutgoingEvent, Rejection, Scheme, SignedRequest,
    Verdict, VerifiedEvent,
};
use crate::catalogue::{format_time, parse_time_str, within_stored_years, EventId, EventType};
use crate::settings::Secret;
use axum::http::HeaderMap;
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::Sha256;

pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

pub struct StandardWebhooks {
    keys: Vec<Vec<u8>>,
    tolerance_secs: Option<u64>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    event_type: String,
    timestamp: Option<String>,
    #[serde(borrow)]
    data: &'a RawValue,
}

impl StandardWebhooks {
    /// `tolerance_secs`: `None` takes the default of 300 s; `Some(0)` turns the check off.
    pub fn new(secrets: &[Secret], tolerance_secs: Option<u64>) -> Result<Self, String> {
        let keys = secrets
            .iter()
            .map(|s| decode_secret(s.expose()))
            .collect::<Result<_, _>>()?;
        Ok(StandardWebhooks {
            keys,
            tolerance_secs: match tolerance_secs {
                None => Some(DEFAULT_TOLERANCE_SECS),
                Some(0) => None,
                other => other,
            },
        })
    }

    fn mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The three headers that sign `body` as message `id` sent at `time`, with the first key.
    pub fn signature_headers(
        &self,
        id: &str,
        time: DateTime<Utc>,
        body: &[u8],
    ) -> Option<Vec<(String, String)>> {
        let key = self.keys.first()?;
        let timestamp = time.timestamp().to_string();
        let signature =
            STANDARD.encode(Self::mac(key, id, &timestamp, body).finalize().into_bytes());
        Some(vec![
            ("webhook-id".into(), id.to_owned()),
            ("webhook-timestamp".into(), timestamp),
            ("webhook-signature".into(), format!("v1,{signature}")),
        ])
    }
}

fn decode_secret(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret
        .strip_prefix("whsec_")
        .ok_or("a Standard Webhooks secret starts with whsec_")?;
    STANDARD
        .decode(encoded)
        .map_err(|_| "the part after whsec_ is not base64".to_owned())
}

impl Scheme for StandardWebhooks {
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Verdict {
        let id = header(headers, "webhook-id")
            .ok_or(Rejection::InvalidSignature("webhook-id header is missing"))?;
        let timestamp = header(headers, "webhook-timestamp").ok_or(Rejection::InvalidSignature(
            "webhook-timestamp header is missing",
        ))?;
        let signatures = header(headers, "webhook-signature").ok_or(
            Rejection::InvalidSignature("webhook-signature header is missing"),
        )?;
        let sent = timestamp
            .parse::<i64>()
            .ok()
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .ok_or(Rejection::InvalidSignature(
                "webhook-timestamp is not Unix seconds",
            ))?;
        let given: Vec<Vec<u8>> = signatures
            .split_whitespace()
            .filter_map(|entry| entry.strip_prefix("v1,"))
            .filter_map(|b64| STANDARD.decode(b64).ok())
            .collect();
        let matches = self.keys.iter().any(|key| {
            given.iter().any(|sig| {
                Self::mac(key, id, timestamp, body)
                    .verify_slice(sig)
                    .is_ok()
            })
        });
        if !matches {
            return Err(Rejection::InvalidSignature("signature does not match"));
        }
        if let Some(tolerance) = self.tolerance_secs {
            if !within_tolerance(now, sent, tolerance) {
                return Err(Rejection::StaleTimestamp);
            }
        }
        let envelope: Envelope<'_> = serde_json::from_slice(body)
            .map_err(|e| unreadable_body(&e, "body needs a string type and a data object"))?;
        Ok(VerifiedEvent {
            event_id: EventId::parse(id).map_err(Rejection::out_of_bounds)?,
            event_type: EventType::parse(&envelope.event_type).map_err(Rejection::out_of_bounds)?,
            resource: envelope.data.get().as_bytes().to_vec(),
            envelope_time: envelope
                .timestamp
                .and_then(|t| parse_time_str(&t).ok())
                .or(Some(sent).filter(within_stored_years)),
        })
    }

    fn sign(&self, event: &OutgoingEvent<'_>) -> Option<SignedRequest> {
        let body = format!(
            r#"{{"type":{},"timestamp":{},"data":{}}}"#,
            serde_json::Value::from(event.event_type),
            serde_json::Value::from(format_time(&event.time)),
            event.resource
        );
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        headers.extend(self.signature_headers(event.event_id, event.time, body.as_bytes())?);
        Some(SignedRequest { headers, body })
    }
}

#[cfg(test)]
mod tests {
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
    fn secrets_must_be_whsec_base64() {
        assert!(StandardWebhooks::new(&[Secret::new("plain")], None).is_err());
        assert!(StandardWebhooks::new(&[Secret::new("whsec_***")], None).is_err());
    }

    #[test]
    fn sign_then_verify_round_trips_with_rotation() {
        let old = "whsec_".to_owned() + &STANDARD.encode(b"old-key-0123456789");
        let signer = StandardWebhooks::new(&[Secret::new(SECRET)], None).unwrap();
        let verifier =
            StandardWebhooks::new(&[Secret::new(old), Secret::new(SECRET)], None).unwrap();
        let signed = signer
            .sign(&OutgoingEvent {
                event_id: "msg_1",
                event_type: "payout.updated",
                resource: r#"{"id":"p","amount":0.11}"#,
                time: Utc::now(),
            })
            .unwrap();
        let pairs: Vec<(&str, &str)> = signed
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let event = verifier
            .verify(&headers(&pairs), signed.body.as_bytes(), Utc::now())
            .unwrap();
        assert_eq!(event.resource, br#"{"id":"p","amount":0.11}"#);
        assert_eq!(event.event_type.as_str(), "payout.updated");
    }
}
