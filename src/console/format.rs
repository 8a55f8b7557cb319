//! How the console writes times and durations: pure functions, no I/O.

use chrono::{DateTime, Utc};

/// `3 s ago`, `5 min ago`, `2 h ago`, `4 d ago`; `in 2 min` for a time ahead of `now`.
pub fn relative(time: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - time).num_seconds();
    let magnitude = seconds.unsigned_abs();
    let amount = match magnitude {
        0..=59 => format!("{magnitude} s"),
        60..=3_599 => format!("{} min", magnitude / 60),
        3_600..=86_399 => format!("{} h", magnitude / 3_600),
        _ => format!("{} d", magnitude / 86_400),
    };
    if seconds < 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// `2026-11-24 10:15:03 UTC`.
pub fn utc(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Seconds as `42 s`, `3 min 5 s`, `2 h 10 min`.
pub fn duration(seconds: f64) -> String {
    let whole = if seconds.is_finite() && seconds > 0.0 {
        seconds as u64
    } else {
        0
    };
    match whole {
        0..=59 => format!("{whole} s"),
        60..=3_599 => format!("{} min {} s", whole / 60, whole % 60),
        _ => format!("{} h {} min", whole / 3_600, (whole % 3_600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_utc_and_relative() {
        let now = DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        let at = |s: i64| now - chrono::Duration::seconds(s);
        assert_eq!(relative(at(5), now), "5 s ago");
        assert_eq!(relative(at(125), now), "2 min ago");
        assert_eq!(relative(at(7_300), now), "2 h ago");
        assert_eq!(relative(at(200_000), now), "2 d ago");
        assert_eq!(relative(at(-90), now), "in 1 min");
        assert_eq!(utc(now), "2025-11-24 16:00:00 UTC");
        assert_eq!(duration(185.4), "3 min 5 s");
        assert_eq!(duration(f64::NAN), "0 s");
    }
}
