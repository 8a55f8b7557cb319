//! `[[subscribers]]`: HTTP endpoints notified of status changes, one queue each.

use super::{
    env::Env,
    sources::{empty_secret, is_name, secret_variable},
    Secret, SettingsError,
};
use serde::Deserialize;
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberConfig {
    pub name: String,
    pub url: String,
    /// Required, from the file or `HOOKGATE_SUBSCRIBER_SECRET_<NAME>`.
    #[serde(default = "Secret::missing")]
    pub secret: Secret,
    pub patterns: Vec<String>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    5000
}

/// The longest a subscriber may take to answer: a notifier waiting longer would look stalled
/// to its supervisor (a minute without progress) and be restarted.
pub const MAX_TIMEOUT_MS: u64 = 30_000;

/// `HOOKGATE_SUBSCRIBER_SECRET_<NAME>` replaces the file's secret of a subscriber.
pub(super) fn apply_secret_variables(
    subscribers: &mut [SubscriberConfig],
    env: &Env<impl Fn(&str) -> Option<String>>,
) {
    for subscriber in subscribers {
        let variable = secret_variable("HOOKGATE_SUBSCRIBER_SECRET_", &subscriber.name);
        if let Some(secret) = env.text(&variable) {
            subscriber.secret = Secret::new(secret.trim());
        }
    }
}

pub(super) fn validate(subscribers: &[SubscriberConfig]) -> Result<(), SettingsError> {
    let mut seen = HashSet::new();
    for subscriber in subscribers {
        let bad = |reason: String| SettingsError::BadSubscriber(subscriber.name.clone(), reason);
        if !is_name(&subscriber.name) || !seen.insert(subscriber.name.as_str()) {
            return Err(bad(
                "name must be unique and made of 1-64 letters, digits, '-' or '_'".into(),
            ));
        }
        if subscriber.secret.expose().is_empty() {
            return Err(bad(format!(
                "needs a secret: set `secret` in the file or {}",
                secret_variable("HOOKGATE_SUBSCRIBER_SECRET_", &subscriber.name)
            )));
        }
        if let Some(reason) = empty_secret(subscriber.secret.expose()) {
            return Err(bad(format!("secret {reason}")));
        }
        if !(1..=MAX_TIMEOUT_MS).contains(&subscriber.timeout_ms) {
            return Err(bad(format!(
                "timeout_ms must be from 1 to {MAX_TIMEOUT_MS}, got {}",
                subscriber.timeout_ms
            )));
        }
        if subscriber.patterns.is_empty() {
            return Err(bad("needs at least one routing pattern".into()));
        }
        if let Some(pattern) = subscriber.patterns.iter().find(|p| !is_pattern(p)) {
            return Err(bad(format!(
                "pattern {pattern:?} must be 1-255 characters of [a-z0-9_.*#]"
            )));
        }
    }
    Ok(())
}

/// A topic binding pattern over hookgate's routing keys.
fn is_pattern(pattern: &str) -> bool {
    (1..=255).contains(&pattern.len())
        && pattern.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '*' | '#')
        })
}
