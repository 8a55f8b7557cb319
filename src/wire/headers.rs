//! Header names and header values: what hookgate puts on a message besides its body.

use crate::catalogue::{TraceParent, TRACEPARENT};
use lapin::{
    types::{AMQPValue, FieldTable},
    BasicProperties,
};

/// The source an event or notification came from.
pub const X_SOURCE: &str = "x-source";
/// On a notification: the event it notifies.
pub const X_EVENT_ID: &str = "x-event-id";
/// On a dead letter: the queue it failed in.
pub const X_HOOKGATE_QUEUE: &str = "x-hookgate-queue";
/// Failures so far; reset by a DLQ replay.
pub const X_HOOKGATE_ATTEMPTS: &str = "x-hookgate-attempts";
/// The last failure, at most 1 KiB.
pub const X_HOOKGATE_ERROR: &str = "x-hookgate-error";
pub const X_HOOKGATE_FAILED_AT: &str = "x-hookgate-failed-at";
/// On a notification an operator resent (SPEC 5): when the resend ran. The notifier POSTs it
/// even where the subscriber took it before.
pub const X_HOOKGATE_RESEND: &str = "x-hookgate-resend";
/// The headers a failure adds; a replay strips them so attempts start again.
pub const FAILURE_HEADERS: [&str; 4] = [
    X_HOOKGATE_ATTEMPTS,
    X_HOOKGATE_ERROR,
    X_HOOKGATE_FAILED_AT,
    X_HOOKGATE_QUEUE,
];

/// Puts a stored `traceparent` on a message, when it still reads as one (SPEC 7).
pub fn carry_trace(headers: &mut FieldTable, traceparent: Option<&str>) {
    if let Some(parent) = traceparent.and_then(TraceParent::parse) {
        headers.insert(TRACEPARENT.into(), text_value(&parent.header()));
    }
}

/// The `traceparent` a message carries, when it reads as one.
pub fn trace_of(properties: &BasicProperties) -> Option<TraceParent> {
    let headers = properties.headers().as_ref()?;
    TraceParent::parse(&header_text(headers, TRACEPARENT)?)
}

/// Text as a header or argument value.
pub fn text_value(text: &str) -> AMQPValue {
    AMQPValue::LongString(text.into())
}

/// A header or field value as text, whichever string type it was sent as.
pub fn value_text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

pub fn header_text(headers: &FieldTable, name: &str) -> Option<String> {
    headers.inner().get(name).and_then(value_text)
}

/// A header holding a whole number, whichever integer type it was sent as.
pub fn header_number(headers: &FieldTable, name: &str) -> Option<i64> {
    match headers.inner().get(name)? {
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        _ => None,
    }
}

/// Whether a message came from a retry tier: moving it there counted its attempts (a
/// deferral counts none, but writes the header all the same).
pub fn was_retried(properties: &BasicProperties) -> bool {
    properties
        .headers()
        .as_ref()
        .is_some_and(|headers| headers.inner().contains_key(X_HOOKGATE_ATTEMPTS))
}

/// A message's `message_id`, or empty when it has none.
pub fn message_id_of(properties: &BasicProperties) -> String {
    properties
        .message_id()
        .as_ref()
        .map(|id| id.to_string())
        .unwrap_or_default()
}

/// Failures this message went through before, as counted in its headers.
pub fn attempts(properties: &BasicProperties) -> i64 {
    properties
        .headers()
        .as_ref()
        .and_then(|headers| header_number(headers, X_HOOKGATE_ATTEMPTS))
        .unwrap_or(0)
}
