//! `[[sources]]`: who may send webhooks, with which scheme and secrets.

use super::{env::Env, SettingsError};
use ipnet::IpNet;
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

    /// The empty secret a subscriber has until the file or the environment gives one.
    pub(super) fn missing() -> Self {
        Secret(String::new())
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
    /// When set, requests from other client addresses get 403 (SPEC 2.3).
    #[serde(default)]
    pub allowed_networks: Option<Vec<IpNet>>,
}

/// The variable that holds a named source's or subscriber's secret, so the file can live in a
/// ConfigMap and the secret in a Secret: `<prefix><NAME>`, upper-cased, `-` as `_`.
pub(super) fn secret_variable(prefix: &str, name: &str) -> String {
    format!("{prefix}{}", name.to_ascii_uppercase().replace('-', "_"))
}

/// `HOOKGATE_SOURCE_SECRETS_<NAME>` (comma-separated) replaces the file's secrets of a source.
pub(super) fn apply_secret_variables(
    sources: &mut [SourceConfig],
    env: &Env<impl Fn(&str) -> Option<String>>,
) -> Result<(), SettingsError> {
    for source in sources {
        let variable = secret_variable("HOOKGATE_SOURCE_SECRETS_", &source.name);
        if let Some(list) = env.list(&variable) {
            source.secrets = non_empty(list, &variable)?;
        }
    }
    Ok(())
}

/// A secrets list given in a variable must hold a secret: one of only commas is a mistake
/// that would leave the source refusing everything.
fn non_empty(list: Vec<String>, variable: &str) -> Result<Vec<Secret>, SettingsError> {
    if list.is_empty() {
        return Err(SettingsError::BadList(variable.to_owned()));
    }
    Ok(list.into_iter().map(Secret::new).collect())
}

/// `HOOKGATE_INTERLACE_SECRETS` defines the `interlace` source, or replaces the secrets of the
/// one the file defines. The source always exists, so the default route is there even before
/// a secret is configured (it then rejects everything as unsigned).
pub(super) fn apply_interlace_secrets(
    sources: &mut Vec<SourceConfig>,
    env: &Env<impl Fn(&str) -> Option<String>>,
) -> Result<(), SettingsError> {
    let variable = "HOOKGATE_INTERLACE_SECRETS";
    let secrets = match env.list(variable) {
        Some(list) => Some(non_empty(list, variable)?),
        None => None,
    };
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
            allowed_networks: None,
        }),
    }
    Ok(())
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
        if let Some(reason) = source.secrets.iter().find_map(|s| empty_secret(s.expose())) {
            return Err(SettingsError::BadSource(
                source.name.clone(),
                format!("secrets: an entry {reason}"),
            ));
        }
        // `interlace` exists without a secret (refusing everything) until it is given one;
        // a source someone configured needs one.
        if source.secrets.is_empty() && source.name != INTERLACE_SOURCE {
            return Err(SettingsError::BadSource(
                source.name.clone(),
                format!(
                    "secrets: needs at least one non-empty secret, in the file or {}",
                    secret_variable("HOOKGATE_SOURCE_SECRETS_", &source.name)
                ),
            ));
        }
    }
    Ok(())
}

/// Why a secret is empty (`is empty`, `is whsec_ with no key after it`), if it is: an empty
/// key would accept anything signed with it.
pub(super) fn empty_secret(secret: &str) -> Option<String> {
    let key = ["whsec_", "whpk_", "whsk_"]
        .iter()
        .find_map(|prefix| secret.strip_prefix(prefix).map(|key| (*prefix, key)));
    match key {
        _ if secret.trim().is_empty() => Some("is empty".into()),
        Some((prefix, key)) if key.trim().is_empty() => {
            Some(format!("is {prefix} with no key after it"))
        }
        _ => None,
    }
}

/// Source and subscriber names: they go into queue names, headers and metric labels.
pub(super) fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
