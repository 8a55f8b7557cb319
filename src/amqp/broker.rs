//! The process's broker connection: made on demand, re-made with backoff after a failure, and
//! the topology declared on every (re)connection, so a broker that starts empty is set up again.
//! With several cluster nodes configured it connects to the first that answers and, after
//! losing a connection, tries the node after the one it lost first.

use super::{
    deadline::{answered, close_failed},
    topology::Topology,
};
use crate::heartbeat::Heartbeat;
use lapin::{options::ConfirmSelectOptions, Channel, Connection, ConnectionProperties};
use prometheus::IntCounter;
use std::{
    sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    time::Duration,
};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

pub struct Broker {
    /// The cluster's nodes, in the configured order; never empty (settings refuse that).
    urls: Vec<String>,
    /// The node the current (or last) connection went to.
    node: AtomicUsize,
    topology: Topology,
    state: BrokerState,
    connection: Mutex<Option<(Connection, ConnectionId)>>,
    /// The id the next connection gets.
    next_id: AtomicU64,
    connected_before: AtomicBool,
    reconnects: IntCounter,
}

impl Broker {
    pub fn new(urls: Vec<String>, topology: Topology, reconnects: IntCounter) -> Broker {
        Broker {
            urls,
            node: AtomicUsize::new(0),
            topology,
            state: BrokerState::default(),
            connection: Mutex::new(None),
            next_id: AtomicU64::new(0),
            connected_before: AtomicBool::new(false),
            reconnects,
        }
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// `up` or `down`, as `/readyz`, `/metrics` and the console report it.
    pub fn describe(&self) -> &'static str {
        self.state.describe()
    }

    /// A channel on a live connection; waits, retrying with backoff, until there is one.
    pub async fn channel(&self) -> Channel {
        self.channel_on_connection().await.0
    }

    async fn channel_on_connection(&self) -> (Channel, ConnectionId) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.try_channel().await {
                Ok(opened) => return opened,
                Err(error) => {
                    self.state.set_up(false);
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "broker unavailable");
                    tokio::time::sleep(jittered(backoff)).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// A confirming channel for one operation, or `None` when the broker does not give one
    /// within `limit`: an operator's command must not wait for a broker that is away.
    pub async fn confirmed_channel_within(&self, limit: Duration) -> Option<Channel> {
        tokio::time::timeout(limit, self.confirmed_channel())
            .await
            .ok()
    }

    /// A channel with publisher confirms on, as every channel that publishes must have (the
    /// consumers' too: they publish retries and dead letters).
    pub async fn confirmed_channel(&self) -> Channel {
        self.publishing_link().await.channel
    }

    /// A confirming channel and the connection it is on, for a user that reports failures.
    pub async fn publishing_link(&self) -> Link {
        loop {
            let (channel, connection) = self.channel_on_connection().await;
            let confirms = channel.confirm_select(ConfirmSelectOptions::default());
            match answered("confirm.select", confirms).await {
                Ok(()) => {
                    return Link {
                        channel,
                        connection,
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot enable publisher confirms");
                    self.connection_failed(connection).await;
                }
            }
        }
    }

    /// Drops the connection a user saw fail; the next request for a channel reconnects. A
    /// failure seen on a connection already replaced leaves the new one alone: every task
    /// holding a channel of the lost connection reports it, and each report must not tear
    /// down the connection the first one made.
    pub async fn connection_failed(&self, failed: ConnectionId) {
        let stale = {
            let mut current = self.connection.lock().await;
            match current.as_ref() {
                Some((_, id)) if *id == failed => current.take(),
                _ => None,
            }
        };
        if let Some((connection, _)) = stale {
            self.state.set_up(false);
            close_failed(connection).await;
        }
    }

    async fn try_channel(&self) -> lapin::Result<(Channel, ConnectionId)> {
        let mut current = self.connection.lock().await;
        if let Some((connection, id)) = current.as_ref().filter(|(c, _)| c.status().connected()) {
            let id = *id;
            let opened = answered("channel.open", connection.create_channel()).await;
            return match opened {
                Ok(channel) => Ok((channel, id)),
                Err(error) => {
                    if let Some((silent, _)) = current.take() {
                        close_failed(silent).await;
                    }
                    Err(error)
                }
            };
        }
        let connection = self.connect().await?;
        let channel = answered("channel.open", connection.create_channel()).await?;
        answered("declaring the topology", self.topology.declare(&channel)).await?;
        self.state.set_up(true);
        if self.connected_before.swap(true, Ordering::Relaxed) {
            self.reconnects.inc();
            tracing::info!("broker connection re-established");
        } else {
            tracing::info!("broker connected, topology declared");
        }
        let id = ConnectionId(self.next_id.fetch_add(1, Ordering::Relaxed));
        *current = Some((connection, id));
        Ok((channel, id))
    }

    /// Tries each node once and keeps the first that answers: from the first node until a
    /// connection has been made, then from the node after the last one connected to, so a lost
    /// node is tried last. Nodes are named by position, never by URL, which may hold a password.
    async fn connect(&self) -> lapin::Result<Connection> {
        let count = self.urls.len();
        let mut node = if self.connected_before.load(Ordering::Relaxed) {
            (self.node.load(Ordering::Relaxed) + 1) % count
        } else {
            0
        };
        let mut tried = 1;
        loop {
            let properties =
                ConnectionProperties::default().with_connection_name("hookgate".into());
            match answered("connect", Connection::connect(&self.urls[node], properties)).await {
                Ok(connection) => {
                    self.node.store(node, Ordering::Relaxed);
                    if count > 1 {
                        tracing::info!(node = node + 1, "connected to broker node");
                    }
                    return Ok(connection);
                }
                Err(error) if tried < count => {
                    tracing::warn!(node = node + 1, %error, "broker node unavailable");
                    node = (node + 1) % count;
                    tried += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Keeps the reported broker state true while nothing is being published: checks the
    /// connection every second and marks the broker down once it is gone.
    pub async fn watch(&self, heartbeat: Heartbeat, stop: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
            heartbeat.beat();
            // A connection attempt under way holds the lock; the next tick looks again.
            if let Ok(current) = self.connection.try_lock() {
                if !current
                    .as_ref()
                    .is_some_and(|(c, _)| c.status().connected())
                {
                    if self.state.describe() == "up" {
                        tracing::warn!("broker connection lost");
                    }
                    self.state.set_up(false);
                }
            }
        }
    }
}

/// Which of the process's successive broker connections a channel was opened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionId(u64);

/// A confirming channel and the connection it was opened on.
#[derive(Clone)]
pub struct Link {
    pub channel: Channel,
    pub connection: ConnectionId,
}

fn jittered(base: Duration) -> Duration {
    base.mul_f64(rand::random_range(0.8..1.2))
}

/// What the app knows of its broker connection. It starts `down` until the first connection
/// succeeds.
#[derive(Default)]
struct BrokerState(AtomicU8);

impl BrokerState {
    const DOWN: u8 = 0;
    const UP: u8 = 1;

    fn set_up(&self, up: bool) {
        self.0
            .store(if up { Self::UP } else { Self::DOWN }, Ordering::Relaxed);
    }

    fn describe(&self) -> &'static str {
        if self.0.load(Ordering::Relaxed) == Self::UP {
            "up"
        } else {
            "down"
        }
    }
}
