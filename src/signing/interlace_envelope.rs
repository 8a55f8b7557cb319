//! The Interlace envelope, parsed into bounded types before anything else (SPEC 2.1, 2.3a).
//! Nothing in it is signed but the resource string, so every other field is borrowed from the
//! body and checked against its limit while parsing: a hostile `createTime` (an array of half
//! a million zeros, say) is refused without a value tree being built for it.

use crate::catalogue::{parse_time_str, EventId, EventType, LimitError};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Longest `createTime` string accepted, in bytes.
pub const MAX_CREATE_TIME_BYTES: usize = 32;
/// Most digits of a numeric `createTime`.
pub const MAX_CREATE_TIME_DIGITS: usize = 20;

/// An envelope whose fields are within their limits; `resource` is the signed content.
#[derive(Debug)]
pub struct Envelope {
    pub event_id: EventId,
    pub event_type: EventType,
    pub resource: String,
    /// `None` when absent or null, or when it is in bounds but not a readable time.
    pub create_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Where the JSON broke, or which field is missing or of the wrong kind.
    #[error("{0}")]
    Unreadable(String),
    #[error(transparent)]
    OutOfBounds(#[from] LimitError),
    #[error("createTime must be a string of at most {MAX_CREATE_TIME_BYTES} bytes or a number of at most {MAX_CREATE_TIME_DIGITS} digits")]
    BadCreateTime,
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "eventType", borrow)]
    event_type: Cow<'a, str>,
    resource: String,
    #[serde(rename = "createTime", borrow)]
    create_time: Option<&'a RawValue>,
}

/// Parses a body into an [`Envelope`].
pub fn parse(body: &[u8]) -> Result<Envelope, EnvelopeError> {
    let raw: Raw<'_> = serde_json::from_slice(body).map_err(|error| {
        EnvelopeError::Unreadable(super::json_error_text(
            &error,
            "envelope needs string fields id, eventType and resource",
        ))
    })?;
    // The cheap bounds first: what fails them costs nothing more.
    let create_time = raw.create_time.map(create_time).transpose()?.flatten();
    Ok(Envelope {
        event_id: EventId::parse(&raw.id)?,
        event_type: EventType::parse(&raw.event_type)?,
        resource: raw.resource,
        create_time,
    })
}

/// A `createTime` within its bounds, read as a time when it is one.
fn create_time(raw: &RawValue) -> Result<Option<DateTime<Utc>>, EnvelopeError> {
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if digits.len() > MAX_CREATE_TIME_DIGITS {
            return Err(EnvelopeError::BadCreateTime);
        }
        return Ok(parse_time_str(text).ok());
    }
    // A string: escapes take at most six bytes a character, so anything longer is refused
    // before it is decoded.
    if !text.starts_with('"') || text.len() > MAX_CREATE_TIME_BYTES * 6 + 2 {
        return Err(EnvelopeError::BadCreateTime);
    }
    let decoded: Cow<'_, str> =
        serde_json::from_str(text).map_err(|_| EnvelopeError::BadCreateTime)?;
    if decoded.len() > MAX_CREATE_TIME_BYTES {
        return Err(EnvelopeError::BadCreateTime);
    }
    Ok(parse_time_str(&decoded).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_create_time(create_time: &str) -> String {
        format!(
            r#"{{"id":"e1","eventType":"KYC.UPDATED","resource":"{{}}","createTime":{create_time}}}"#
        )
    }

    #[test]
    fn strings_and_numbers_within_bounds_are_read() {
        for (value, read) in [
            (r#""1756879969964""#, Some(1_756_879_969_964)),
            ("1756879969964", Some(1_756_879_969_964)),
            (r#""2023-03-01T08:23:05.033Z""#, Some(1_677_658_985_033)),
            ("null", None),
            (r#""not a time""#, None),
            ("99999999999999999999", None),
        ] {
            let envelope = parse(with_create_time(value).as_bytes()).unwrap();
            assert_eq!(
                envelope.create_time.map(|t| t.timestamp_millis()),
                read,
                "{value}"
            );
        }
        let absent = r#"{"id":"e1","eventType":"KYC.UPDATED","resource":"{}"}"#;
        assert_eq!(parse(absent.as_bytes()).unwrap().create_time, None);
    }

    #[test]
    fn anything_else_is_refused() {
        let zeros = format!("[{}]", vec!["0"; 480_000].join(","));
        for value in [
            zeros.as_str(),
            "{}",
            "true",
            "1.5",
            "1e12",
            "123456789012345678901",
            r#""123456789012345678901234567890123""#,
        ] {
            assert_eq!(
                parse(with_create_time(value).as_bytes()).unwrap_err(),
                EnvelopeError::BadCreateTime,
                "{:.40}",
                value
            );
        }
    }

    #[test]
    fn missing_or_out_of_bounds_fields_are_refused() {
        for body in [
            "not json",
            r#"{"eventType":"T.U","resource":"{}"}"#,
            r#"{"id":"e","eventType":"T.U","resource":{"id":1}}"#,
            r#"{"id":"","eventType":"T.U","resource":"{}"}"#,
            r#"{"id":"e","eventType":"T U","resource":"{}"}"#,
        ] {
            assert!(parse(body.as_bytes()).is_err(), "{body}");
        }
    }

    proptest! {
        #[test]
        fn any_create_time_is_read_or_refused_within_bounds(value in "\\PC{0,80}") {
            let body = with_create_time(&serde_json::Value::from(value.clone()).to_string());
            match parse(body.as_bytes()) {
                Ok(_) => prop_assert!(value.len() <= MAX_CREATE_TIME_BYTES),
                Err(error) => {
                    prop_assert_eq!(error, EnvelopeError::BadCreateTime);
                    prop_assert!(value.len() > MAX_CREATE_TIME_BYTES);
                }
            }
        }
    }
}
