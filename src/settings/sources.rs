//! `[[sources]]`: who may send webhooks, with which scheme and secrets.

use super::SettingsError;
use serde::Deserialize;
use std::{collections::HashSet, fmt};

/// The source `HOOKGATE_INTERLACE_SECRETS` defines; it always exists.
pub const INTERLACE_SOURCE: &str = "interlace";

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

/// `HOOKGATE_INTERLACE_SECRETS` defines the `interlace` source, or replaces the secrets of the
/// one the file defines. The source always exists, so the default route is there even before
/// a secret is configured (it then rejects everything as unsigned).
pub(super) fn apply_interlace_secrets(sources: &mut Vec<SourceConfig>, secrets: Option<String>) {
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

pub(super) fn validate(sources: &[SourceConfig]) -> Result<(), SettingsError> {
    let mut seen = HashSet::new();
    for source in sources {
        if !is_name(&source.name) {
            return Err(SettingsError::BadSource(
                source.name.clone(),
                "name must be 1-64 letters, digits, '-' or '_'".into(),
            ));
        }
        if !seen.insert(source.name.as_str()) {
            return Err(SettingsError::BadSource(
                source.name.clone(),
                "defined twice".into(),
            ));
        }
    }
    Ok(())
}

/// Source and subscriber names: they go into queue names, headers and metric labels.
pub(super) fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
