//! The platform-shaped fixtures in `../shared/fixtures`, read where they are (never copied).

use serde::Deserialize;
use std::{collections::BTreeMap, path::PathBuf};

#[derive(Debug, Clone)]
pub struct Fixture {
    pub name: String,
    pub secret: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Fixture {
    /// The platform's headers for this fixture plus `Content-Type: application/json`.
    pub fn json_headers(&self) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = self.headers.clone().into_iter().collect();
        headers.push(("Content-Type".into(), "application/json".into()));
        headers
    }

    /// This fixture with `from` replaced by `to` after it was signed, as a forger would send it.
    pub fn tampered(&self, from: &str, to: &str) -> Fixture {
        let body = self.body.replace(from, to);
        assert_ne!(body, self.body, "{from} is in the fixture");
        Fixture {
            body,
            ..self.clone()
        }
    }
}

#[derive(Deserialize)]
struct Signature {
    file: String,
    secret: String,
    headers: BTreeMap<String, String>,
}

pub fn dir() -> PathBuf {
    std::env::var_os("HOOKGATE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"))
}

fn load(scheme: &str) -> Vec<Fixture> {
    let dir = dir();
    let index = std::fs::read_to_string(dir.join(scheme).join("signatures.json"))
        .unwrap_or_else(|e| panic!("fixtures not found in {}: {e}", dir.display()));
    let signatures: Vec<Signature> = serde_json::from_str(&index).expect("signatures.json");
    signatures
        .into_iter()
        .map(|s| Fixture {
            name: s
                .file
                .rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".json")
                .to_owned(),
            body: std::fs::read_to_string(dir.join(&s.file)).expect("fixture file"),
            secret: s.secret,
            headers: s.headers,
        })
        .collect()
}

pub fn interlace() -> Vec<Fixture> {
    load("interlace")
}

pub fn interlace_named(name: &str) -> Fixture {
    interlace()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no interlace fixture {name}"))
}

pub fn standard_webhooks() -> Fixture {
    load("standard-webhooks").remove(0)
}

/// The secret every interlace fixture is signed with.
pub const INTERLACE_SECRET: &str = "test-interlace-secret-0001";
