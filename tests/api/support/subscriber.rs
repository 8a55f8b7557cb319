//! An HTTP subscriber for tests: answers with a scripted list of statuses and records every
//! request, checking its Standard Webhooks signature independently of the crate.

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::{Arc, Mutex};

/// Test options with this subscriber configured as `ledger`, on every notification.
pub fn subscribed(subscriber: &Subscriber) -> super::TestOptions {
    subscribed_at(&subscriber.url)
}

/// Test options with a subscriber `ledger` at `url`, on every notification.
pub fn subscribed_at(url: &str) -> super::TestOptions {
    subscribed_with(url, SECRET)
}

/// Test options with a subscriber `ledger` at `url` signed with `secret`.
pub fn subscribed_with(url: &str, secret: &str) -> super::TestOptions {
    super::TestOptions {
        subscribers: vec![hookgate::settings::SubscriberConfig {
            name: "ledger".into(),
            url: url.to_owned(),
            secret: hookgate::settings::Secret::new(secret),
            patterns: vec!["notify.#".into()],
            timeout_ms: 2000,
        }],
        ..super::TestOptions::default()
    }
}

/// A configuration file naming `config`'s subscribers, as an operator's commands read the
/// service's own file.
pub fn config_file(config: &hookgate::settings::Settings) -> std::path::PathBuf {
    let mut text = String::new();
    for s in &config.subscribers {
        text += &format!(
            "[[subscribers]]\nname = {:?}\nurl = {:?}\nsecret = {:?}\npatterns = {:?}\ntimeout_ms = {}\n",
            s.name, s.url, s.secret.expose(), s.patterns, s.timeout_ms
        );
    }
    let path = std::env::temp_dir().join(format!("{}.toml", config.broker.prefix));
    std::fs::write(&path, text).expect("the subscribers file is written");
    path
}

pub const SECRET: &str = "whsec_c3Vic2NyaWJlci1zZWNyZXQtZm9yLXRlc3Rz";

#[derive(Debug, Clone)]
pub struct Received {
    pub webhook_id: String,
    pub webhook_timestamp: String,
    /// The `webhook-signature` header as sent.
    pub signatures: String,
    pub body: String,
    pub signature_valid: bool,
    pub answered: u16,
    /// The `traceparent` header as sent.
    pub traceparent: String,
}

#[derive(Default)]
struct Script {
    answers: Vec<u16>,
    received: Vec<Received>,
    /// While set, requests wait before they are answered.
    held: bool,
    /// Requests waiting now.
    waiting: usize,
}

#[derive(Clone)]
pub struct Subscriber {
    pub url: String,
    script: Arc<Mutex<Script>>,
}

impl Subscriber {
    /// Answers `answers` in turn, then 200 for ever.
    pub async fn start(answers: &[u16]) -> Subscriber {
        let script = Arc::new(Mutex::new(Script {
            answers: answers.iter().rev().copied().collect(),
            ..Script::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/hooks", post(record))
            .with_state(script.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Subscriber { url, script }
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }

    /// Makes every request wait, unanswered, until [`Subscriber::release`].
    pub fn hold(&self) {
        self.script.lock().unwrap().held = true;
    }

    pub fn release(&self) {
        self.script.lock().unwrap().held = false;
    }

    /// Requests waiting unanswered now.
    pub fn waiting(&self) -> usize {
        self.script.lock().unwrap().waiting
    }

    pub fn delivered(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.answered == 200)
            .collect()
    }
}

async fn record(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, timestamp, signatures) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let key = STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    if script.lock().unwrap().held {
        script.lock().unwrap().waiting += 1;
        while script.lock().unwrap().held {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        script.lock().unwrap().waiting -= 1;
    }
    let mut script = script.lock().unwrap();
    let answered = script.answers.pop().unwrap_or(200);
    script.received.push(Received {
        signature_valid: signatures.split_whitespace().any(|s| s == expected),
        signatures,
        webhook_timestamp: timestamp,
        webhook_id: id,
        body: String::from_utf8_lossy(&body).into_owned(),
        answered,
        traceparent: header("traceparent"),
    });
    StatusCode::from_u16(answered).unwrap()
}

/// Starts a subscriber that answers every POST with `307` to `to`, and returns its URL.
pub async fn start_redirector(to: &str) -> String {
    let to = to.to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/hooks",
        post(move || {
            let to = to.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [("location", to)]) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}
