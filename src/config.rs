//! Layered configuration: defaults, then the optional TOML file (`HOOKGATE_CONFIG`), then the
//! environment, which wins.

use crate::amqp::RetryTier;
use serde::Deserialize;
use std::{collections::HashMap, fmt, path::PathBuf, time::Duration};

pub const DEFAULT_DATABASE_URL: &str = "postgres://localhost/hookgate";
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_PREFIX: &str = "hookgate";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
pub const INTERLACE_SOURCE: &str = "interlace";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{name} must be {expected}, got {value:?}")]
    BadValue {
        name: &'static str,
        expected: &'static str,
        value: String,
    },
    #[error("source {0:?}: {1}")]
    BadSource(String, String),
    #[error("subscriber {0:?}: {1}")]
    BadSubscriber(String, String),
}

/// A signing secret; never printed.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SchemeKind {
    #[serde(rename = "interlace")]
    Interlace,
    #[serde(rename = "standard-webhooks")]
    StandardWebhooks,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    pub scheme: SchemeKind,
    #[serde(default)]
    pub secrets: Vec<Secret>,
    pub timestamp_tolerance_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberConfig {
    pub name: String,
    pub url: String,
    pub secret: Secret,
    pub patterns: Vec<String>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    5000
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub amqp_url: String,
    pub listen: String,
    pub amqp_prefix: String,
    pub api_token: Option<Secret>,
    pub retention_days: u32,
    pub log_format: LogFormat,
    pub max_body_bytes: usize,
    /// How long a webhook may wait for the database before it is answered 503.
    pub database_timeout: Duration,
    /// How often the relays look for rows nobody handed them (crash, outage, return).
    pub sweep_every: Duration,
    pub retry_tiers: Vec<RetryTier>,
    /// How often the running service prunes events past retention.
    pub retention_every: Duration,
    pub sources: Vec<SourceConfig>,
    pub subscribers: Vec<SubscriberConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    sources: Vec<SourceConfig>,
    #[serde(default)]
    subscribers: Vec<SubscriberConfig>,
}

