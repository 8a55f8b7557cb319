//! The HTTP server and the inbox it stores webhooks in.

use super::{env::Env, Secret, SettingsError};
use ipnet::IpNet;
use std::time::Duration;
use tokio::net::TcpListener;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// RabbitMQ's default largest message: a body over it could never be published (SPEC 7).
pub const MAX_BODY_LIMIT: usize = 128 * 1024 * 1024;
/// An API token shorter than this is accepted with a warning.
pub const SHORT_TOKEN_CHARS: usize = 32;

#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `HOOKGATE_LISTEN`.
    pub listen: String,
    /// `HOOKGATE_MAX_BODY_BYTES`: larger webhooks get 413.
    pub max_body_bytes: usize,
    /// `HOOKGATE_API_TOKEN`: the operator's tokens, comma-separated so that one is rotated
    /// without a gap. Without any token (of either role) the read and admin API answer 503.
    pub api_tokens: Vec<Secret>,
    /// `HOOKGATE_VIEWER_TOKEN`: tokens that may read but change nothing (SPEC 5).
    pub viewer_tokens: Vec<Secret>,
    pub inbox: InboxSettings,
    pub limits: RequestLimits,
    /// `HOOKGATE_TRUSTED_PROXIES`: proxies whose last `X-Forwarded-For` hop names the client.
    pub trusted_proxies: Vec<IpNet>,
}

/// What one client can hold of the server before it is refused (SPEC 2.3).
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Headers complete within this, else 408 and the connection is closed.
    pub header_timeout: Duration,
    /// `HOOKGATE_BODY_TIMEOUT_MS`: the body complete within this of the headers.
    pub body_timeout: Duration,
    /// `HOOKGATE_MAX_IN_FLIGHT`: webhook requests under way at once; more get 503 `busy`.
    pub max_in_flight: usize,
    /// `HOOKGATE_MAX_BODY_BYTES_IN_FLIGHT`: bytes of webhook bodies under way at once.
    pub max_body_bytes_in_flight: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_in_flight: 1024,
            max_body_bytes_in_flight: 64 * 1024 * 1024,
        }
    }
}

/// Group commit: how the receiver batches webhooks into inbox inserts.
#[derive(Debug, Clone, Copy)]
pub struct InboxSettings {
    /// `HOOKGATE_INBOX_MAX_BATCH`: events per insert at most.
    pub max_batch: usize,
    /// `HOOKGATE_INBOX_COMMITS`: commits under way at once (and the inbox pool's size); more
    /// waiting requests make the next batches larger.
    pub max_in_flight: usize,
    /// A commit that has not finished by then is answered 503 (`HOOKGATE_DATABASE_TIMEOUT_MS`).
    pub timeout: Duration,
}

impl Default for InboxSettings {
    fn default() -> Self {
        InboxSettings {
            max_batch: 256,
            max_in_flight: 4,
            timeout: Duration::from_secs(3),
        }
    }
}

impl ServerSettings {
    pub(super) fn read(
        env: &Env<impl Fn(&str) -> Option<String>>,
        database_timeout: Duration,
    ) -> Result<Self, SettingsError> {
        let defaults = InboxSettings::default();
        let max_body_bytes = env.bounded(
            "HOOKGATE_MAX_BODY_BYTES",
            DEFAULT_MAX_BODY_BYTES,
            1..=MAX_BODY_LIMIT,
            "a number of bytes from 1 to 134217728 (128 MiB, RabbitMQ's default message limit)",
        )?;
        Ok(ServerSettings {
            listen: env.text_or("HOOKGATE_LISTEN", DEFAULT_LISTEN),
            limits: RequestLimits::read(env, max_body_bytes)?,
            trusted_proxies: networks(env, "HOOKGATE_TRUSTED_PROXIES")?,
            max_body_bytes,
            api_tokens: tokens(env, "HOOKGATE_API_TOKEN"),
            viewer_tokens: tokens(env, "HOOKGATE_VIEWER_TOKEN"),
            inbox: InboxSettings {
                max_batch: env.bounded(
                    "HOOKGATE_INBOX_MAX_BATCH",
                    defaults.max_batch,
                    1..=10_000,
                    "a number of events from 1 to 10000",
                )?,
                max_in_flight: env.bounded(
                    "HOOKGATE_INBOX_COMMITS",
                    defaults.max_in_flight,
                    1..=64,
                    "a number of commits from 1 to 64",
                )?,
                timeout: database_timeout,
            },
        })
    }

    /// The bound listener (port 0 picks a free port).
    pub async fn listener(&self) -> std::io::Result<TcpListener> {
        TcpListener::bind(&self.listen).await
    }
}

impl RequestLimits {
    fn read(
        env: &Env<impl Fn(&str) -> Option<String>>,
        max_body_bytes: usize,
    ) -> Result<Self, SettingsError> {
        let defaults = RequestLimits::default();
        Ok(RequestLimits {
            header_timeout: defaults.header_timeout,
            body_timeout: env.positive_millis(
                "HOOKGATE_BODY_TIMEOUT_MS",
                defaults.body_timeout.as_millis() as u64,
            )?,
            max_in_flight: env.bounded(
                "HOOKGATE_MAX_IN_FLIGHT",
                defaults.max_in_flight,
                1..=1_000_000,
                "a number of requests from 1 to 1000000",
            )?,
            // One body of the largest size must always fit.
            max_body_bytes_in_flight: env.bounded(
                "HOOKGATE_MAX_BODY_BYTES_IN_FLIGHT",
                defaults.max_body_bytes_in_flight.max(max_body_bytes),
                max_body_bytes..=1 << 40,
                "a number of bytes, at least HOOKGATE_MAX_BODY_BYTES",
            )?,
        })
    }
}

/// A comma-separated list of networks (`203.0.113.0/24`, or one address).
fn networks(
    env: &Env<impl Fn(&str) -> Option<String>>,
    name: &'static str,
) -> Result<Vec<IpNet>, SettingsError> {
    env.list(name)
        .unwrap_or_default()
        .iter()
        .map(|entry| {
            parse_network(entry).ok_or_else(|| SettingsError::BadValue {
                name,
                expected: "a comma-separated list of CIDRs such as 10.0.0.0/8 or addresses",
                value: entry.clone(),
            })
        })
        .collect()
}

/// A CIDR, or a single address as the network of just it.
pub fn parse_network(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

/// A role's comma-separated tokens; a short one is accepted with a warning.
fn tokens(env: &Env<impl Fn(&str) -> Option<String>>, name: &str) -> Vec<Secret> {
    let tokens = env.list(name).unwrap_or_default();
    if tokens
        .iter()
        .any(|token| token.chars().count() < SHORT_TOKEN_CHARS)
    {
        env.warn(format!(
            "{name} has a token shorter than {SHORT_TOKEN_CHARS} characters"
        ));
    }
    tokens.into_iter().map(Secret::new).collect()
}
