//! Standard Webhooks (SPEC 2.2): `webhook-signature` holds `v1,` base64(HMAC-SHA256(key,
//! `{id}.{ts}.{body}`)) entries for `whsec_` keys and `v1a,` ed25519 entries for `whpk_` keys.
//! The timestamp is checked first, the header is parsed within bounds, and each symmetric key
//! costs one MAC whatever the entries, so a sender cannot choose the cost of a refusal.

use super::{
    header,
    keys::{self, SignKey, VerifyKey},
    signature_header::{self, Entry},
    unreadable_body, within_tolerance, OutgoingEvent, Rejection, Scheme, SignedRequest, Verdict,
    VerifiedEvent,
};
use crate::catalogue::{format_time, parse_time_str, within_stored_years, EventId, EventType};
use crate::settings::Secret;
use axum::http::HeaderMap;
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, TimeZone, Utc};
use ed25519_dalek::{Signature, Signer};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const DEFAULT_TOLERANCE_SECS: u64 = 300;
/// Most ed25519 verifications one request may cost, whatever its entries and the keys.
pub const MAX_ED25519_CHECKS: usize = 4;

pub struct StandardWebhooks {
    verify: Vec<VerifyKey>,
    /// The first secret that can sign: what `sign` and the notifier use.
    sign: Option<SignKey>,
    tolerance_secs: Option<u64>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    event_type: std::borrow::Cow<'a, str>,
    timestamp: Option<&'a RawValue>,
    #[serde(borrow)]
    data: &'a RawValue,
}

impl StandardWebhooks {
    /// `tolerance_secs`: `None` takes the default of 300 s; `Some(0)` turns the check off.
    pub fn new(secrets: &[Secret], tolerance_secs: Option<u64>) -> Result<Self, String> {
        let parsed = secrets
            .iter()
            .map(|s| keys::parse(s.expose()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StandardWebhooks {
            sign: parsed.iter().find_map(|keys| keys.sign.clone()),
            verify: parsed.into_iter().map(|keys| keys.verify).collect(),
            tolerance_secs: match tolerance_secs {
                None => Some(DEFAULT_TOLERANCE_SECS),
                Some(0) => None,
                other => other,
            },
        })
    }

    fn mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// The three headers that sign `body` as message `id` sent at `time`, with the first key
    /// that can sign: `v1` for a `whsec_` key, `v1a` for a `whsk_` one.
    pub fn signature_headers(
        &self,
        id: &str,
        time: DateTime<Utc>,
        body: &[u8],
    ) -> Option<Vec<(String, String)>> {
        let timestamp = time.timestamp().to_string();
        let signature = match self.sign.as_ref()? {
            SignKey::Hmac(key) => format!(
                "v1,{}",
                STANDARD.encode(Self::mac(key, id, &timestamp, body))
            ),
            SignKey::Ed25519(key) => {
                let signed = signed_content(id, &timestamp, body);
                format!("v1a,{}", STANDARD.encode(key.sign(&signed).to_bytes()))
            }
        };
        Some(vec![
            ("webhook-id".into(), id.to_owned()),
            ("webhook-timestamp".into(), timestamp),
            ("webhook-signature".into(), signature),
        ])
    }

    /// Whether any entry verifies under any key: one MAC per symmetric key, compared with
    /// every v1 entry in constant time, and at most [`MAX_ED25519_CHECKS`] ed25519 checks.
    fn any_matches(&self, entries: &[Entry], id: &str, timestamp: &str, body: &[u8]) -> bool {
        let mut matched = false;
        let mut ed25519_left = MAX_ED25519_CHECKS;
        let mut signed: Option<Vec<u8>> = None;
        for key in &self.verify {
            match key {
                VerifyKey::Hmac(key) => {
                    let mac = Self::mac(key, id, timestamp, body);
                    for entry in entries {
                        if let Entry::V1(given) = entry {
                            matched |= bool::from(mac.ct_eq(given));
                        }
                    }
                }
                VerifyKey::Ed25519(key) => {
                    for entry in entries {
                        let Entry::V1a(given) = entry else { continue };
                        if ed25519_left == 0 || matched {
                            break;
                        }
                        ed25519_left -= 1;
                        let message =
                            signed.get_or_insert_with(|| signed_content(id, timestamp, body));
                        matched |= key
                            .verify_strict(message, &Signature::from_bytes(given))
                            .is_ok();
                    }
                }
            }
        }
        matched
    }
}

/// What both versions sign: `{id}.{timestamp}.{body}`.
fn signed_content(id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
    content.extend_from_slice(id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    content
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
        // The timestamp is signed, but checking it costs nothing: a stale request does no
        // signature work at all.
        if let Some(tolerance) = self.tolerance_secs {
            if !within_tolerance(now, sent, tolerance) {
                return Err(Rejection::StaleTimestamp);
            }
        }
        let entries = signature_header::parse(signatures).map_err(|error| match error {
            signature_header::HeaderError::TooLong => {
                Rejection::InvalidSignature("webhook-signature is longer than 4 KiB")
            }
            signature_header::HeaderError::TooManyEntries => {
                Rejection::InvalidSignature("webhook-signature has more than 16 entries")
            }
        })?;
        let event_id = EventId::parse(id).map_err(Rejection::out_of_bounds)?;
        if !self.any_matches(&entries, id, timestamp, body) {
            return Err(Rejection::InvalidSignature("signature does not match"));
        }
        let envelope: Envelope<'_> = serde_json::from_slice(body)
            .map_err(|e| unreadable_body(&e, "body needs a string type and a data object"))?;
        Ok(VerifiedEvent {
            event_id,
            event_type: EventType::parse(&envelope.event_type).map_err(Rejection::out_of_bounds)?,
            resource: envelope.data.get().as_bytes().to_vec(),
            envelope_time: envelope
                .timestamp
                .and_then(|raw| serde_json::from_str::<&str>(raw.get()).ok())
                .and_then(|t| parse_time_str(t).ok())
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
mod tests;
