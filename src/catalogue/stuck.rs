//! Which objects can be stuck (SPEC 5): in payments the incident is often silence, an object
//! that went `pending` and never heard again. A family's waiting statuses are those in which
//! the platform still owes the object a decision.

use super::{parse_age, Family};
use chrono::Duration;

/// How long an object may wait in a waiting status before it counts as stuck, when the
/// configuration names no threshold for its family (`[stuck_after]`).
pub const DEFAULT_STUCK_AFTER: Duration = Duration::hours(24);

/// A threshold as `[stuck_after]`, `olderThan` and `--older-than` take it: a positive age
/// (`90s`, `30m`, `2h`, `3d`); `None` for anything else.
pub fn parse_threshold(text: &str) -> Option<Duration> {
    match parse_age(text.trim()) {
        Some(Ok(age)) if age > Duration::zero() => Some(age),
        _ => None,
    }
}

/// A family's waiting statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Every status but these (its terminal ones): the transaction-like families.
    AnyBut(&'static [&'static str]),
    /// Only these.
    OneOf(&'static [&'static str]),
}

impl Family {
    /// The statuses in which an object of the family waits for the platform; `None` for the
    /// families that are never stuck (cards and accounts live on, they do not conclude).
    pub fn waiting(self) -> Option<Waiting> {
        match self {
            Family::Transfer
            | Family::CardTransaction
            | Family::BudgetTransaction
            | Family::CryptoDeposit
            | Family::CryptoWithdrawal
            | Family::GlobalAccountTransaction => Some(Waiting::AnyBut(
                self.facts().map_or(&[], |facts| facts.terminal),
            )),
            Family::Payout => Some(Waiting::OneOf(&["created", "pending", "proof_required"])),
            Family::Kyc | Family::Kyb => Some(Waiting::OneOf(&["pending", "request"])),
            Family::FaceAuthentication => Some(Waiting::OneOf(&["pending"])),
            Family::Card | Family::Account | Family::Unknown => None,
        }
    }

    /// The families whose objects can be stuck, in catalogue order.
    pub fn that_wait() -> impl Iterator<Item = Family> {
        Family::KNOWN
            .into_iter()
            .filter(|family| family.waiting().is_some())
    }
}

impl Waiting {
    /// Whether an object in `status` waits.
    pub fn holds(self, status: &str) -> bool {
        match self {
            Waiting::AnyBut(concluded) => !concluded.contains(&status),
            Waiting::OneOf(waiting) => waiting.contains(&status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiting_statuses_are_spec_5s() {
        let waits =
            |family: Family, status: &str| family.waiting().is_some_and(|w| w.holds(status));
        assert!(waits(Family::Transfer, "pending"));
        assert!(
            waits(Family::Transfer, "processing"),
            "any non-terminal value"
        );
        assert!(!waits(Family::Transfer, "closed"));
        assert!(!waits(Family::CryptoWithdrawal, "fail"));
        for status in ["created", "pending", "proof_required"] {
            assert!(waits(Family::Payout, status), "{status}");
        }
        assert!(!waits(Family::Payout, "refunded"));
        assert!(waits(Family::Kyc, "request") && waits(Family::Kyb, "pending"));
        assert!(!waits(Family::Kyc, "na") && !waits(Family::Kyc, "passed"));
        assert!(waits(Family::FaceAuthentication, "pending"));
        assert!(!waits(Family::FaceAuthentication, "na"));
        assert!(Family::Card.waiting().is_none() && Family::Account.waiting().is_none());
        assert_eq!(Family::that_wait().count(), 10);
    }
}
