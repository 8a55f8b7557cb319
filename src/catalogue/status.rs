//! Status normalisation, ranks, terminal states and the rule that decides whether an event
//! moves an object's state forward.

use super::family::Family;
use chrono::{DateTime, Utc};
use std::cmp::Reverse;

/// `Closed` → `closed`, `PROOF_REQUIRED` → `proof_required`, `TransferIn` → `transfer_in`.
pub fn normalise_status(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 4);
    let mut previous: Option<char> = None;
    for c in raw.trim().chars() {
        if c == '-' || c == ' ' || c == '_' {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
        } else if c.is_uppercase() {
            if previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        previous = Some(c);
    }
    out
}

/// Position of a (normalised) status in its family's order; unlisted values rank with pending.
pub fn rank(family: Family, status: &str) -> u8 {
    let Some(facts) = family.facts() else {
        return 0;
    };
    let find = |wanted: &str| {
        facts
            .levels
            .iter()
            .position(|level| level.contains(&wanted))
            .map(|p| p as u8)
    };
    find(status)
        .or_else(|| find(facts.unlisted_ranks_as))
        .unwrap_or(0)
}

/// Terminal states never regress. A payout's `closed` is final too, except that a refund
/// may follow it (a later terminal).
pub fn is_terminal(family: Family, status: &str) -> bool {
    family
        .facts()
        .is_some_and(|facts| facts.terminal.contains(&status))
}

/// An event as far as ordering is concerned: an object's state is the point of the event it
/// came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatePoint<'a> {
    pub status: &'a str,
    pub occurred_at: DateTime<Utc>,
    pub event_id: &'a str,
}

/// Where an event stands in its object's total order (SPEC 3). Keys compare field by field:
/// class, then time (the later among non-terminals, the earlier within a terminal class), then
/// rank, then event id, so that any two distinct events are ordered the same way everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrderKey<'a> {
    class: u8,
    time: TimeOrder,
    rank: u8,
    event_id: &'a str,
}

/// Only keys of one class meet at the time field, so both variants never compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimeOrder {
    /// Non-terminal: the later occurred-at is greater.
    LaterWins(DateTime<Utc>),
    /// Terminal: the first final fact stands, so the earlier occurred-at is greater.
    EarlierWins(Reverse<DateTime<Utc>>),
}

/// 0 non-terminal, 1 terminal, 2 a terminal that may follow a terminal (a payout's refund).
fn class(family: Family, status: &str) -> u8 {
    let after_terminal = family.facts().and_then(|facts| facts.after_terminal);
    match status {
        _ if after_terminal == Some(status) => 2,
        _ if is_terminal(family, status) => 1,
        _ => 0,
    }
}