impl Config {
    /// Reads the process environment and the file it points to.
    pub fn from_env() -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    /// Builds the configuration from any variable lookup, so tests need not touch the process
    /// environment.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let file = match var("HOOKGATE_CONFIG") {
            Some(path) => read_file(PathBuf::from(path))?,
            None => FileConfig::default(),
        };
        let mut sources = file.sources;
        apply_interlace_secrets(&mut sources, var("HOOKGATE_INTERLACE_SECRETS"));
        let config = Config {
            database_url: var("HOOKGATE_DATABASE_URL")
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            amqp_url: var("HOOKGATE_AMQP_URL").unwrap_or_else(|| DEFAULT_AMQP_URL.into()),
            listen: var("HOOKGATE_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.into()),
            amqp_prefix: var("HOOKGATE_AMQP_PREFIX").unwrap_or_else(|| DEFAULT_PREFIX.into()),
            api_token: var("HOOKGATE_API_TOKEN").map(Secret),
            retention_days: parse_number(
                var("HOOKGATE_RETENTION_DAYS"),
                "HOOKGATE_RETENTION_DAYS",
                30,
            )?,
            log_format: match var("HOOKGATE_LOG_FORMAT").as_deref() {
                None | Some("text") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(ConfigError::BadValue {
                        name: "HOOKGATE_LOG_FORMAT",
                        expected: "text or json",
                        value: other.into(),
                    })
                }
            },
            max_body_bytes: parse_number(
                var("HOOKGATE_MAX_BODY_BYTES"),
                "HOOKGATE_MAX_BODY_BYTES",
                DEFAULT_MAX_BODY_BYTES,
            )?,
            database_timeout: Duration::from_millis(parse_number(
                var("HOOKGATE_DATABASE_TIMEOUT_MS"),
                "HOOKGATE_DATABASE_TIMEOUT_MS",
                3000,
            )?),
            sweep_every: Duration::from_millis(parse_number(
                var("HOOKGATE_SWEEP_INTERVAL_MS"),
                "HOOKGATE_SWEEP_INTERVAL_MS",
                1000,
            )?),
            retry_tiers: match var("HOOKGATE_RETRY_TIERS") {
                None => RetryTier::defaults(),
                Some(list) => list
                    .split(',')
                    .map(|t| RetryTier::parse(t).ok_or(()))
                    .collect::<Result<Vec<_>, _>>()
                    .ok()
                    .filter(|tiers| !tiers.is_empty())
                    .ok_or(ConfigError::BadValue {
                        name: "HOOKGATE_RETRY_TIERS",
                        expected: "a comma-separated list of durations such as 1s,10s,1m,10m,1h",
                        value: list.clone(),
                    })?,
            },
            retention_every: Duration::from_secs(
                parse_number(
                    var("HOOKGATE_RETENTION_INTERVAL_SECS"),
                    "HOOKGATE_RETENTION_INTERVAL_SECS",
                    3600,
                )?
                .max(1),
            ),
            sources,
            subscribers: file.subscribers,
        };
        config.validate()?;
        Ok(config)
    }

    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !is_prefix(&self.amqp_prefix) {
            return Err(ConfigError::BadValue {
                name: "HOOKGATE_AMQP_PREFIX",
                expected: "1-64 letters, digits, '.', '-' or '_'",
                value: self.amqp_prefix.clone(),
            });
        }
        if !(1..=MAX_RETENTION_DAYS).contains(&self.retention_days) {
            return Err(ConfigError::BadValue {
                name: "HOOKGATE_RETENTION_DAYS",
                expected: "a whole number of days from 1 to 36500",
                value: self.retention_days.to_string(),
            });
        }
        if self.sweep_every.is_zero() {
            return Err(ConfigError::BadValue {
                name: "HOOKGATE_SWEEP_INTERVAL_MS",
                expected: "at least 1 millisecond",
                value: "0".into(),
            });
        }
        if let Some(tier) = self.retry_tiers.iter().find(|t| t.name.len() > 16) {
            return Err(ConfigError::BadValue {
                name: "HOOKGATE_RETRY_TIERS",
                expected: "durations of at most 16 characters each",
                value: tier.name.clone(),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for source in &self.sources {
            if !is_name(&source.name) {
                return Err(ConfigError::BadSource(
                    source.name.clone(),
                    "name must be 1-64 letters, digits, '-' or '_'".into(),
                ));
            }
            if !seen.insert(source.name.as_str()) {
                return Err(ConfigError::BadSource(
                    source.name.clone(),
                    "defined twice".into(),
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for subscriber in &self.subscribers {
            if !is_name(&subscriber.name) || !seen.insert(subscriber.name.as_str()) {
                return Err(ConfigError::BadSubscriber(
                    subscriber.name.clone(),
                    "name must be unique and made of 1-64 letters, digits, '-' or '_'".into(),
                ));
            }
            if subscriber.patterns.is_empty() {
                return Err(ConfigError::BadSubscriber(
                    subscriber.name.clone(),
                    "needs at least one routing pattern".into(),
                ));
            }
            if let Some(bad) = subscriber.patterns.iter().find(|p| !is_pattern(p)) {
                return Err(ConfigError::BadSubscriber(
                    subscriber.name.clone(),
                    format!("pattern {bad:?} must be 1-255 characters of [a-z0-9_.*#]"),
                ));
            }
        }
        Ok(())
    }
}

/// `HOOKGATE_INTERLACE_SECRETS` defines the `interlace` source, or replaces the secrets of the
/// one the file defines. The source always exists, so the default route is there even before
/// a secret is configured (it then rejects everything as unsigned).
fn apply_interlace_secrets(sources: &mut Vec<SourceConfig>, secrets: Option<String>) {
    let secrets: Option<Vec<Secret>> = secrets.map(|list| {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Secret::new)
            .collect()
    });
    match sources.iter_mut().find(|s| s.name == INTERLACE_SOURCE) {
        Some(source) => {
            if let Some(secrets) = secrets {
                source.secrets = secrets;
            }
        }
        None => sources.push(SourceConfig {
            name: INTERLACE_SOURCE.into(),
            scheme: SchemeKind::Interlace,
            secrets: secrets.unwrap_or_default(),
            timestamp_tolerance_secs: None,
        }),
    }
}

fn read_file(path: PathBuf) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path,
        source: Box::new(source),
    })
}

fn parse_number<T: std::str::FromStr>(
    value: Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(text) => text.trim().parse().map_err(|_| ConfigError::BadValue {
            name,
            expected: "a non-negative whole number",
            value: text,
        }),
    }
}

