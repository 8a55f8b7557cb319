//! Reading settings from environment variables (or any lookup that stands in for them).

use super::SettingsError;
use std::time::Duration;

pub(super) struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// The variable's value; empty counts as unset.
    pub fn text(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    pub fn text_or(&self, name: &str, default: &str) -> String {
        self.text(name).unwrap_or_else(|| default.to_owned())
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

    /// A whole number of milliseconds.
    pub fn millis(&self, name: &'static str, default: u64) -> Result<Duration, SettingsError> {
        Ok(Duration::from_millis(self.number(name, default)?))
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
        let value = self.number(name, default)?;
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
