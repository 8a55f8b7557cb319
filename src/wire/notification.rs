//! The notification message of SPEC 4, with an id that is the same every time the same event
//! is notified, so a subscriber can drop repeats.

use super::headers::{carry_trace, text_value, X_EVENT_ID, X_HOOKGATE_RESEND, X_SOURCE};
use crate::catalogue::RoutingKey;
use crate::catalogue::{format_time, EventId, Family, StatusToken};
use chrono::{DateTime, Utc};
use lapin::{types::FieldTable, BasicProperties};
use serde::Serialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

pub struct NotificationFacts<'a> {
    pub source: &'a str,
    pub event_id: &'a str,
    pub family: Family,
    pub object_id: &'a str,
    pub account_id: Option<&'a str>,
    pub previous_status: Option<&'a str>,
    pub status: &'a StatusToken,
    pub occurred_at: DateTime<Utc>,
    pub resource_raw: &'a [u8],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationMessage<'a> {
    schema_version: u8,
    id: &'a str,
    event_id: &'a str,
    family: &'a str,
    object_id: &'a str,
    account_id: Option<&'a str>,
    previous_status: Option<&'a str>,
    status: &'a str,
    occurred_at: String,
    resource: &'a RawValue,
}

/// `ntf_` and 32 hex digits derived from the source and event id.
pub fn notification_id(source: &str, event_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(source.as_bytes())
        .chain_update([0])
        .chain_update(event_id.as_bytes())
        .finalize();
    format!("ntf_{}", hex::encode(&digest[..16]))
}

/// The properties of a notification message: its id, headers naming the event, and the trace
/// it is published under.
pub fn notification_properties(
    notification_id: &EventId,
    source: &str,
    event_id: &EventId,
    traceparent: Option<&str>,
) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(X_SOURCE.into(), text_value(source));
    headers.insert(X_EVENT_ID.into(), text_value(event_id.as_str()));
    carry_trace(&mut headers, traceparent);
    BasicProperties::default()
        .with_message_id(notification_id.as_str().into())
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_timestamp(Utc::now().timestamp().max(0) as u64)
        .with_app_id("hookgate".into())
        .with_headers(headers)
}

/// The properties of a notification an operator resends at `at`: the original's, and the
/// header that makes the notifier POST it again.
pub fn resend_properties(
    notification_id: &EventId,
    source: &str,
    event_id: &EventId,
    traceparent: Option<&str>,
    at: DateTime<Utc>,
) -> BasicProperties {
    let properties = notification_properties(notification_id, source, event_id, traceparent);
    let mut headers = properties.headers().clone().unwrap_or_default();
    headers.insert(X_HOOKGATE_RESEND.into(), text_value(&format_time(&at)));
    properties.with_headers(headers)
}

/// Whether a notification was resent by an operator, so is POSTed whatever was delivered.
pub fn is_resend(properties: &BasicProperties) -> bool {
    properties
        .headers()
        .as_ref()
        .is_some_and(|headers| headers.inner().contains_key(X_HOOKGATE_RESEND))
}

/// `(notification id, routing key, body)`.
pub fn notification_message(facts: &NotificationFacts<'_>) -> (String, RoutingKey, Vec<u8>) {
    message_with_id(facts, notification_id(facts.source, facts.event_id))
}

/// The notification of a transition `hookgate verify --repair` made: its id is derived from
/// the deciding event and the event the wrong state came from, so a repair notifies once even
/// when the deciding event was notified before, in an order the old rule got wrong.
pub fn repair_notification_message(
    facts: &NotificationFacts<'_>,
    repaired_from_event: &str,
) -> (String, RoutingKey, Vec<u8>) {
    let key = format!("{}\0repair\0{repaired_from_event}", facts.event_id);
    message_with_id(facts, notification_id(facts.source, &key))
}

fn message_with_id(facts: &NotificationFacts<'_>, id: String) -> (String, RoutingKey, Vec<u8>) {
    let resource: Box<RawValue> = std::str::from_utf8(facts.resource_raw)
        .ok()
        .and_then(|text| RawValue::from_string(text.to_owned()).ok())
        .unwrap_or_else(|| RawValue::from_string("null".to_owned()).expect("null is JSON"));
    let body = serde_json::to_vec(&NotificationMessage {
        schema_version: 1,
        id: &id,
        event_id: facts.event_id,
        family: facts.family.as_str(),
        object_id: facts.object_id,
        account_id: facts.account_id,
        previous_status: facts.previous_status,
        status: facts.status.as_str(),
        occurred_at: format_time(&facts.occurred_at),
        resource: &resource,
    })
    .expect("notification serialises");
    let routing_key = RoutingKey::notification(facts.family, facts.status);
    (id, routing_key, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn id_is_stable_per_event_and_differs_between_events() {
        assert_eq!(
            notification_id("interlace", "e1"),
            notification_id("interlace", "e1")
        );
        assert_ne!(
            notification_id("interlace", "e1"),
            notification_id("interlace", "e2")
        );
        assert_ne!(
            notification_id("interlace", "e1"),
            notification_id("partner", "e1")
        );
        assert_eq!(notification_id("interlace", "e1").len(), 36);
    }

    #[test]
    fn a_resend_keeps_the_original_id_and_headers_and_says_it_is_one() {
        let id = EventId::parse(&notification_id("interlace", "e1")).unwrap();
        let event = EventId::parse("e1").unwrap();
        let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let original = notification_properties(&id, "interlace", &event, Some(trace));
        let at = Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap();
        let again = resend_properties(&id, "interlace", &event, Some(trace), at);
        assert!(!is_resend(&original));
        assert!(is_resend(&again));
        assert_eq!(again.message_id(), original.message_id());
        let headers = again.headers().clone().unwrap();
        assert_eq!(
            crate::wire::header_text(&headers, X_EVENT_ID).as_deref(),
            Some("e1")
        );
        assert_eq!(
            crate::wire::header_text(&headers, X_HOOKGATE_RESEND).as_deref(),
            Some("2026-12-06T10:00:00.000Z")
        );
        assert_eq!(
            crate::wire::header_text(&headers, "traceparent").as_deref(),
            Some(trace)
        );
    }

    #[test]
    fn message_has_the_spec_fields() {
        let (id, key, body) = notification_message(&NotificationFacts {
            source: "interlace",
            event_id: "e1",
            family: Family::Payout,
            object_id: "p1",
            account_id: None,
            previous_status: Some("closed"),
            status: &StatusToken::normalise("refunded").unwrap(),
            occurred_at: Utc.with_ymd_and_hms(2024, 2, 5, 10, 57, 4).unwrap(),
            resource_raw: br#"{"id":"p1","data":{"refundAmount":250.21}}"#,
        });
        assert_eq!(key.as_str(), "notify.payout.refunded");
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains(r#""refundAmount":250.21"#), "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["schemaVersion"], 1);
        assert_eq!(value["id"], id.as_str());
        assert_eq!(value["eventId"], "e1");
        assert_eq!(value["family"], "payout");
        assert_eq!(value["objectId"], "p1");
        assert_eq!(value["accountId"], serde_json::Value::Null);
        assert_eq!(value["previousStatus"], "closed");
        assert_eq!(value["status"], "refunded");
        assert_eq!(value["occurredAt"], "2024-02-05T10:57:04.000Z");
    }
}
