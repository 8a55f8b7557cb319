//! The event message of SPEC 4.

use super::headers::{carry_trace, text_value, X_SOURCE};
use crate::{
    catalogue::{format_time, EventId, EventType, LimitError, RoutingKey},
    store::event_rows::EventRow,
};
use chrono::{DateTime, Utc};
use lapin::{types::FieldTable, BasicProperties};
use serde::{Deserialize, Serialize};
use serde_json::{value::RawValue, Value};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventMessage<'a> {
    schema_version: u8,
    id: &'a str,
    source: &'a str,
    event_type: &'a str,
    family: &'a str,
    status: Option<&'a str>,
    object_id: Option<&'a str>,
    account_id: Option<&'a str>,
    occurred_at: Option<String>,
    received_at: String,
    resource: &'a RawValue,
}

/// What an event message carries of its event, enough to store it again: a dead letter whose
/// inbox row went with its day (retention) is replayed from it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventCopy {
    pub id: String,
    pub source: String,
    pub event_type: String,
    pub occurred_at: Option<DateTime<Utc>>,
    /// The resource's bytes as the message embeds them: as signed, for a JSON resource.
    pub resource: Box<RawValue>,
}

impl EventCopy {
    /// `None` when the body is not a hookgate event message.
    pub fn read(body: &[u8]) -> Option<EventCopy> {
        serde_json::from_slice(body).ok()
    }
}

/// What a consumer reads of an event message: which inbox row it stands for.
#[derive(Debug, Deserialize)]
pub struct EventRef {
    pub id: String,
    pub source: String,
}

impl EventRef {
    /// `None` when the body is not a hookgate event message.
    pub fn read(body: &[u8]) -> Option<EventRef> {
        serde_json::from_slice(body).ok()
    }
}

/// A message ready to publish: every short-string value in it has been checked.
pub struct EventMessageParts {
    pub routing_key: RoutingKey,
    pub body: Vec<u8>,
    pub properties: BasicProperties,
}

