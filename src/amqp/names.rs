//! Every RabbitMQ name hookgate uses, derived from the configurable prefix (SPEC 4).

use crate::settings::RetryTier;

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
}
