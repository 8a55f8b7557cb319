//! Reading settings from environment variables (or any lookup that stands in for them).

use super::SettingsError;
use std::{cell::RefCell, time::Duration};

/// The longest any timer may be set to: tokio's timers and `Instant` arithmetic panic on
/// durations near `u64::MAX`, and nothing hookgate waits for needs more than a week.
pub const MAX_TIMER: Duration = Duration::from_secs(7 * 24 * 3600);

pub(super) struct Env<F: Fn(&str) -> Option<String>> {
    lookup: F,
    /// What was accepted but deserves a word: reported once logging runs, and by
    /// `hookgate config check`.
    warnings: RefCell<Vec<String>>,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(lookup: F) -> Self {
        Env {
            lookup,
            warnings: RefCell::new(Vec::new()),
        }
    }

    pub fn warn(&self, warning: String) {
        self.warnings.borrow_mut().push(warning);
    }

    pub fn into_warnings(self) -> Vec<String> {
        self.warnings.into_inner()
    }

    /// The variable's value; empty counts as unset.
    pub fn text(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    pub fn text_or(&self, name: &str, default: &str) -> String {
        self.text(name).unwrap_or_else(|| default.to_owned())
    }

    /// A comma-separated list, trimmed; empty entries are dropped with a warning, so a
    /// stray comma in an existing deployment does not stop it from starting.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        let text = self.text(name)?;
        Some(self.entries(name, &text))
    }

    /// The entries of a comma-separated `text`, as [`Env::list`] reads them.
    pub fn entries(&self, name: &str, text: &str) -> Vec<String> {
        let all: Vec<&str> = text.split(',').map(str::trim).collect();
        let kept: Vec<String> = all
            .iter()
            .filter(|entry| !entry.is_empty())
            .map(|entry| (*entry).to_owned())
            .collect();
        if kept.len() < all.len() {
            self.warn(format!(
                "{name} has {} empty entries; they are ignored",
                all.len() - kept.len()
            ));
        }
        kept
    }

    pub fn number<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
    ) -> Result<T, SettingsError> {
        match self.text(name) {
            None => Ok(default),
            Some(text) => text.trim().parse().map_err(|_| SettingsError::BadValue {
                name,
                expected: "a non-negative whole number",
                value: text,
            }),
        }
    }

    /// A whole number of milliseconds, at most [`MAX_TIMER`].
    pub fn millis(&self, name: &'static str, default: u64) -> Result<Duration, SettingsError> {
        self.millis_from(
            0,
            name,
            default,
            "a number of milliseconds of at most 604800000 (a week)",
        )
    }

    /// A whole number of milliseconds from 1 to [`MAX_TIMER`]: a period or a deadline that
    /// zero would turn into a busy loop or an instant failure.
    pub fn positive_millis(
        &self,
        name: &'static str,
        default: u64,
    ) -> Result<Duration, SettingsError> {
        self.millis_from(
            1,
            name,
            default,
            "a number of milliseconds from 1 to 604800000 (a week)",
        )
    }

    fn millis_from(
        &self,
        least: u64,
        name: &'static str,
        default: u64,
        expected: &'static str,
    ) -> Result<Duration, SettingsError> {
        let range = least..=MAX_TIMER.as_millis() as u64;
        Ok(Duration::from_millis(
            self.bounded(name, default, range, expected)?,
        ))
    }

    /// A whole number of seconds from 1 to [`MAX_TIMER`].
    pub fn seconds(&self, name: &'static str, default: u64) -> Result<Duration, SettingsError> {
        let seconds = self.bounded(
            name,
            default,
            1..=MAX_TIMER.as_secs(),
            "a number of seconds from 1 to 604800 (a week)",
        )?;
        Ok(Duration::from_secs(seconds))
    }

    /// A whole number from `range`.
    pub fn bounded<T>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
        expected: &'static str,
    ) -> Result<T, SettingsError>
    where
        T: std::str::FromStr + PartialOrd + ToString,
    {
        let value = self
            .number(name, default)
            .map_err(|_| SettingsError::BadValue {
                name,
                expected,
                value: self.text(name).unwrap_or_default(),
            })?;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(SettingsError::BadValue {
                name,
                expected,
                value: value.to_string(),
            })
        }
    }
}
