//! RabbitMQ: where it is, the prefix of every name, and the retry tiers.

use super::{env::Env, RetryTier, SettingsError};

pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const DEFAULT_PREFIX: &str = "hookgate";

#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// `HOOKGATE_AMQP_URL`: the cluster's nodes, comma-separated. hookgate connects to the
    /// first that answers and, when that connection is lost, tries the next one first.
    pub urls: Vec<String>,
    /// `HOOKGATE_AMQP_PREFIX`: 1-64 of `[A-Za-z0-9._-]`, leaving room for the longest name
    /// hookgate makes (`<prefix>.notify.<subscriber>.retry.<tier>`) within AMQP's 255.
    pub prefix: String,
    /// `HOOKGATE_RETRY_TIERS`: comma-separated durations, `1s,10s,1m,10m,1h` by default.
    pub retry_tiers: Vec<RetryTier>,
    /// `HOOKGATE_RETRY_GRACE_MS` (60 000): how long past its tier a retried message may take
    /// to come back before it is taken for lost and published again.
    pub retry_grace: std::time::Duration,
}

impl BrokerSettings {
    pub(super) fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Self, SettingsError> {
        let prefix = env.text_or("HOOKGATE_AMQP_PREFIX", DEFAULT_PREFIX);
        if !is_prefix(&prefix) {
            return Err(SettingsError::BadValue {
                name: "HOOKGATE_AMQP_PREFIX",
                expected: "1-64 letters, digits, '.', '-' or '_'",
                value: prefix,
            });
        }
        let urls = env.text_or("HOOKGATE_AMQP_URL", DEFAULT_AMQP_URL);
        Ok(BrokerSettings {
            urls: node_urls(&env.entries("HOOKGATE_AMQP_URL", &urls))?,
            prefix,
            retry_tiers: match env.list("HOOKGATE_RETRY_TIERS") {
                None => RetryTier::defaults(),
                Some(list) => retry_tiers(&list)?,
            },
            retry_grace: env.positive_millis("HOOKGATE_RETRY_GRACE_MS", 60_000)?,
        })
    }
}

/// The node URLs of the list. A bad entry is reported by its position only: the URL may hold
/// a password.
fn node_urls(urls: &[String]) -> Result<Vec<String>, SettingsError> {
    let bad = |value: String| SettingsError::BadValue {
        name: "HOOKGATE_AMQP_URL",
        expected: "one or more amqp:// or amqps:// URLs, comma-separated",
        value,
    };
    if urls.is_empty() {
        return Err(bad("no URL".into()));
    }
    match urls
        .iter()
        .position(|url| !(url.starts_with("amqp://") || url.starts_with("amqps://")))
    {
        Some(at) => Err(bad(format!(
            "entry {} (not shown: it may hold a password)",
            at + 1
        ))),
        None => Ok(urls.to_vec()),
    }
}

/// Tiers must strictly increase: two equal tiers would declare one queue twice, and a shorter
/// one after a longer one would retry sooner after more failures.
fn retry_tiers(list: &[String]) -> Result<Vec<RetryTier>, SettingsError> {
    let bad = |expected| SettingsError::BadValue {
        name: "HOOKGATE_RETRY_TIERS",
        expected,
        value: list.join(","),
    };
    let tiers = list
        .iter()
        .map(|tier| RetryTier::parse(tier))
        .collect::<Option<Vec<_>>>()
        .filter(|tiers| !tiers.is_empty())
        .ok_or(bad(
            "a comma-separated list of durations such as 1s,10s,1m,10m,1h",
        ))?;
    if tiers.iter().any(|t| t.name.len() > 16) {
        return Err(bad("durations of at most 16 characters each"));
    }
    if tiers.windows(2).any(|pair| pair[0].ttl >= pair[1].ttl) {
        return Err(bad("durations that strictly increase, such as 1s,10s,1m"));
    }
    Ok(tiers)
}

fn is_prefix(prefix: &str) -> bool {
    (1..=64).contains(&prefix.len())
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
