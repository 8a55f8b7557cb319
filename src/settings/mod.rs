//! Settings, layered: defaults, then the optional TOML file (`HOOKGATE_CONFIG`) for sources and
//! subscribers, then the environment, which wins. One section per part of the service, each
//! with its defaults, its validation and the method that builds what it configures.

mod broker;
mod database;
mod env;
mod pipeline;
mod retry_tier;
mod server;
mod sources;
mod stuck_after;
mod subscribers;
mod traces;

pub use broker::{BrokerSettings, DEFAULT_AMQP_URL, DEFAULT_PREFIX};
pub use database::{DatabaseSettings, PoolRole, DEFAULT_DATABASE_URL};
pub use pipeline::{RelaySettings, RetentionSettings, WorkerSettings};
pub use retry_tier::RetryTier;
pub use server::{InboxSettings, ServerSettings, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES};
pub use sources::{SchemeKind, Secret, SourceConfig, INTERLACE_SOURCE};
pub use stuck_after::StuckAfter;
pub use subscribers::SubscriberConfig;

use crate::telemetry::{traces::TraceExport, LogFormat};
use env::Env;
use serde::Deserialize;
use std::{collections::BTreeMap, path::PathBuf};

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
    #[error("{0} holds no entry: set it to a comma-separated list, or leave it unset")]
    BadList(String),
    #[error("stuck_after.{0}: {1}")]
    BadStuckAfter(String, String),
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
    /// `[stuck_after]`: when an object in a waiting status counts as stuck.
    pub stuck_after: StuckAfter,
    /// `HOOKGATE_OTLP_ENDPOINT`, `HOOKGATE_TRACE_SAMPLE_RATIO`.
    pub traces: TraceExport,
    /// What was accepted but deserves a word; logged at start and by `config check`.
    pub warnings: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    #[serde(default)]
    sources: Vec<SourceConfig>,
    #[serde(default)]
    subscribers: Vec<SubscriberConfig>,
    #[serde(default)]
    stuck_after: BTreeMap<String, String>,
}

impl Settings {
    /// Builds the settings from any variable lookup, so tests need not touch the process
    /// environment.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let env = Env::new(var);
        let file = match env.text("HOOKGATE_CONFIG") {
            Some(path) => read_file(PathBuf::from(path))?,
            None => FileSettings::default(),
        };
        let mut sources = file.sources;
        sources::apply_secret_variables(&mut sources, &env)?;
        sources::apply_interlace_secrets(&mut sources, &env)?;
        sources::validate(&sources)?;
        let mut subscribers = file.subscribers;
        subscribers::apply_secret_variables(&mut subscribers, &env);
        subscribers::validate(&subscribers)?;
        let database = DatabaseSettings::read(&env)?;
        let server = ServerSettings::read(&env, database.timeout)?;
        let broker = BrokerSettings::read(&env)?;
        let relay = RelaySettings::read(&env)?;
        let workers = WorkerSettings::read(&env)?;
        let retention = RetentionSettings::read(&env)?;
        let stuck_after = StuckAfter::read(file.stuck_after)?;
        let traces = traces::read(&env)?;
        Ok(Settings {
            server,
            broker,
            relay,
            workers,
            retention,
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
            stuck_after,
            traces,
            warnings: env.into_warnings(),
        })
    }

    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
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
mod tests;
