//! A retry tier as configured: how long a failed message waits before its next try. Part of
//! each retry queue's name (SPEC 4), so it keeps the text it was written as.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryTier {
    /// As written in the configuration and in queue names: `1s`, `10m`, `1h`, `500ms`.
    pub name: String,
    pub ttl: Duration,
}

impl RetryTier {
    pub fn parse(text: &str) -> Option<RetryTier> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit())?;
        let (number, unit) = text.split_at(split);
        let number: u64 = number.parse().ok()?;
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return None,
        };
        // RabbitMQ takes x-message-ttl up to 2^32 - 1 ms (about 49 days).
        let millis = number
            .checked_mul(millis_per_unit)
            .filter(|ms| *ms <= u64::from(u32::MAX))?;
        let ttl = Duration::from_millis(millis);
        (number > 0).then(|| RetryTier {
            name: text.to_owned(),
            ttl,
        })
    }

    pub fn defaults() -> Vec<RetryTier> {
        ["1s", "10s", "1m", "10m", "1h"]
            .iter()
            .map(|t| RetryTier::parse(t).expect("valid default tier"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_parse_with_units() {
        let ttls: Vec<u64> = RetryTier::defaults()
            .iter()
            .map(|t| t.ttl.as_millis() as u64)
            .collect();
        assert_eq!(ttls, [1_000, 10_000, 60_000, 600_000, 3_600_000]);
        assert_eq!(
            RetryTier::parse("250ms").unwrap().ttl,
            Duration::from_millis(250)
        );
        for bad in [
            "",
            "s",
            "10",
            "10d",
            "0s",
            "-1s",
            "1.5s",
            "50d",
            "1200h",
            "99999999999999999999h",
            "18446744073709551615h",
        ] {
            assert!(RetryTier::parse(bad).is_none(), "{bad}");
        }
    }
}