/// Body, properties and routing key of the message for an inbox row. The resource is embedded
/// as the bytes that were signed, so amounts keep every digit they arrived with; a resource that
/// is not JSON travels as a JSON string. A row whose id, type or key does not fit AMQP's limits
/// (stored before they were enforced at the edge) has no message.
pub fn event_message(row: &EventRow) -> Result<EventMessageParts, LimitError> {
    let EventRow { key, reading, .. } = row;
    let message_id = EventId::parse(&key.event_id)?;
    let kind = EventType::parse(&key.event_type)?;
    let routing_key = RoutingKey::parse(&row.routing_key)?;
    let resource = std::str::from_utf8(&row.resource_raw)
        .ok()
        .and_then(|text| RawValue::from_string(text.to_owned()).ok())
        .unwrap_or_else(|| {
            let text = Value::from(String::from_utf8_lossy(&row.resource_raw)).to_string();
            RawValue::from_string(text).expect("a JSON string is JSON")
        });
    let body = serde_json::to_vec(&EventMessage {
        schema_version: 1,
        id: &key.event_id,
        source: &key.source,
        event_type: &key.event_type,
        family: reading.family.as_str(),
        status: reading.status.as_deref(),
        object_id: reading.object_id.as_deref(),
        account_id: reading.account_id.as_deref(),
        occurred_at: reading.occurred_at.as_ref().map(format_time),
        received_at: format_time(&row.received_at),
        resource: &resource,
    })
    .expect("message serialises");

    let mut headers = FieldTable::default();
    headers.insert(X_SOURCE.into(), text_value(key.source.as_str()));
    carry_trace(&mut headers, row.traceparent.as_deref());
    let properties = BasicProperties::default()
        .with_message_id(message_id.as_str().into())
        .with_type(kind.as_str().into())
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_timestamp(row.received_at.timestamp().max(0) as u64)
        .with_app_id("hookgate".into())
        .with_headers(headers);
    Ok(EventMessageParts {
        routing_key,
        body,
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        catalogue::Family,
        store::event_rows::{EventKey, ReadingColumns},
    };
    use chrono::TimeZone;

    fn row(resource: &[u8]) -> EventRow {
        EventRow {
            seq: 7,
            key: EventKey {
                source: "interlace".into(),
                event_id: "e-1".into(),
                event_type: "PAYOUT.UPDATED".into(),
            },
            reading: ReadingColumns {
                family: Family::Payout,
                status: Some("closed".into()),
                object_id: Some("p-1".into()),
                account_id: None,
                occurred_at: Some(Utc.with_ymd_and_hms(2024, 2, 5, 10, 57, 4).unwrap()),
            },
            routing_key: "payout.closed".into(),
            received_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            resource_raw: resource.to_vec(),
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
        }
    }

    #[test]
    fn message_has_the_spec_fields_and_the_resource_byte_for_byte() {
        let resource =
            br#"{"id":"p-1","data":{"fromAmount":2000.00000000,"toAmount":12345678901234.56}}"#;
        let EventMessageParts {
            body, properties, ..
        } = event_message(&row(resource)).unwrap();
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.ends_with(&format!(
                r#""resource":{}}}"#,
                std::str::from_utf8(resource).unwrap()
            )),
            "{text}"
        );
        let mut value: Value = serde_json::from_str(&text).unwrap();
        let resource = value.as_object_mut().unwrap().remove("resource").unwrap();
        // Every field SPEC 6 names, and no other.
        assert_eq!(
            value,
            serde_json::json!({
                "schemaVersion": 1, "id": "e-1", "source": "interlace",
                "eventType": "PAYOUT.UPDATED", "family": "payout", "status": "closed",
                "objectId": "p-1", "accountId": null,
                "occurredAt": "2024-02-05T10:57:04.000Z", "receivedAt": "2026-01-01T00:00:00.000Z",
            })
        );
        assert_eq!(resource["data"]["fromAmount"].to_string(), "2000.00000000");
        assert_eq!(properties.message_id().as_ref().unwrap().as_str(), "e-1");
        assert_eq!(
            properties.kind().as_ref().unwrap().as_str(),
            "PAYOUT.UPDATED"
        );
        assert_eq!(properties.delivery_mode(), &Some(2));
        assert_eq!(
            properties.content_type().as_ref().unwrap().as_str(),
            "application/json"
        );
        assert!(properties
            .headers()
            .as_ref()
            .unwrap()
            .inner()
            .contains_key(X_SOURCE));
        let headers = properties.headers().as_ref().unwrap();
        assert_eq!(
            super::super::headers::header_text(headers, "traceparent").as_deref(),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
    }

    #[test]
    fn a_stored_traceparent_that_does_not_read_is_left_off() {
        let mut bad = row(b"{}");
        bad.traceparent = Some("00-garbage".into());
        let properties = event_message(&bad).unwrap().properties;
        let headers = properties.headers().as_ref().unwrap();
        assert!(!headers.inner().contains_key("traceparent"));
    }

    #[test]
    fn a_resource_that_is_not_json_travels_as_a_string() {
        let body = event_message(&row(b"not json")).unwrap().body;
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["resource"], "not json");
    }

    #[test]
    fn a_row_with_values_beyond_amqp_limits_has_no_message() {
        let mut long_status = row(b"{}");
        long_status.routing_key = format!("transfer.{}", "s".repeat(5_000));
        let mut long_id = row(b"{}");
        long_id.key.event_id = "e".repeat(256);
        let mut long_type = row(b"{}");
        long_type.key.event_type = "T".repeat(300);
        let mut wildcard = row(b"{}");
        wildcard.routing_key = "transfer.closed.#".into();
        for bad in [long_status, long_id, long_type, wildcard] {
            assert!(event_message(&bad).is_err());
        }
    }
}
