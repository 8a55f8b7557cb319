//! What a run of events does to one object: the SPEC 3 ordering rules applied in turn, with no
//! I/O, so a whole batch is decided before any of it is written.

use crate::catalogue::{applies, Family, StatePoint};

/// One event's effect on its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect<'a> {
    /// The event became the object's state; `previous` is the status it replaced.
    Applied { previous: Option<&'a str> },
    /// Older than the state it met: history only.
    Stale,
}

/// Applies `events`, in the order given, to an object whose stored state is `stored`. The
/// object's new state is the last applied event's.
pub fn fold<'a>(
    family: Family,
    stored: Option<StatePoint<'a>>,
    events: &[StatePoint<'a>],
) -> Vec<Effect<'a>> {
    let mut current = stored;
    events
        .iter()
        .map(|&incoming| {
            if applies(family, current, incoming) {
                let previous = current.map(|state| state.status);
                current = Some(incoming);
                Effect::Applied { previous }
            } else {
                Effect::Stale
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::testing::point;

    fn applied(previous: Option<&str>) -> Effect<'_> {
        Effect::Applied { previous }
    }

    #[test]
    fn runs_of_events_fold_by_the_ordering_rules() {
        use Effect::Stale;
        // (what the case shows, family, stored state, events in arrival order, their effects)
        let cases = [
            (
                "a new object takes its first event and then each later one",
                Family::Transfer,
                None,
                vec![
                    point("pending", 1),
                    point("processing", 2),
                    point("closed", 3),
                ],
                vec![
                    applied(None),
                    applied(Some("pending")),
                    applied(Some("processing")),
                ],
            ),
            (
                "closed before pending in one run keeps closed",
                Family::Transfer,
                None,
                vec![point("closed", 2), point("pending", 1)],
                vec![applied(None), Stale],
            ),
            (
                "the stored state is compared first",
                Family::Transfer,
                Some(point("processing", 5)),
                vec![point("pending", 4), point("closed", 6)],
                vec![Stale, applied(Some("processing"))],
            ),
            (
                // The stale event at second 2 must not let the one at second 3 meet it.
                "a stale event does not become the state later events meet",
                Family::Transfer,
                Some(point("closed", 4)),
                vec![point("pending", 2), point("processing", 3)],
                vec![Stale, Stale],
            ),
            (
                "a terminal state gives way only to a later terminal one",
                Family::Payout,
                Some(point("closed", 1)),
                vec![
                    point("pending", 2),
                    point("refunded", 3),
                    point("failed", 4),
                ],
                vec![Stale, applied(Some("closed")), Stale],
            ),
            (
                "the same status again is applied with itself as previous",
                Family::Card,
                Some(point("active", 1)),
                vec![point("active", 2)],
                vec![applied(Some("active"))],
            ),
        ];
        for (case, family, stored, events, expected) in cases {
            assert_eq!(fold(family, stored, &events), expected, "{case}");
        }
    }

    mod order_independence {
        use super::*;
        use crate::catalogue::OrderKey;
        use chrono::{DateTime, TimeZone, Utc};
        use proptest::prelude::*;

        /// Every status of every family, and one no family lists (it ranks with pending).
        const STATUSES: [&str; 19] = [
            "pending",
            "closed",
            "fail",
            "processing",
            "created",
            "proof_required",
            "refunded",
            "rejected",
            "failed",
            "na",
            "request",
            "passed",
            "canceled",
            "success",
            "active",
            "frozen",
            "inactive",
            "deleted",
            "unheard_of",
        ];

        fn at(tenth: u32) -> DateTime<Utc> {
            Utc.with_ymd_and_hms(2024, 1, 1, 10, 0, 0).unwrap()
                + chrono::Duration::milliseconds(i64::from(tenth) * 100)
        }

        fn event<'a>(status: &'a str, tenth: u32, event_id: &'a str) -> StatePoint<'a> {
            StatePoint {
                status,
                occurred_at: at(tenth),
                event_id,
            }
        }

        /// Distinct events (status, time in tenths of a second: few values, so many ties and
        /// skews), then an arrival order with some of them delivered more than once.
        fn arrivals() -> impl Strategy<Value = (Family, Vec<(&'static str, u32)>, Vec<usize>)> {
            (
                prop::sample::select(Family::KNOWN.to_vec()),
                prop::collection::vec((prop::sample::select(STATUSES.to_vec()), 0u32..4), 1..8),
            )
                .prop_flat_map(|(family, events)| {
                    let n = events.len();
                    let arrival = (
                        prop::collection::vec(0..n, 0..4),
                        Just((0..n).collect::<Vec<_>>()),
                    )
                        .prop_flat_map(|(again, all)| Just([all, again].concat()).prop_shuffle());
                    (Just(family), Just(events), arrival)
                })
        }

        /// Folds `order` in batches cut where `cuts` says, as workers would, carrying the
        /// state from batch to batch; returns the final state's point.
        fn fold_in_batches<'a>(
            family: Family,
            points: &[StatePoint<'a>],
            order: &[usize],
            cuts: &[bool],
        ) -> Option<StatePoint<'a>> {
            let mut state = None;
            let mut batch = Vec::new();
            for (position, &index) in order.iter().enumerate() {
                batch.push(points[index]);
                let cut = cuts.get(position).copied().unwrap_or(false);
                if cut || position + 1 == order.len() {
                    let effects = fold(family, state, &batch);
                    for (point, effect) in batch.iter().zip(&effects) {
                        if matches!(effect, Effect::Applied { .. }) {
                            state = Some(*point);
                        }
                    }
                    batch.clear();
                }
            }
            state
        }

        proptest! {
            #[test]
            fn any_order_and_any_batches_end_at_the_greatest_event(
                (family, events, order) in arrivals(),
                cuts in prop::collection::vec(any::<bool>(), 0..12),
            ) {
                let ids: Vec<String> = (0..events.len()).map(|n| format!("e{n}")).collect();
                let points: Vec<StatePoint> = events
                    .iter()
                    .zip(&ids)
                    .map(|(&(status, tenth), id)| event(status, tenth, id))
                    .collect();
                let greatest = points
                    .iter()
                    .copied()
                    .max_by(|a, b| OrderKey::of(family, a).cmp(&OrderKey::of(family, b)));

                let arrived = fold_in_batches(family, &points, &order, &cuts);
                prop_assert_eq!(arrived, greatest);

                let mut sorted: Vec<usize> = (0..points.len()).collect();
                sorted.sort_by(|&a, &b| OrderKey::of(family, &points[a]).cmp(&OrderKey::of(family, &points[b])));
                let in_order = fold_in_batches(family, &points, &sorted, &[]);
                prop_assert_eq!(in_order, greatest);
                // Every event in sorted order is greater than the one before: all apply.
                let effects = fold(family, None, &sorted.iter().map(|&i| points[i]).collect::<Vec<_>>());
                let all_applied = effects.iter().all(|e| matches!(e, Effect::Applied { .. }));
                prop_assert!(all_applied, "sorted events each apply");

                let again = fold(family, arrived, &[arrived.expect("one event at least")]);
                prop_assert_eq!(again, vec![Effect::Stale], "applying an event twice changes nothing");
            }
        }

        #[test]
        fn a_pending_stamped_after_a_fail_does_not_keep_the_transfer_pending() {
            let (fail, pending) = (event("fail", 0, "f"), event("pending", 2, "p"));
            for order in [[pending, fail], [fail, pending]] {
                assert_eq!(
                    fold_in_batches(Family::Transfer, &order, &[0, 1], &[true]),
                    Some(fail)
                );
            }
        }

        #[test]
        fn a_refund_stamped_just_before_the_payout_closed_is_applied() {
            let (closed, refunded) = (event("closed", 3, "c"), event("refunded", 2, "r"));
            for order in [[closed, refunded], [refunded, closed]] {
                assert_eq!(
                    fold_in_batches(Family::Payout, &order, &[0, 1], &[]),
                    Some(refunded)
                );
            }
        }
    }
}
