//! The process's broker connection: made on demand, re-made with backoff after a failure, and
//! the topology declared on every (re)connection, so a broker that starts empty is set up again.

use super::topology::Topology;
use crate::http::BrokerState;
use futures_util::StreamExt;
use lapin::{options::ConfirmSelectOptions, Channel, Connection, ConnectionProperties, Event};
use prometheus::IntCounter;
use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};
use tokio::sync::Mutex;

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

pub struct Broker {
    url: String,
    topology: Topology,
    state: BrokerState,
    connection: Mutex<Option<Connection>>,
    connected_before: AtomicBool,
    reconnects: IntCounter,
}

impl Broker {
    pub fn new(
        url: String,
        topology: Topology,
        state: BrokerState,
        reconnects: IntCounter,
    ) -> Broker {
        Broker {
            url,
            topology,
            state,
            connection: Mutex::new(None),
            connected_before: AtomicBool::new(false),
            reconnects,
        }
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// A channel on a live connection; waits, retrying with backoff, until there is one.
    pub async fn channel(&self) -> Channel {
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.try_channel().await {
                Ok(channel) => return channel,
                Err(error) => {
                    self.state.set_up(false);
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "broker unavailable");
                    tokio::time::sleep(jittered(backoff)).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// A channel with publisher confirms on, as every publishing channel must have.
    pub async fn publishing_channel(&self) -> Channel {
        loop {
            let channel = self.channel().await;
            match channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
            {
                Ok(()) => return channel,
                Err(error) => {
                    tracing::warn!(%error, "cannot enable publisher confirms");
                    self.connection_failed().await;
                }
            }
        }
    }

    /// Drops the current connection after a failure seen by its user; the next request for a
    /// channel reconnects.
    pub async fn connection_failed(&self) {
        self.state.set_up(false);
        let stale = self.connection.lock().await.take();
        if let Some(connection) = stale {
            let _ = connection.close(320, "hookgate reconnects".into()).await;
        }
    }

    async fn try_channel(&self) -> lapin::Result<Channel> {
        let mut current = self.connection.lock().await;
        if let Some(connection) = current.as_ref().filter(|c| c.status().connected()) {
            return connection.create_channel().await;
        }
        let connection = Connection::connect(
            &self.url,
            ConnectionProperties::default().with_connection_name("hookgate".into()),
        )
        .await?;
        let channel = connection.create_channel().await?;
        self.topology.declare(&channel).await?;
        self.watch(&connection);
        self.state.set_up(true);
        if self.connected_before.swap(true, Ordering::Relaxed) {
            self.reconnects.inc();
            tracing::info!("broker connection re-established");
        } else {
            tracing::info!("broker connected, topology declared");
        }
        *current = Some(connection);
        Ok(channel)
    }

    /// Marks the broker down as soon as the connection reports an error, so `/readyz` tells
    /// the truth even while nothing is being published.
    fn watch(&self, connection: &Connection) {
        let state = self.state.clone();
        let mut events = connection.events_listener();
        tokio::spawn(async move {
            while let Some(event) = events.next().await {
                if let Event::Error(error) = event {
                    tracing::warn!(%error, "broker connection lost");
                    state.set_up(false);
                    break;
                }
            }
        });
    }
}

fn jittered(base: Duration) -> Duration {
    base.mul_f64(rand::random_range(0.8..1.2))
}