impl<'a> OrderKey<'a> {
    pub fn of(family: Family, point: &StatePoint<'a>) -> OrderKey<'a> {
        let class = class(family, point.status);
        OrderKey {
            class,
            time: if class == 0 {
                TimeOrder::LaterWins(point.occurred_at)
            } else {
                TimeOrder::EarlierWins(Reverse(point.occurred_at))
            },
            rank: rank(family, point.status),
            event_id: point.event_id,
        }
    }
}

/// Whether `incoming` replaces `stored` (SPEC 3): it applies when it is greater than the event
/// the stored state came from. The state is therefore the greatest event, whatever the order
/// events arrive in, and an event applied twice changes nothing.
pub fn applies(family: Family, stored: Option<StatePoint<'_>>, incoming: StatePoint<'_>) -> bool {
    stored.is_none_or(|stored| OrderKey::of(family, &incoming) > OrderKey::of(family, &stored))
}

/// State points at whole seconds of one day, for tests of ordering here and in projection.
#[cfg(test)]
pub(crate) mod testing {
    use super::StatePoint;
    use chrono::{DateTime, TimeZone, Utc};

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, second).unwrap()
    }

    /// One event id for every point: points that differ only by id are the same event.
    pub fn point(status: &str, second: u32) -> StatePoint<'_> {
        StatePoint {
            status,
            occurred_at: at(second),
            event_id: "e",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::point;
    use super::*;

    #[test]
    fn normalises_to_lower_snake_case() {
        let cases = [
            ("Closed", "closed"),
            ("PROOF_REQUIRED", "proof_required"),
            ("REFUNDED", "refunded"),
            ("TransferIn", "transfer_in"),
            ("proof-required", "proof_required"),
            ("Na", "na"),
            (" Pending ", "pending"),
            ("already_snake", "already_snake"),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalise_status(raw), expected, "{raw}");
        }
    }

    #[test]
    fn ranks_follow_the_documented_order() {
        assert_eq!(rank(Family::Transfer, "pending"), 0);
        assert_eq!(rank(Family::Transfer, "closed"), 1);
        assert_eq!(rank(Family::Transfer, "fail"), 1);
        assert_eq!(rank(Family::Transfer, "processing"), 0);
        assert!(rank(Family::Payout, "created") < rank(Family::Payout, "pending"));
        assert!(rank(Family::Payout, "pending") < rank(Family::Payout, "proof_required"));
        assert!(rank(Family::Payout, "proof_required") < rank(Family::Payout, "closed"));
        assert!(rank(Family::Payout, "closed") < rank(Family::Payout, "refunded"));
        assert!(rank(Family::Kyc, "request") < rank(Family::Kyc, "passed"));
        assert!(
            rank(Family::FaceAuthentication, "pending") < rank(Family::FaceAuthentication, "fail")
        );
    }

    #[test]
    fn first_event_always_applies() {
        assert!(applies(Family::Transfer, None, point("closed", 0)));
    }

    /// `(why, family, stored (status, second), incoming (status, second), applies)`.
    type Case = (
        &'static str,
        Family,
        (&'static str, u32),
        (&'static str, u32),
        bool,
    );

    #[rustfmt::skip]
    const CASES: &[Case] = &[
        ("later time wins", Family::Transfer, ("pending", 1), ("closed", 2), true),
        ("earlier time loses", Family::Transfer, ("closed", 2), ("pending", 1), false),
        ("earlier time loses", Family::Kyc, ("passed", 5), ("pending", 4), false),
        ("equal time: higher rank", Family::Transfer, ("pending", 1), ("closed", 1), true),
        ("equal time: lower rank", Family::Transfer, ("closed", 1), ("pending", 1), false),
        ("the same point again", Family::Transfer, ("pending", 1), ("pending", 1), false),
        ("same status, newer data", Family::Kyc, ("pending", 1), ("pending", 2), true),
        ("terminal stays", Family::Transfer, ("closed", 1), ("pending", 9), false),
        ("terminal stays", Family::Transfer, ("closed", 1), ("fail", 9), false),
        ("terminal stays", Family::Card, ("deleted", 1), ("active", 9), false),
        ("refund stays", Family::Payout, ("refunded", 1), ("closed", 9), false),
        ("terminal stays", Family::Payout, ("closed", 1), ("pending", 9), false),
        ("refund follows close", Family::Payout, ("closed", 1), ("refunded", 1), true),
        ("refund follows close", Family::Payout, ("closed", 1), ("refunded", 3), true),
        ("close never follows refund", Family::Payout, ("refunded", 1), ("closed", 1), false),
        ("a check starts again", Family::Kyc, ("passed", 1), ("pending", 2), true),
        ("a check starts again", Family::Kyb, ("canceled", 1), ("request", 2), true),
        ("a check starts again", Family::FaceAuthentication, ("fail", 1), ("pending", 2), true),
        // SPEC 3: closed at .100 and a pending a skewed clock stamped .150, in either order.
        ("terminal beats skewed later", Family::Transfer, ("pending", 2), ("closed", 1), true),
        ("terminal beats skewed later", Family::Transfer, ("closed", 1), ("pending", 2), false),
        ("earlier terminal fact stands", Family::Transfer, ("fail", 5), ("closed", 3), true),
        ("earlier terminal fact stands", Family::Transfer, ("closed", 3), ("fail", 5), false),
        // A refund stamped a little before the payout's `closed` still applies.
        ("refund before close", Family::Payout, ("closed", 5), ("refunded", 4), true),
        ("cards follow time", Family::Card, ("frozen", 1), ("active", 2), true),
        ("until deleted", Family::Account, ("active", 1), ("deleted", 2), true),
    ];

    #[test]
    fn the_ordering_rules_decide_each_case() {
        for &(why, family, stored, incoming, expected) in CASES {
            let stored = point(stored.0, stored.1);
            let incoming = point(incoming.0, incoming.1);
            assert_eq!(
                applies(family, Some(stored), incoming),
                expected,
                "{why}: {family} {stored:?} then {incoming:?}"
            );
        }
    }

    #[test]
    fn ties_go_to_the_greater_event_id() {
        let a = StatePoint {
            event_id: "a",
            ..point("pending", 1)
        };
        let b = StatePoint {
            event_id: "b",
            ..point("pending", 1)
        };
        assert!(applies(Family::Transfer, Some(a), b));
        assert!(!applies(Family::Transfer, Some(b), a));
        assert!(
            !applies(Family::Transfer, Some(a), a),
            "the same event again"
        );
    }
}
