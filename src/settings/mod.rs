//! Settings, layered: defaults, then the optional TOML file (`HOOKGATE_CONFIG`) for sources and
//! subscribers, then the environment, which wins. One section per part of the service, each
//! with its defaults, its validation and the method that builds what it configures.

mod broker;
mod database;
mod env;
mod pipeline;
mod server;
mod sources;
mod subscribers;

pub use broker::{BrokerSettings, DEFAULT_AMQP_URL, DEFAULT_PREFIX};
pub use database::{DatabaseSettings, DEFAULT_DATABASE_URL};
pub use pipeline::{RelaySettings, RetentionSettings, WorkerSettings};
pub use server::{InboxSettings, ServerSettings, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES};
pub use sources::{SchemeKind, Secret, SourceConfig, INTERLACE_SOURCE};
pub use subscribers::SubscriberConfig;

use env::Env;
use serde::Deserialize;
use std::{collections::HashMap, path::PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub broker: BrokerSettings,
    pub relay: RelaySettings,
    pub workers: WorkerSettings,
    pub retention: RetentionSettings,
    /// `HOOKGATE_LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    pub sources: Vec<SourceConfig>,
    pub subscribers: Vec<SubscriberConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    #[serde(default)]
    sources: Vec<SourceConfig>,
    #[serde(default)]
    subscribers: Vec<SubscriberConfig>,
}

impl Settings {
    /// Reads the process environment and the file it points to.
    pub fn from_env() -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    /// Builds the settings from any variable lookup, so tests need not touch the process
    /// environment.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let env = Env(var);
        let file = match env.text("HOOKGATE_CONFIG") {
            Some(path) => read_file(PathBuf::from(path))?,
            None => FileSettings::default(),
        };
        let mut sources = file.sources;
        sources::apply_secret_variables(&mut sources, &env);
        sources::apply_interlace_secrets(&mut sources, env.text("HOOKGATE_INTERLACE_SECRETS"));
        sources::validate(&sources)?;
        let mut subscribers = file.subscribers;
        subscribers::apply_secret_variables(&mut subscribers, &env);
        subscribers::validate(&subscribers)?;
        let database = DatabaseSettings::read(&env)?;
        Ok(Settings {
            server: ServerSettings::read(&env, database.timeout)?,
            broker: BrokerSettings::read(&env)?,
            relay: RelaySettings::read(&env)?,
            workers: WorkerSettings::read(&env)?,
            retention: RetentionSettings::read(&env)?,
            log_format: match env.text("HOOKGATE_LOG_FORMAT").as_deref() {
                None | Some("text") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(SettingsError::BadValue {
                        name: "HOOKGATE_LOG_FORMAT",
                        expected: "text or json",
                        value: other.into(),
                    })
                }
            },
            database,
            sources,
            subscribers,
        })
    }

    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// The SPEC 4 topology for these settings.
    pub fn topology(&self) -> crate::amqp::Topology {
        self.broker.topology(&self.subscribers)
    }
}

