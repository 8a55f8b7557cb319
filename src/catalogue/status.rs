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

/// Each family's states in order; states on one level share a rank.
fn levels(family: Family) -> &'static [&'static [&'static str]] {
    match family {
        Family::Transfer
        | Family::CardTransaction
        | Family::BudgetTransaction
        | Family::CryptoDeposit
        | Family::CryptoWithdrawal
        | Family::GlobalAccountTransaction => &[&["pending"], &["closed", "fail"]],
        Family::Payout => &[
            &["created"],
            &["pending"],
            &["proof_required"],
            &["closed", "rejected", "failed"],
            &["refunded"],
        ],
        Family::Kyc | Family::Kyb => {
            &[&["na"], &["pending"], &["request"], &["passed", "canceled"]]
        }
        Family::FaceAuthentication => &[&["na"], &["pending"], &["success", "fail"]],
        Family::Card | Family::Account => &[&["active"], &["frozen"], &["inactive"], &["deleted"]],
        Family::Unknown => &[],
    }
}

/// The status an unlisted value ranks with.
fn fallback_status(family: Family) -> &'static str {
    match family {
        Family::Card | Family::Account => "active",
        _ => "pending",
    }
}

/// Position of a (normalised) status in its family's order; unlisted values rank with pending.
pub fn rank(family: Family, status: &str) -> u8 {
    let find = |wanted: &str| {
        levels(family)
            .iter()
            .position(|level| level.contains(&wanted))
            .map(|p| p as u8)
    };
    find(status)
        .or_else(|| find(fallback_status(family)))
        .unwrap_or(0)
}

/// Terminal states never regress. A payout's `closed` is final too, except that a refund
/// may follow it (a later terminal).
pub fn is_terminal(family: Family, status: &str) -> bool {
    match family {
        Family::Transfer
        | Family::CardTransaction
        | Family::BudgetTransaction
        | Family::CryptoDeposit
        | Family::CryptoWithdrawal
        | Family::GlobalAccountTransaction => matches!(status, "closed" | "fail"),
        Family::Payout => matches!(status, "closed" | "refunded" | "rejected" | "failed"),
        Family::Card | Family::Account => status == "deleted",
        Family::Kyc | Family::Kyb | Family::FaceAuthentication | Family::Unknown => false,
    }
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
    match (family, status) {
        (Family::Payout, "refunded") => 2,
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

    #[test]
    fn later_time_wins_and_earlier_loses() {
        assert!(applies(
            Family::Transfer,
            Some(point("pending", 1)),
            point("closed", 2)
        ));
        assert!(!applies(
            Family::Transfer,
            Some(point("closed", 2)),
            point("pending", 1)
        ));
        assert!(!applies(
            Family::Kyc,
            Some(point("passed", 5)),
            point("pending", 4)
        ));
    }

    #[test]
    fn equal_time_goes_to_higher_rank() {
        assert!(applies(
            Family::Transfer,
            Some(point("pending", 1)),
            point("closed", 1)
        ));
        assert!(!applies(
            Family::Transfer,
            Some(point("closed", 1)),
            point("pending", 1)
        ));
        assert!(!applies(
            Family::Transfer,
            Some(point("pending", 1)),
            point("pending", 1)
        ));
    }

    #[test]
    fn same_status_with_newer_data_applies() {
        assert!(applies(
            Family::Kyc,
            Some(point("pending", 1)),
            point("pending", 2)
        ));
    }

    #[test]
    fn terminal_states_never_regress() {
        assert!(!applies(
            Family::Transfer,
            Some(point("closed", 1)),
            point("pending", 9)
        ));
        assert!(!applies(
            Family::Transfer,
            Some(point("closed", 1)),
            point("fail", 9)
        ));
        assert!(!applies(
            Family::Card,
            Some(point("deleted", 1)),
            point("active", 9)
        ));
        assert!(!applies(
            Family::Payout,
            Some(point("refunded", 1)),
            point("closed", 9)
        ));
        assert!(!applies(
            Family::Payout,
            Some(point("closed", 1)),
            point("pending", 9)
        ));
    }

    #[test]
    fn payout_closed_then_refunded_applies() {
        assert!(applies(
            Family::Payout,
            Some(point("closed", 1)),
            point("refunded", 1)
        ));
        assert!(applies(
            Family::Payout,
            Some(point("closed", 1)),
            point("refunded", 3)
        ));
        assert!(!applies(
            Family::Payout,
            Some(point("refunded", 1)),
            point("closed", 1)
        ));
    }

    #[test]
    fn kyc_and_face_authentication_may_start_again() {
        assert!(applies(
            Family::Kyc,
            Some(point("passed", 1)),
            point("pending", 2)
        ));
        assert!(applies(
            Family::Kyb,
            Some(point("canceled", 1)),
            point("request", 2)
        ));
        assert!(applies(
            Family::FaceAuthentication,
            Some(point("fail", 1)),
            point("pending", 2)
        ));
    }

    #[test]
    fn a_terminal_state_beats_a_skewed_later_non_terminal_in_either_order() {
        // SPEC 3: closed at .100 and a pending a skewed clock stamped .150.
        let closed = point("closed", 1);
        let pending = point("pending", 2);
        assert!(applies(Family::Transfer, Some(pending), closed));
        assert!(!applies(Family::Transfer, Some(closed), pending));
    }

    #[test]
    fn within_a_terminal_class_the_earlier_fact_stands() {
        assert!(applies(
            Family::Transfer,
            Some(point("fail", 5)),
            point("closed", 3)
        ));
        assert!(!applies(
            Family::Transfer,
            Some(point("closed", 3)),
            point("fail", 5)
        ));
        // A refund stamped a little before the payout's `closed` still applies.
        assert!(applies(
            Family::Payout,
            Some(point("closed", 5)),
            point("refunded", 4)
        ));
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

    #[test]
    fn cards_follow_time_until_deleted() {
        assert!(applies(
            Family::Card,
            Some(point("frozen", 1)),
            point("active", 2)
        ));
        assert!(applies(
            Family::Account,
            Some(point("active", 1)),
            point("deleted", 2)
        ));
    }
}
