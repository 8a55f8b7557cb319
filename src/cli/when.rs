//! The times `--since` and `--until` take: RFC 3339, a date, or a duration ago. All in UTC
//! unless the text carries its own offset.

use crate::catalogue::{parse_age, parse_time_str, within_stored_years};
use chrono::{DateTime, NaiveDate, Utc};

const HELP: &str = "RFC 3339 (2026-11-23T10:00:00Z, or with its own offset), a date \
(2026-11-23: midnight UTC), Unix milliseconds, or a duration ago (45s, 30m, 2h, 3d, 1w); \
times without an offset are UTC";

/// The instant `text` names, `now` being the reference for durations ago.
pub fn parse_when(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    let refuse = || format!("{text:?} is not a time: give {HELP}");
    if let Some(ago) = parse_age(text) {
        return now.checked_sub_signed(ago?).ok_or_else(refuse);
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let midnight = date.and_hms_opt(0, 0, 0).ok_or_else(refuse)?.and_utc();
        return if within_stored_years(&midnight) {
            Ok(midnight)
        } else {
            Err(refuse())
        };
    }
    parse_time_str(text).map_err(|_| refuse())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        parse_time_str("2026-11-23T12:00:00Z").unwrap()
    }

    #[test]
    fn each_form_names_its_instant() {
        for (text, expected) in [
            ("2h", "2026-11-23T10:00:00Z"),
            ("3d", "2026-11-20T12:00:00Z"),
            ("90s", "2026-11-23T11:58:30Z"),
            ("1w", "2026-11-16T12:00:00Z"),
            ("2026-11-01", "2026-11-01T00:00:00Z"),
            ("2026-11-23T08:00:00+02:00", "2026-11-23T06:00:00Z"),
            ("2026-11-23 08:00:00", "2026-11-23T08:00:00Z"),
        ] {
            assert_eq!(
                parse_when(text, now()).unwrap(),
                parse_time_str(expected).unwrap(),
                "{text}"
            );
        }
    }

    #[test]
    fn what_is_not_a_time_is_refused_with_the_forms_that_are() {
        for text in [
            "yesterday",
            "2h30m",
            "h",
            "-2h",
            "2026-13-01",
            "99999999999999999999d",
        ] {
            let error = parse_when(text, now()).unwrap_err();
            assert!(
                error.contains(text) || error.contains("further back"),
                "{error}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_text_gives_a_time_or_a_refusal(text in ".{0,40}") {
            let _ = parse_when(&text, now());
        }
    }
}
