//! The three time formats the platform uses, all parsed to UTC.

use super::limits::quote;
use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDateTime, SecondsFormat, TimeZone, Utc,
};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("time {0} is not ISO-8601, `YYYY-MM-DD hh:mm:ss.fff+hh` or Unix milliseconds")]
    Unreadable(String),
    #[error("time {0} is outside years 1-9999, the range hookgate stores")]
    OutOfRange(String),
}

/// Years PostgreSQL stores and hookgate formats without surprises (SPEC 2.3a).
const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// Parses `2023-03-01T08:23:05.033Z`, `2024-02-05 18:57:04.091+08` or `"1756879969964"`
/// (Unix milliseconds, as a string or a JSON number).
pub fn parse_time(value: &Value) -> Result<DateTime<Utc>, TimeError> {
    match value {
        Value::String(s) => parse_time_str(s),
        Value::Number(n) => parse_time_str(&n.to_string()),
        other => Err(TimeError::Unreadable(quote(&other.to_string()))),
    }
}

/// Whether a time lies in the years hookgate stores.
pub fn within_stored_years(time: &DateTime<Utc>) -> bool {
    YEARS.contains(&time.year())
}

/// Parses a time and checks that it lies in years 1–9999.
pub fn parse_time_str(text: &str) -> Result<DateTime<Utc>, TimeError> {
    let text = text.trim();
    let time = read_time(text).ok_or_else(|| TimeError::Unreadable(quote(text)))?;
    if within_stored_years(&time) {
        Ok(time)
    } else {
        Err(TimeError::OutOfRange(quote(text)))
    }
}

fn read_time(text: &str) -> Option<DateTime<Utc>> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let millis: i64 = text.parse().ok()?;
        return Utc.timestamp_millis_opt(millis).single();
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    parse_space_separated(text)
}

/// `2024-02-05 18:57:04.091+08`: a space instead of `T`, and an offset that may be `+08`,
/// `+0800` or `+08:00`; without an offset the time is taken as UTC.
fn parse_space_separated(text: &str) -> Option<DateTime<Utc>> {
    let (date, time) = text.split_once([' ', 'T'])?;
    let (clock, offset) = match time.rfind(['+', '-']) {
        Some(at) => (&time[..at], Some(parse_offset(&time[at..])?)),
        None => (time.strip_suffix('Z').unwrap_or(time), None),
    };
    let naive =
        NaiveDateTime::parse_from_str(&format!("{date} {clock}"), "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let offset = offset.unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

fn parse_offset(text: &str) -> Option<FixedOffset> {
    let sign = if text.starts_with('-') { -1 } else { 1 };
    let digits: String = text[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// The form hookgate writes times in: RFC 3339, UTC, milliseconds like the platform's own
/// times, and more digits only when the time has them (so nothing is lost).
pub fn format_time(time: &DateTime<Utc>) -> String {
    let format = if time.timestamp_subsec_nanos().is_multiple_of(1_000_000) {
        SecondsFormat::Millis
    } else {
        SecondsFormat::AutoSi
    };
    time.to_rfc3339_opts(format, true)
}

/// An age or a duration as people write it: digits and one unit, `s`, `m`, `h`, `d` or `w`
/// (`45s`, `30m`, `2h`, `3d`, `1w`). `None` when `text` is not of that form; `Err` inside when
/// it overflows.
pub fn parse_age(text: &str) -> Option<Result<Duration, String>> {
    let unit = text.chars().last()?;
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds_per: i64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    let too_long = || format!("{text:?} is longer than a time can span");
    Some(
        digits
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(seconds_per))
            .and_then(Duration::try_seconds)
            .ok_or_else(too_long),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn iso_8601_and_space_separated_with_short_offsets() {
        let cases = [
            ("2023-03-01T08:23:05.033Z", "2023-03-01T08:23:05.033Z"),
            ("2023-03-01T10:23:05+02:00", "2023-03-01T08:23:05Z"),
            ("2024-02-05 18:57:04.091+08", "2024-02-05T10:57:04.091Z"),
            ("2024-02-05 18:57:04-0130", "2024-02-05T20:27:04Z"),
            ("2024-02-05 18:57:04.5", "2024-02-05T18:57:04.5Z"),
        ];
        for (sent, meant) in cases {
            assert_eq!(parse_time_str(sent).unwrap(), utc(meant), "{sent}");
        }
    }

    #[test]
    fn unix_milliseconds_as_string_or_number() {
        let expected = utc("2025-09-03T06:12:49.964Z");
        assert_eq!(parse_time(&Value::from("1756879969964")).unwrap(), expected);
        let number: Value = serde_json::from_str("1756879969964").unwrap();
        assert_eq!(parse_time(&number).unwrap(), expected);
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01 00:00:00",
            "2024-02-05 18:57:04+8x",
            "12:00",
        ] {
            assert!(parse_time_str(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse_time(&Value::Null).is_err());
    }

    #[test]
    fn times_outside_the_stored_years_are_refused_not_wrapped() {
        for far in [
            "-5000-01-01T00:00:00Z",
            "0000-12-31T23:59:59Z",
            "99999999999999999",
            "+10000-01-01T00:00:00Z",
        ] {
            assert!(parse_time_str(far).is_err(), "{far}");
        }
        assert!(matches!(
            parse_time_str("300000000000000"),
            Err(TimeError::OutOfRange(_))
        ));
        assert!(parse_time_str("0001-01-01T00:00:00Z").is_ok());
        assert!(parse_time_str("9999-12-31T23:59:59.999Z").is_ok());
    }

    #[test]
    fn errors_do_not_echo_a_long_value() {
        let error = parse_time_str(&"9".repeat(300_000).replace('9', "x")).unwrap_err();
        assert!(error.to_string().len() < 300, "{error}");
    }

    #[test]
    fn formats_in_utc_with_needed_precision() {
        assert_eq!(
            format_time(&utc("2023-03-01T08:23:05.033Z")),
            "2023-03-01T08:23:05.033Z"
        );
        assert_eq!(
            format_time(&utc("2021-02-25T15:02:10Z")),
            "2021-02-25T15:02:10.000Z"
        );
        assert_eq!(
            format_time(&utc("2021-02-25T15:02:10.123456Z")),
            "2021-02-25T15:02:10.123456Z"
        );
    }
}
