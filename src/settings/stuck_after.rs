//! `[stuck_after]` in the configuration file (SPEC 7): how long an object may wait in a
//! waiting status before it counts as stuck, by family, with a default.

use super::SettingsError;
use crate::catalogue::{parse_threshold, Family, DEFAULT_STUCK_AFTER};
use chrono::Duration;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckAfter {
    default: Duration,
    families: Vec<(Family, Duration)>,
}

impl Default for StuckAfter {
    fn default() -> Self {
        StuckAfter {
            default: DEFAULT_STUCK_AFTER,
            families: Vec::new(),
        }
    }
}

impl StuckAfter {
    /// The threshold of `family`: its own, else the default.
    pub fn of(&self, family: Family) -> Duration {
        self.families
            .iter()
            .find(|(named, _)| *named == family)
            .map_or(self.default, |(_, after)| *after)
    }

    /// Reads the table: `default` and family names, each an age such as `90s`, `30m`, `2h`.
    pub(super) fn read(table: BTreeMap<String, String>) -> Result<StuckAfter, SettingsError> {
        let mut read = StuckAfter::default();
        for (key, text) in table {
            let refuse = |why: &str| SettingsError::BadStuckAfter(key.clone(), why.to_owned());
            let Some(after) = parse_threshold(&text) else {
                return Err(refuse("give a positive age such as 90s, 30m, 2h or 3d"));
            };
            match (key.as_str(), Family::known(&key)) {
                ("default", _) => read.default = after,
                (_, Some(family)) if family.waiting().is_some() => {
                    read.families.push((family, after))
                }
                (_, Some(_)) => return Err(refuse("cards and accounts are never stuck")),
                (_, None) => return Err(refuse("not a family, nor `default`")),
            }
        }
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_family_has_its_own_threshold_or_the_default() {
        let read = StuckAfter::read(table(&[("default", "3d"), ("transfer", "2h")])).unwrap();
        assert_eq!(read.of(Family::Transfer), Duration::hours(2));
        assert_eq!(read.of(Family::Payout), Duration::days(3));
        assert_eq!(StuckAfter::default().of(Family::Kyc), Duration::hours(24));
    }

    #[test]
    fn bad_entries_are_named() {
        for (entry, why) in [
            (("transfer", "soon"), "positive age"),
            (("transfer", "0s"), "positive age"),
            (("loans", "2h"), "not a family"),
            (("card", "2h"), "never stuck"),
        ] {
            let refused = StuckAfter::read(table(&[entry])).unwrap_err().to_string();
            assert!(
                refused.contains(entry.0) && refused.contains(why),
                "{refused}"
            );
        }
    }
}
