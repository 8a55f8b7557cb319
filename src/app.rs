//! Assembling the running service from its parts.

use crate::{
    config::Config,
    db,
    http::{self, AppState, BrokerState},
    receiving::{
        inbox::{Inbox, InboxSettings},
        schemes::BadSecret,
        Receiver,
    },
    telemetry::Metrics,
};
use sqlx::PgPool;
use std::{future::Future, net::SocketAddr, sync::Arc};
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    BadSecret(#[from] BadSecret),
}

#[derive(Debug, Clone, Copy)]
pub struct StartOptions {
    pub migrate: bool,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions { migrate: true }
    }
}

/// A built, bound service that has not started serving yet.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    address: SocketAddr,
    pub pool: PgPool,
    pub metrics: Arc<Metrics>,
}

impl App {
    pub async fn build(config: &Config, options: StartOptions) -> Result<App, StartupError> {
        let pool = db::pool(&config.database_url, config.database_timeout)?;
        if options.migrate {
            db::migrate(&pool).await?;
        }
        let metrics = Arc::new(Metrics::new());
        let inbox = Inbox::start(
            pool.clone(),
            InboxSettings {
                timeout: config.database_timeout,
                ..InboxSettings::default()
            },
        );
        let receiver = Receiver::new(config, inbox, metrics.clone(), None)?;
        for source in config.sources.iter().filter(|s| s.secrets.is_empty()) {
            tracing::warn!(source = %source.name, "source has no secret: every webhook to it will be refused");
        }
        let state = AppState {
            pool: pool.clone(),
            receiver: Arc::new(receiver),
            metrics: metrics.clone(),
            broker: BrokerState::not_used(),
        };
        let listener =
            TcpListener::bind(&config.listen)
                .await
                .map_err(|source| StartupError::Bind {
                    address: config.listen.clone(),
                    source,
                })?;
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            address: config.listen.clone(),
            source,
        })?;
        Ok(App {
            listener,
            router: http::router(state),
            address,
            pool,
            metrics,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(address = %self.address, "listening");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
