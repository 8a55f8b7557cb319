//! What a dead letter says about itself: the facts the DLQ index keeps and the DLQ tools show,
//! read from the message's properties, the failure headers hookgate adds and the body.

use super::headers::{
    attempts, header_text, value_text, X_EVENT_ID, X_HOOKGATE_ERROR, X_HOOKGATE_FAILED_AT,
    X_HOOKGATE_QUEUE, X_SOURCE,
};
use crate::{catalogue::parse_time_str, store::dlq_index::DeadLetterFacts};
use chrono::Utc;
use lapin::{
    types::{AMQPValue, FieldTable},
    BasicProperties,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The facts of a message carrying hookgate's dead-letter headers; `None` without
/// `x-hookgate-queue`, for a message hookgate did not dead-letter.
pub fn read_dead_letter(properties: &BasicProperties, body: &[u8]) -> Option<DeadLetterFacts> {
    let headers = properties.headers().clone().unwrap_or_default();
    let queue = header_text(&headers, X_HOOKGATE_QUEUE)?;
    Some(dead_letter_from(queue, properties, body))
}

/// The facts of a message dead-lettered from `queue`.
pub fn dead_letter_from(
    queue: String,
    properties: &BasicProperties,
    body: &[u8],
) -> DeadLetterFacts {
    let headers = properties.headers().clone().unwrap_or_default();
    let header = |name: &str| header_text(&headers, name);
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let body_text = |field: &str| json.get(field).and_then(Value::as_str).map(str::to_owned);
    let message_id = properties
        .message_id()
        .as_ref()
        .map(|id| id.to_string())
        .unwrap_or_else(|| hex::encode(Sha256::digest(body)));
    DeadLetterFacts {
        queue,
        event_id: header(X_EVENT_ID)
            .or_else(|| body_text("eventId"))
            .or_else(|| body_text("id"))
            .unwrap_or_else(|| message_id.clone()),
        message_id,
        source: header(X_SOURCE).or_else(|| body_text("source")),
        event_type: properties
            .kind()
            .as_ref()
            .map(|kind| kind.to_string())
            .or_else(|| body_text("eventType")),
        family: body_text("family"),
        attempts: attempts(properties),
        error: header(X_HOOKGATE_ERROR).unwrap_or_default(),
        failed_at: header(X_HOOKGATE_FAILED_AT)
            .and_then(|at| parse_time_str(&at).ok())
            .unwrap_or_else(Utc::now),
        headers: headers_json(&headers),
        body: body.to_vec(),
    }
}

/// Headers as JSON, numbers as numbers and everything else as text.
pub fn headers_json(headers: &FieldTable) -> Map<String, Value> {
    headers
        .inner()
        .iter()
        .map(|(name, value)| {
            let json = match value {
                AMQPValue::LongLongInt(n) => Value::from(*n),
                AMQPValue::LongInt(n) => Value::from(*n),
                other => value_text(other)
                    .map(Value::from)
                    .unwrap_or_else(|| Value::from(format!("{other:?}"))),
            };
            (name.to_string(), json)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{text_value, X_HOOKGATE_ATTEMPTS};
    use lapin::types::ShortString;

    fn dead(message_id: Option<&str>) -> BasicProperties {
        let mut headers = FieldTable::default();
        headers.insert(X_HOOKGATE_QUEUE.into(), text_value("hookgate.read-model"));
        headers.insert(X_HOOKGATE_ATTEMPTS.into(), AMQPValue::LongLongInt(3));
        headers.insert(X_HOOKGATE_ERROR.into(), text_value("unfit: amount"));
        headers.insert(
            X_HOOKGATE_FAILED_AT.into(),
            text_value("2026-11-23T10:00:00.000Z"),
        );
        headers.insert(X_SOURCE.into(), text_value("interlace"));
        let properties = BasicProperties::default()
            .with_headers(headers)
            .with_type(ShortString::from("TRANSFER.UPDATED"));
        match message_id {
            Some(id) => properties.with_message_id(id.into()),
            None => properties,
        }
    }

    #[test]
    fn a_dead_letter_reads_its_queue_failure_and_event() {
        let body = br#"{"id":"evt-1","family":"transfer"}"#;
        let facts = read_dead_letter(&dead(Some("evt-1")), body).unwrap();
        assert_eq!(facts.queue, "hookgate.read-model");
        assert_eq!(facts.message_id, "evt-1");
        assert_eq!(facts.event_id, "evt-1");
        assert_eq!(facts.source.as_deref(), Some("interlace"));
        assert_eq!(facts.event_type.as_deref(), Some("TRANSFER.UPDATED"));
        assert_eq!(facts.family.as_deref(), Some("transfer"));
        assert_eq!(facts.attempts, 3);
        assert_eq!(facts.error, "unfit: amount");
        assert_eq!(
            facts.failed_at,
            parse_time_str("2026-11-23T10:00:00Z").unwrap()
        );
        assert_eq!(facts.headers["x-hookgate-attempts"], Value::from(3));
    }

    #[test]
    fn without_a_message_id_the_key_is_the_body_hash_and_stays_the_same() {
        let body = b"not json";
        let once = read_dead_letter(&dead(None), body).unwrap();
        let again = read_dead_letter(&dead(None), body).unwrap();
        assert_eq!(once.message_id.len(), 64);
        assert_eq!(once.message_id, again.message_id);
        assert_eq!(once.event_id, once.message_id);
    }

    #[test]
    fn a_message_without_the_queue_header_is_not_a_dead_letter() {
        assert!(read_dead_letter(&BasicProperties::default(), b"{}").is_none());
    }
}
