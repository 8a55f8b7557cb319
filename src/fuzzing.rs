//! The properties the fuzz targets in `fuzz/` check, one function per target. They live in the
//! library so that an ordinary test on stable (`tests/fuzz_corpus.rs`) replays each target's
//! corpus and every crash found through exactly the same code. Each panics when a property
//! fails, which is what a fuzzer reports.

use crate::{
    catalogue::RoutingKey,
    catalogue::{
        describe, format_time, parse_amount, parse_time_str, EventId, EventType, Family, Ids,
        Reading, StatusToken, TraceParent, MAX_ERROR_BYTES,
    },
    settings::Secret,
    signing::{Interlace, Scheme, StandardWebhooks, VerifiedEvent},
};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use chrono::{TimeZone, Utc};

/// A target's checks: panics when a property fails.
pub type Check = fn(&[u8]);

/// Every fuzz target, by the name of its file in `fuzz/fuzz_targets/` and corpus folder.
pub const TARGETS: [(&str, Check); 9] = [
    ("interlace_verify", interlace_verify),
    ("interlace_envelope", interlace_envelope),
    ("standard_webhooks_verify", standard_webhooks_verify),
    ("signature_header", signature_header),
    ("describe", describe_event),
    ("money", money),
    ("time", time),
    ("routing_keys", routing_keys),
    ("traceparent", traceparent),
];

const SECRET: &str = "fuzz-secret";
const WHSEC: &str = "whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c=";

/// Splits input into a header block (up to the first NUL) and a body: `name: value` lines.
fn request(data: &[u8]) -> (HeaderMap, &[u8]) {
    let (head, body) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&[][..], data),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    (headers, body)
}

/// A verified event holds only values within the edge limits.
fn check_verified(event: &VerifiedEvent) {
    assert!(EventId::parse(&event.event_id).is_ok());
    assert!(EventType::parse(&event.event_type).is_ok());
    if let Some(time) = event.envelope_time {
        assert!(crate::catalogue::within_stored_years(&time));
    }
}

pub fn interlace_verify(data: &[u8]) {
    let scheme = Interlace::new(vec![Secret::new(SECRET)], Some(300));
    let (headers, body) = request(data);
    let now = Utc.timestamp_opt(1_756_879_969, 0).unwrap();
    if let Ok(event) = scheme.verify(&headers, body, now) {
        check_verified(&event);
    }
}

/// An envelope parses into values within their limits, or is refused.
pub fn interlace_envelope(data: &[u8]) {
    if let Ok(envelope) = crate::signing::interlace_envelope::parse(data) {
        assert!(EventId::parse(&envelope.event_id).is_ok());
        assert!(EventType::parse(&envelope.event_type).is_ok());
        if let Some(time) = envelope.create_time {
            assert!(crate::catalogue::within_stored_years(&time));
        }
    }
}

/// A `webhook-signature` value parses into at most 16 entries, or is refused, whatever it holds.
pub fn signature_header(data: &[u8]) {
    use crate::signing::signature_header::{parse, HeaderError, MAX_ENTRIES, MAX_HEADER_BYTES};
    let text = String::from_utf8_lossy(data);
    match parse(&text) {
        Ok(entries) => assert!(entries.len() <= MAX_ENTRIES),
        Err(HeaderError::TooLong) => assert!(text.len() > MAX_HEADER_BYTES),
        Err(HeaderError::TooManyEntries) => {
            assert!(text.split_ascii_whitespace().count() > MAX_ENTRIES)
        }
    }
}

pub fn standard_webhooks_verify(data: &[u8]) {
    let scheme = StandardWebhooks::new(&[Secret::new(WHSEC)], None).expect("a valid secret");
    let (headers, body) = request(data);
    if let Ok(event) = scheme.verify(&headers, body, Utc::now()) {
        check_verified(&event);
    }
}

/// `describe` never panics, and what it builds fits AMQP and the database.
pub fn describe_event(data: &[u8]) {
    let (event_type, resource) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b"TRANSFER.UPDATED"[..], data),
    };
    let Ok(event_type) = EventType::parse(&String::from_utf8_lossy(event_type)) else {
        return;
    };
    let envelope_time = Some(Utc.timestamp_opt(1_756_879_969, 0).unwrap());
    let d = describe(&event_type, resource, envelope_time);
    let routing_key = RoutingKey::of(&event_type, &d.reading);
    assert!(RoutingKey::parse(&routing_key).is_ok(), "{routing_key}");
    let fits = |id: &str| id.len() <= 255 && !id.contains('\0');
    let ids_fit = |ids: &Ids| {
        ids.object_id
            .iter()
            .chain(&ids.account_id)
            .all(|id| fits(id))
    };
    match &d.reading {
        Reading::Valid(valid) => {
            let status = valid.status.as_str();
            assert!(StatusToken::normalise(status).as_deref() == Ok(status));
            let notify = RoutingKey::notification(valid.family, &valid.status);
            assert!(RoutingKey::parse(&notify).is_ok());
            assert!(fits(&valid.object_id));
            assert!(valid.account_id.as_deref().is_none_or(fits));
            assert!(crate::catalogue::within_stored_years(&valid.occurred_at));
            assert_ne!(valid.family, Family::Unknown);
        }
        Reading::Unfit {
            family,
            reason,
            ids,
        } => {
            assert!(reason.len() <= MAX_ERROR_BYTES);
            assert_ne!(*family, Family::Unknown);
            assert!(ids_fit(ids));
        }
        Reading::Unknown { ids } => {
            assert_eq!(event_type.family(), Family::Unknown);
            assert!(ids_fit(ids));
        }
    }
}

/// An amount parses exactly or not at all, and its text parses back to itself.
pub fn money(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for value in [
        serde_json::Value::String(text.to_string()),
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    ] {
        match parse_amount(&value) {
            Ok(amount) => {
                let text = amount.to_string();
                let again = parse_amount(&serde_json::Value::String(text.clone()));
                assert_eq!(again.map(|a| a.to_string()), Ok(text), "scale kept");
            }
            Err(error) => assert!(error.to_string().len() < 300),
        }
    }
}

/// A time parses into the stored years or not at all, and its formatted text parses back.
pub fn time(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match parse_time_str(&text) {
        Ok(time) => {
            assert!(crate::catalogue::within_stored_years(&time));
            assert_eq!(parse_time_str(&format_time(&time)), Ok(time));
        }
        Err(error) => assert!(error.to_string().len() < 300),
    }
}

/// Whatever a status or event type holds, the keys built from it fit a short string and
/// cannot act as wildcards.
pub fn routing_keys(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(status) = StatusToken::normalise(&text) {
        for family in Family::KNOWN {
            for key in [
                RoutingKey::event(family, &status),
                RoutingKey::notification(family, &status),
            ] {
                assert!(key.len() <= 255);
                assert!(RoutingKey::parse(&key).is_ok(), "{key}");
            }
        }
    }
    if let Ok(event_type) = EventType::parse(&text) {
        let key = RoutingKey::unknown(&event_type);
        assert!(RoutingKey::parse(&key).is_ok(), "{key}");
    }
    if let Ok(id) = EventId::parse(&text) {
        assert!(id.len() <= 255 && id.bytes().all(|b| (0x20..0x7f).contains(&b)));
    }
}

/// Whatever a sender puts in `traceparent`, what reads writes back the same and is a W3C
/// version-00 header of fixed length.
pub fn traceparent(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(parent) = TraceParent::parse(&text) {
        let header = parent.header();
        assert_eq!(header.len(), 55, "{header}");
        assert_eq!(TraceParent::parse(&header), Some(parent));
    }
}
