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

    #[test]
    fn a_new_object_takes_its_first_event_and_then_each_later_one() {
        let effects = fold(
            Family::Transfer,
            None,
            &[
                point("pending", 1),
                point("processing", 2),
                point("closed", 3),
            ],
        );
        assert_eq!(
            effects,
            [
                Effect::Applied { previous: None },
                Effect::Applied {
                    previous: Some("pending")
                },
                Effect::Applied {
                    previous: Some("processing")
                },
            ]
        );
    }

    #[test]
    fn closed_before_pending_in_one_run_keeps_closed() {
        let effects = fold(
            Family::Transfer,
            None,
            &[point("closed", 2), point("pending", 1)],
        );
        assert_eq!(effects, [Effect::Applied { previous: None }, Effect::Stale]);
    }

    #[test]
    fn the_stored_state_is_compared_first() {
        let effects = fold(
            Family::Transfer,
            Some(point("processing", 5)),
            &[point("pending", 4), point("closed", 6)],
        );
        assert_eq!(
            effects,
            [
                Effect::Stale,
                Effect::Applied {
                    previous: Some("processing")
                }
            ]
        );
    }

    #[test]
    fn a_stale_event_does_not_become_the_state_later_events_meet() {
        // The stale event at second 2 must not let the one at second 3 be compared with it.
        let effects = fold(
            Family::Transfer,
            Some(point("closed", 4)),
            &[point("pending", 2), point("processing", 3)],
        );
        assert_eq!(effects, [Effect::Stale, Effect::Stale]);
    }

    #[test]
    fn a_terminal_state_gives_way_only_to_a_later_terminal_one() {
        let effects = fold(
            Family::Payout,
            Some(point("closed", 1)),
            &[
                point("pending", 2),
                point("refunded", 3),
                point("failed", 4),
            ],
        );
        assert_eq!(
            effects,
            [
                Effect::Stale,
                Effect::Applied {
                    previous: Some("closed")
                },
                Effect::Stale,
            ]
        );
    }

    #[test]
    fn the_same_status_again_is_applied_with_itself_as_previous() {
        let effects = fold(
            Family::Card,
            Some(point("active", 1)),
            &[point("active", 2)],
        );
        assert_eq!(
            effects,
            [Effect::Applied {
                previous: Some("active")
            }]
        );
    }
}
