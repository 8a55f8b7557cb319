//! hookgate run as its own process for a measurement.

use super::{amqp_url, drop_database, fresh_database, SECRET};
use hookgate::{
    amqp::{Names, Topology},
    settings::RetryTier,
};
use lapin::{
    options::{ExchangeDeleteOptions, QueueDeleteOptions},
    Connection, ConnectionProperties,
};
use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// hookgate as its own process, so its memory is its own.
pub struct Hookgate {
    pub child: Child,
    url: String,
    pub database_url: String,
    database: String,
    prefix: String,
}

impl Hookgate {
    /// `role`: the subcommand, `run` (every task) or `serve` (receiver and relay).
    pub async fn start(name: &str, role: &str, amqp_url: &str) -> Hookgate {
        let database_url = fresh_database(name).await;
        let prefix = format!("hgbench_{}", uuid::Uuid::new_v4().simple());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_hookgate"))
            .arg(role)
            .env("HOOKGATE_DATABASE_URL", &database_url)
            .env("HOOKGATE_AMQP_URL", amqp_url)
            .env("HOOKGATE_AMQP_PREFIX", &prefix)
            .env("HOOKGATE_LISTEN", format!("127.0.0.1:{port}"))
            .env("HOOKGATE_INTERLACE_SECRETS", SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("hookgate binary");
        let hookgate = Hookgate {
            child,
            url: format!("http://127.0.0.1:{port}"),
            database_url,
            database: name.to_owned(),
            prefix,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while client
            .get(format!("{}/readyz", hookgate.url))
            .send()
            .await
            .map(|r| !r.status().is_success())
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "hookgate did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        hookgate
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/webhooks/interlace", self.url)
    }

    /// Peak resident memory so far, in MiB.
    pub fn peak_memory_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
            .unwrap_or(0.0)
    }

    /// Stops the process; its database and broker objects stay until [`Hookgate::remove`].
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the process and removes its database and its queues and exchanges.
    pub async fn remove(mut self) {
        self.stop();
        let topology = Topology {
            names: Names::new(self.prefix.clone()),
            subscribers: Vec::new(),
            tiers: RetryTier::defaults(),
        };
        if let Ok(connection) =
            Connection::connect(&amqp_url(), ConnectionProperties::default()).await
        {
            if let Ok(channel) = connection.create_channel().await {
                for queue in topology.queues() {
                    let _ = channel
                        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                        .await;
                }
                for exchange in topology.exchanges() {
                    let _ = channel
                        .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                        .await;
                }
            }
        }
        drop_database(&self.database).await;
    }
}