/// Retention long enough for any audit, short enough that no date arithmetic overflows.
const MAX_RETENTION_DAYS: u32 = 36_500;

/// Source and subscriber names: they go into queue names, headers and metric labels.
fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The prefix of every broker name; 64 bytes leave room for the longest name hookgate makes
/// (`<prefix>.notify.<subscriber>.retry.<tier>`) within AMQP's 255.
fn is_prefix(prefix: &str) -> bool {
    (1..=64).contains(&prefix.len())
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A topic binding pattern over hookgate's routing keys.
fn is_pattern(pattern: &str) -> bool {
    (1..=255).contains(&pattern.len())
        && pattern.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '*' | '#')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_follow_the_spec() {
        let config = Config::from_lookup(lookup(&[])).unwrap();
        assert_eq!(config.database_url, "postgres://localhost/hookgate");
        assert_eq!(config.amqp_url, "amqp://guest:guest@127.0.0.1:5672/%2f");
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(config.amqp_prefix, "hookgate");
        assert_eq!(config.retention_days, 30);
        assert_eq!(config.max_body_bytes, 1024 * 1024);
        assert_eq!(config.log_format, LogFormat::Text);
        assert!(config.api_token.is_none());
        let tiers: Vec<&str> = config.retry_tiers.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(tiers, ["1s", "10s", "1m", "10m", "1h"]);
        let interlace = config.source("interlace").unwrap();
        assert_eq!(interlace.scheme, SchemeKind::Interlace);
        assert!(interlace.secrets.is_empty());
    }

    #[test]
    fn interlace_secrets_come_from_a_comma_separated_list() {
        let config =
            Config::from_lookup(lookup(&[("HOOKGATE_INTERLACE_SECRETS", "old, new ,")])).unwrap();
        let secrets: Vec<&str> = config
            .source("interlace")
            .unwrap()
            .secrets
            .iter()
            .map(Secret::expose)
            .collect();
        assert_eq!(secrets, ["old", "new"]);
    }

    #[test]
    fn file_defines_sources_and_subscribers_and_env_overrides_it() {
        let mut file = tempfile();
        writeln!(
            file.1,
            r#"
[[sources]]
name = "partner"
scheme = "standard-webhooks"
secrets = ["whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c="]
timestamp_tolerance_secs = 300

[[sources]]
name = "interlace"
scheme = "interlace"
secrets = ["from-file"]
timestamp_tolerance_secs = 60

[[subscribers]]
name = "ledger"
url = "http://127.0.0.1:9000/hooks"
secret = "whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c="
patterns = ["notify.transfer.*", "notify.payout.#"]
"#
        )
        .unwrap();
        let path = file.0.to_str().unwrap().to_owned();
        let config = Config::from_lookup(lookup(&[
            ("HOOKGATE_CONFIG", &path),
            ("HOOKGATE_INTERLACE_SECRETS", "from-env"),
            ("HOOKGATE_LOG_FORMAT", "json"),
        ]))
        .unwrap();
        let partner = config.source("partner").unwrap();
        assert_eq!(partner.scheme, SchemeKind::StandardWebhooks);
        assert_eq!(partner.timestamp_tolerance_secs, Some(300));
        let interlace = config.source("interlace").unwrap();
        assert_eq!(interlace.secrets, vec![Secret::new("from-env")]);
        assert_eq!(interlace.timestamp_tolerance_secs, Some(60));
        assert_eq!(config.subscribers[0].name, "ledger");
        assert_eq!(config.subscribers[0].timeout_ms, 5000);
        assert_eq!(config.log_format, LogFormat::Json);
        std::fs::remove_file(&file.0).unwrap();
    }

    #[test]
    fn bad_values_are_reported_by_name() {
        let error = Config::from_lookup(lookup(&[("HOOKGATE_RETENTION_DAYS", "a month")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("HOOKGATE_RETENTION_DAYS"), "{error}");
        let error = Config::from_lookup(lookup(&[("HOOKGATE_RETRY_TIERS", "1s,soon")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("HOOKGATE_RETRY_TIERS"), "{error}");
        let error = Config::from_lookup(lookup(&[("HOOKGATE_LOG_FORMAT", "xml")])).unwrap_err();
        assert!(error.to_string().contains("text or json"));
    }

    #[test]
    fn values_that_would_panic_wrap_or_overflow_amqp_names_are_refused() {
        let long_prefix = "p".repeat(65);
        let cases = [
            ("HOOKGATE_SWEEP_INTERVAL_MS", "0"),
            ("HOOKGATE_RETENTION_DAYS", "0"),
            ("HOOKGATE_RETENTION_DAYS", "4294967295"),
            ("HOOKGATE_RETENTION_DAYS", "99999999999"),
            ("HOOKGATE_AMQP_PREFIX", long_prefix.as_str()),
            ("HOOKGATE_AMQP_PREFIX", "hook gate"),
            ("HOOKGATE_AMQP_PREFIX", "hook#gate"),
            ("HOOKGATE_RETRY_TIERS", "10000000000000000000s"),
        ];
        for (name, value) in cases {
            let error = Config::from_lookup(lookup(&[(name, value)]))
                .expect_err(value)
                .to_string();
            assert!(error.contains(name), "{name}={value}: {error}");
        }
        assert!(Config::from_lookup(lookup(&[("HOOKGATE_RETENTION_DAYS", "36500")])).is_ok());
    }

    #[test]
    fn subscriber_names_and_patterns_are_checked_against_amqp_limits() {
        let (path, mut file) = tempfile();
        writeln!(
            file,
            "[[subscribers]]\nname = \"{}\"\nurl = \"http://127.0.0.1:9/\"\nsecret = \"whsec_MTIz\"\npatterns = [\"notify.#\"]",
            "s".repeat(65)
        )
        .unwrap();
        let path_text = path.to_string_lossy().to_string();
        let error = Config::from_lookup(lookup(&[("HOOKGATE_CONFIG", path_text.as_str())]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("1-64"), "{error}");
        let (path, mut file) = tempfile();
        writeln!(
            file,
            "[[subscribers]]\nname = \"ledger\"\nurl = \"http://127.0.0.1:9/\"\nsecret = \"whsec_MTIz\"\npatterns = [\"notify.Transfer.*\"]"
        )
        .unwrap();
        let path_text = path.to_string_lossy().to_string();
        let error = Config::from_lookup(lookup(&[("HOOKGATE_CONFIG", path_text.as_str())]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("pattern"), "{error}");
    }

    #[test]
    fn secrets_are_not_printed() {
        let config =
            Config::from_lookup(lookup(&[("HOOKGATE_INTERLACE_SECRETS", "very-secret")])).unwrap();
        assert!(!format!("{config:?}").contains("very-secret"));
    }

    fn tempfile() -> (PathBuf, std::fs::File) {
        let path = std::env::temp_dir().join(format!("hookgate-{}.toml", uuid::Uuid::new_v4()));
        let file = std::fs::File::create(&path).unwrap();
        (path, file)
    }
}
