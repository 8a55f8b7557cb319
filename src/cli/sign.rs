//! `hookgate sign` and `hookgate send`: build (and post) a signed webhook so a person can try
//! the receiver by hand.

use super::{args::EventFile, when::parse_when};
use crate::{
    settings::{SchemeKind, Secret, Settings, SourceConfig, INTERLACE_SOURCE},
    signing::{self, OutgoingEvent, SignedRequest},
};
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("no source named {0:?} is configured")]
    UnknownSource(String),
    #[error("source {0:?} has no secret to sign with (set HOOKGATE_INTERLACE_SECRETS or the config file)")]
    NoSecret(String),
    #[error("{0} is not a JSON file: {1}")]
    NotJson(String, serde_json::Error),
    #[error("{0} is a bare resource: say which event it is with --event-type")]
    NoEventType(String),
    #[error(transparent)]
    BadSecret(#[from] signing::BadSecret),
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("--create-time: {0}")]
    BadTime(String),
}

/// What to sign: a file holding either a whole Interlace envelope (its id, type and resource
/// are kept) or a bare resource object.
pub struct SignInput<'a> {
    pub source: &'a str,
    pub file: &'a str,
    pub event_type: Option<&'a str>,
    pub event_id: Option<&'a str>,
    /// Instead of the source's configured secret.
    pub secret: Option<&'a str>,
    pub create_time: Option<DateTime<Utc>>,
}

pub fn sign(config: &Settings, input: &SignInput<'_>) -> Result<SignedRequest, SignError> {
    let mut source = match config.source(input.source) {
        Some(source) => source.clone(),
        None if input.source == INTERLACE_SOURCE => SourceConfig {
            name: INTERLACE_SOURCE.to_owned(),
            scheme: SchemeKind::Interlace,
            secrets: Vec::new(),
            timestamp_tolerance_secs: None,
            allowed_networks: None,
        },
        None => return Err(SignError::UnknownSource(input.source.to_owned())),
    };
    if let Some(secret) = input.secret {
        source.secrets = vec![Secret::new(secret.to_owned())];
    }
    let scheme = signing::for_source(&source)?;
    let text = std::fs::read_to_string(input.file)
        .map_err(|e| SignError::Read(input.file.to_owned(), e))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| SignError::NotJson(input.file.to_owned(), e))?;
    let generated_id = uuid::Uuid::new_v4().to_string();
    let (id, event_type, resource) = match (&value["eventType"], &value["resource"]) {
        (Value::String(event_type), Value::String(resource)) => (
            input
                .event_id
                .or(value["id"].as_str())
                .unwrap_or(&generated_id)
                .to_owned(),
            input.event_type.unwrap_or(event_type).to_owned(),
            resource.clone(),
        ),
        _ => (
            input.event_id.unwrap_or(&generated_id).to_owned(),
            input
                .event_type
                .ok_or_else(|| SignError::NoEventType(input.file.to_owned()))?
                .to_owned(),
            text,
        ),
    };
    scheme
        .sign(&OutgoingEvent {
            event_id: &id,
            event_type: &event_type,
            resource: &resource,
            time: input.create_time.unwrap_or_else(Utc::now),
        })
        .ok_or_else(|| SignError::NoSecret(input.source.to_owned()))
}

/// The request as text: a request line, headers, a blank line, the body.
pub fn render(path: &str, request: &SignedRequest) -> String {
    let mut out = format!("POST {path}\n");
    for (name, value) in &request.headers {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push('\n');
    out.push_str(&request.body);
    out.push('\n');
    out
}

impl EventFile {
    fn sign(&self, config: &Settings) -> Result<SignedRequest, SignError> {
        let create_time = self
            .create_time
            .as_deref()
            .map(|time| parse_when(time, Utc::now()))
            .transpose()
            .map_err(SignError::BadTime)?;
        sign(
            config,
            &SignInput {
                source: &self.source,
                file: &self.file,
                event_type: self.event_type.as_deref(),
                event_id: self.event_id.as_deref(),
                secret: self.secret.as_deref(),
                create_time,
            },
        )
    }
}

/// `hookgate sign`: the request as text, or `{"headers":{...},"body":"..."}`.
pub fn print_signed(config: &Settings, event: &EventFile, json: bool) -> Result<(), SignError> {
    let request = event.sign(config)?;
    if json {
        let headers: serde_json::Map<String, Value> = request
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        println!(
            "{}",
            serde_json::json!({"headers": headers, "body": request.body})
        );
    } else {
        print!(
            "{}",
            render(&format!("/webhooks/{}", event.source), &request)
        );
    }
    Ok(())
}

/// `hookgate send`: signs and POSTs, printing the answer; fails unless it was a success.
pub async fn send(
    config: &Settings,
    url: Option<String>,
    event: &EventFile,
    json: bool,
) -> anyhow::Result<()> {
    let request = event.sign(config)?;
    let url =
        url.unwrap_or_else(|| format!("http://{}/webhooks/{}", config.server.listen, event.source));
    let mut post = reqwest::Client::new().post(&url).body(request.body);
    for (name, value) in &request.headers {
        post = post.header(name, value);
    }
    let response = post.send().await.with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let body = response.text().await?;
    if json {
        println!(
            "{}",
            serde_json::json!({"status": status.as_u16(), "body": body})
        );
    } else {
        println!("{} {body}", status.as_u16());
    }
    anyhow::ensure!(status.is_success(), "the receiver refused the webhook");
    Ok(())
}