fn read_file(path: PathBuf) -> Result<FileSettings, SettingsError> {
    let text = std::fs::read_to_string(&path).map_err(|source| SettingsError::Read {
        path: path.clone(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| SettingsError::Parse {
        path,
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_follow_the_spec() {
        let config = Settings::from_lookup(lookup(&[])).unwrap();
        assert_eq!(config.database.url, "postgres://localhost/hookgate");
        assert_eq!(
            config.broker.urls,
            ["amqp://guest:guest@127.0.0.1:5672/%2f"]
        );
        assert_eq!(config.server.listen, "127.0.0.1:8080");
        assert_eq!(config.broker.prefix, "hookgate");
        assert_eq!(config.retention.days, 30);
        assert_eq!(config.server.max_body_bytes, 1024 * 1024);
        assert_eq!(config.log_format, LogFormat::Text);
        assert!(config.server.api_token.is_none());
        assert_eq!(config.relay.batch, 500);
        assert_eq!(config.workers.read_model_prefetch, 200);
        assert_eq!(config.workers.read_model_batch, 100);
        assert_eq!(config.server.inbox.max_batch, 256);
        let tiers: Vec<&str> = config
            .broker
            .retry_tiers
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(tiers, ["1s", "10s", "1m", "10m", "1h"]);
        let interlace = config.source("interlace").unwrap();
        assert_eq!(interlace.scheme, SchemeKind::Interlace);
        assert!(interlace.secrets.is_empty());
    }

    #[test]
    fn interlace_secrets_come_from_a_comma_separated_list() {
        let config =
            Settings::from_lookup(lookup(&[("HOOKGATE_INTERLACE_SECRETS", "old, new ,")])).unwrap();
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
        let file = config_file(
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
"#,
        );
        let config = Settings::from_lookup(lookup(&[
            ("HOOKGATE_CONFIG", file.to_str().unwrap()),
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
        std::fs::remove_file(&file).unwrap();
    }

    #[test]
    fn bad_values_are_reported_by_name() {
        let cases = [
            (
                "HOOKGATE_RETENTION_DAYS",
                "a month",
                "HOOKGATE_RETENTION_DAYS",
            ),
            ("HOOKGATE_RETRY_TIERS", "1s,soon", "HOOKGATE_RETRY_TIERS"),
            ("HOOKGATE_LOG_FORMAT", "xml", "text or json"),
        ];
        for (name, value, says) in cases {
            let error = refusal(&[(name, value)]);
            assert!(error.contains(says), "{name}={value}: {error}");
        }
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
            ("HOOKGATE_RELAY_BATCH", "0"),
            ("HOOKGATE_INBOX_COMMITS", "0"),
            ("HOOKGATE_READ_MODEL_PREFETCH", "70000"),
            ("HOOKGATE_DATABASE_POOL_SIZE", "0"),
        ];
        for (name, value) in cases {
            let error = refusal(&[(name, value)]);
            assert!(error.contains(name), "{name}={value}: {error}");
        }
        assert!(Settings::from_lookup(lookup(&[("HOOKGATE_RETENTION_DAYS", "36500")])).is_ok());
    }

    #[test]
    fn subscriber_names_and_patterns_are_checked_against_amqp_limits() {
        let subscriber = |name: &str, pattern: &str| {
            format!(
                "[[subscribers]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:9/\"\nsecret = \"whsec_MTIz\"\npatterns = [\"{pattern}\"]"
            )
        };
        let long_name = "s".repeat(65);
        let cases = [
            (subscriber(&long_name, "notify.#"), "1-64"),
            (subscriber("ledger", "notify.Transfer.*"), "pattern"),
        ];
        for (file, says) in cases {
            let path = config_file(&file);
            let error = refusal(&[("HOOKGATE_CONFIG", path.to_str().unwrap())]);
            std::fs::remove_file(&path).unwrap();
            assert!(error.contains(says), "{error}");
        }
    }

    #[test]
    fn the_broker_may_be_a_list_of_nodes_and_a_bad_one_is_named_by_position_only() {
        let nodes = "amqp://a:pw@n1:5672/%2f, amqps://a:pw@n2:5671/%2f,";
        let config = Settings::from_lookup(lookup(&[("HOOKGATE_AMQP_URL", nodes)])).unwrap();
        assert_eq!(
            config.broker.urls,
            ["amqp://a:pw@n1:5672/%2f", "amqps://a:pw@n2:5671/%2f"]
        );
        let error = refusal(&[("HOOKGATE_AMQP_URL", "amqp://a:pw@n1/,http://a:secret@n2/")]);
        assert!(error.contains("entry 2"), "{error}");
        assert!(!error.contains("secret"), "{error}");
        assert!(refusal(&[("HOOKGATE_AMQP_URL", " , ")]).contains("HOOKGATE_AMQP_URL"));
    }

    #[test]
    fn secrets_are_not_printed() {
        let config =
            Settings::from_lookup(lookup(&[("HOOKGATE_INTERLACE_SECRETS", "very-secret")]))
                .unwrap();
        assert!(!format!("{config:?}").contains("very-secret"));
    }

    /// A ConfigMap can hold the file while the secrets come from a Secret's variables.
    #[test]
    fn secrets_of_named_sources_and_subscribers_come_from_their_variables() {
        let path = config_file(
            "[[sources]]\nname = \"partner-eu\"\nscheme = \"standard-webhooks\"\n\
             [[subscribers]]\nname = \"ledger-eu\"\nurl = \"http://127.0.0.1:9/\"\npatterns = [\"#\"]",
        );
        let file = ("HOOKGATE_CONFIG", path.to_str().unwrap());
        let missing = refusal(&[file]);
        let config = Settings::from_lookup(lookup(&[
            file,
            (
                "HOOKGATE_SOURCE_SECRETS_PARTNER_EU",
                "whsec_MTIz, whsec_NDU2",
            ),
            ("HOOKGATE_SUBSCRIBER_SECRET_LEDGER_EU", "whsec_Nzg5"),
        ]));
        std::fs::remove_file(&path).unwrap();
        assert!(
            missing.contains("HOOKGATE_SUBSCRIBER_SECRET_LEDGER_EU"),
            "a subscriber without a secret names the variable: {missing}"
        );
        let config = config.unwrap();
        let secrets: Vec<&str> = config
            .source("partner-eu")
            .unwrap()
            .secrets
            .iter()
            .map(Secret::expose)
            .collect();
        assert_eq!(secrets, ["whsec_MTIz", "whsec_NDU2"]);
        assert_eq!(config.subscribers[0].secret.expose(), "whsec_Nzg5");
    }

    /// The file the Kubernetes base mounts is valid with the Secret's variables alone.
    #[test]
    fn the_kubernetes_config_file_is_valid() {
        let path = config_file(include_str!("../../deploy/k8s/hookgate.toml"));
        let config = Settings::from_lookup(lookup(&[
            ("HOOKGATE_CONFIG", path.to_str().unwrap()),
            ("HOOKGATE_INTERLACE_SECRETS", "k8s-secret"),
        ]));
        std::fs::remove_file(&path).unwrap();
        let config = config.unwrap();
        assert_eq!(config.source("interlace").unwrap().secrets.len(), 1);
    }

    /// Why the settings from `vars` are refused.
    fn refusal(vars: &[(&str, &str)]) -> String {
        Settings::from_lookup(lookup(vars))
            .expect_err("refused")
            .to_string()
    }

    /// A configuration file holding `text`, for the test to remove.
    fn config_file(text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("hookgate-{}.toml", uuid::Uuid::new_v4()));
        std::fs::write(&path, text).unwrap();
        path
    }
}
