//! Every RabbitMQ name hookgate uses, derived from the configurable prefix (SPEC 4).

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    prefix: String,
}

impl Names {
    pub fn new(prefix: impl Into<String>) -> Names {
        Names {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn events(&self) -> String {
        format!("{}.events", self.prefix)
    }

    pub fn read_model(&self) -> String {
        format!("{}.read-model", self.prefix)
    }

    pub fn notifications(&self) -> String {
        format!("{}.notifications", self.prefix)
    }

    pub fn subscriber(&self, name: &str) -> String {
        format!("{}.notify.{name}", self.prefix)
    }

    pub fn retry(&self, queue: &str, tier: &RetryTier) -> String {
        format!("{queue}.retry.{}", tier.name)
    }

    pub fn dead(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    pub fn dlq(&self) -> String {
        format!("{}.dlq", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec() {
        let names = Names::new("hookgate");
        assert_eq!(names.events(), "hookgate.events");
        assert_eq!(names.read_model(), "hookgate.read-model");
        assert_eq!(names.notifications(), "hookgate.notifications");
        assert_eq!(names.subscriber("ledger"), "hookgate.notify.ledger");
        let tier = RetryTier::parse("10s").unwrap();
        assert_eq!(
            names.retry(&names.read_model(), &tier),
            "hookgate.read-model.retry.10s"
        );
        assert_eq!(names.dead(), "hookgate.dead");
        assert_eq!(names.dlq(), "hookgate.dlq");
    }

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
