//! Assembling the running service from its parts.

mod background;
mod pools;
mod roles;
mod startup;

pub use pools::{operations_pool, Pools};
pub use roles::{Roles, StartOptions};

use crate::{
    amqp::{Broker, Topology},
    http::{self, health::RoleReadiness, server::ServerLimits, AppState},
    receiving::{inbox::Inbox, Receiver, VERIFICATION_REASONS, WEBHOOK_OUTCOMES},
    settings::Settings,
    signing::BadSecret,
    store::{self, outbox::OutboxTable},
    supervisor::{RestartPolicy, Supervisor, DEFAULT_STALE_AFTER},
    telemetry::{KnownLabels, Metrics},
    workers::consumer,
};
use background::{receive_role, workers, BackgroundTask};
use sqlx::PgPool;
use startup::{log_start, Schema};
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;

/// How long the background roles get to finish their current step once the HTTP server has
/// drained. Within the deployments' grace periods (k8s: 40 s less the 10 s preStop; compose:
/// 30 s), so that a stuck task is named in the log instead of the process being killed.
const STOP_BUDGET: Duration = Duration::from_secs(20);

/// The task that stores webhooks: a receiving role is not ready without it.
const INBOX_BATCHER: &str = "inbox-batcher";

/// How long requests in flight get to finish at a stop, before the background roles get
/// [`STOP_BUDGET`]: together they fit the 30 s a pod has after its preStop.
const HTTP_DRAIN: Duration = Duration::from_secs(8);

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
    #[error("subscriber {0:?}: {1}")]
    BadSubscriber(String, String),
}

/// Every series this process can count, at zero, over the labels it knows at start-up.
fn start_metrics_at_zero(
    config: &Settings,
    roles: Roles,
    metrics: &Metrics,
    topology: &Topology,
    background: &[BackgroundTask],
) {
    let sources: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
    let work_queues = if roles.work {
        topology.work_queues()
    } else {
        Vec::new()
    };
    let work_queues: Vec<&str> = work_queues.iter().map(String::as_str).collect();
    let subscribers: Vec<&str> = match roles.work {
        true => config.subscribers.iter().map(|s| s.name.as_str()).collect(),
        false => Vec::new(),
    };
    let tasks: Vec<&str> = background.iter().map(|t| t.name.as_str()).collect();
    let outboxes: Vec<&str> = OutboxTable::ALL.iter().map(|t| t.name()).collect();
    metrics.start_at_zero(&KnownLabels {
        sources: if roles.receive { &sources } else { &[] },
        receive_outcomes: &WEBHOOK_OUTCOMES,
        verification_reasons: &VERIFICATION_REASONS,
        outboxes: &outboxes,
        work_queues: &work_queues,
        subscribers: &subscribers,
        worker_outcomes: &consumer::OUTCOMES,
        tasks: &tasks,
        close_reasons: &http::server::CLOSE_REASONS,
    });
}

async fn bind(config: &Settings) -> Result<(TcpListener, SocketAddr), StartupError> {
    let bind_error = |source| StartupError::Bind {
        address: config.server.listen.clone(),
        source,
    };
    let listener = config.server.listener().await.map_err(bind_error)?;
    let address = listener.local_addr().map_err(bind_error)?;
    Ok((listener, address))
}

/// A built, bound service that has not started serving yet.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    header_timeout: Duration,
    address: SocketAddr,
    /// The roles that run beside the HTTP server, started by [`App::run`] and stopped by `stop`.
    background: Vec<BackgroundTask>,
    stop: CancellationToken,
    supervisor: Supervisor,
    pub pool: PgPool,
    pub metrics: Arc<Metrics>,
}

impl App {
    pub async fn build(config: &Settings, options: StartOptions) -> Result<App, StartupError> {
        let pools = Pools::new(config, options.roles)?;
        let pool = pools.background.clone();
        let schema = match options.migrate {
            true => store::migrate(&pool).await.map(|m| {
                Some(Schema {
                    applied_now: m.applied_now,
                    version: m.latest,
                })
            })?,
            false => None,
        };
        log_start(config, options.roles.name(), schema, &pools.budget());
        let metrics = Arc::new(Metrics::new());
        let broker = Arc::new(Broker::new(
            config.broker.urls.clone(),
            Topology::from_settings(config),
            metrics.broker_reconnects.clone(),
        ));
        let stored = Arc::new(Notify::new());
        // Ready: a receiving role when it can store webhooks, `work` when its pool answers.
        let readiness = RoleReadiness {
            role: options.roles.name(),
            pool: pools
                .inbox
                .clone()
                .or(pools.worker.clone())
                .unwrap_or(pool.clone()),
            task: options.roles.receive.then_some(INBOX_BATCHER),
        };
        let inbox_pool = pools.inbox.clone().unwrap_or(pool.clone());
        let (inbox, batcher) = Inbox::new(inbox_pool, config.server.inbox);
        let receiver = Receiver::new(config, inbox, metrics.clone(), Some(stored.clone()))?;
        for source in config.sources.iter().filter(|s| s.secrets.is_empty()) {
            tracing::warn!(source = %source.name, "source has no secret: every webhook to it will be refused");
        }

        let stop = CancellationToken::new();
        let watched = broker.clone();
        let mut background = vec![BackgroundTask::new("broker-watch", move |beat, stop| {
            let broker = watched.clone();
            async move { broker.watch(beat, stop).await }
        })];
        if options.roles.receive {
            background.extend(receive_role(
                config, &pool, &broker, &metrics, batcher, stored,
            ));
        }
        if let Some(worker_pool) = &pools.worker {
            background.extend(workers(config, worker_pool, &broker, &metrics)?);
        }
        let supervisor = Supervisor::new(metrics.clone(), RestartPolicy::default());
        start_metrics_at_zero(
            config,
            options.roles,
            &metrics,
            broker.topology(),
            &background,
        );

        let state = AppState {
            pool: pools.read.clone(),
            changes: pool.clone(),
            read_timeout: config.database.read_timeout,
            readiness,
            receiver: Arc::new(receiver),
            metrics: metrics.clone(),
            stuck_after: config.stuck_after.clone(),
            notifications_kept_days: config.retention.days,
            tokens: http::auth::Tokens::new(
                config.server.api_tokens.clone(),
                config.server.viewer_tokens.clone(),
            ),
            broker: broker.clone(),
            supervisor: supervisor.clone(),
            trusted_proxies: http::client::TrustedProxies(
                config.server.trusted_proxies.clone().into(),
            ),
            scrape: Arc::new(http::scrape::Scrape::new(
                pools.scrape.clone(),
                config.stuck_after.clone(),
            )),
        };
        let (listener, address) = bind(config).await?;
        Ok(App {
            listener,
            header_timeout: config.server.limits.header_timeout,
            router: http::router(state, options.roles.receive, crate::console::router()),
            address,
            background,
            stop,
            supervisor,
            pool,
            metrics,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The supervisor of this app's background tasks; `/readyz` reports every task it runs.
    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// Serves until `shutdown` resolves, finishes the requests in flight, then stops the
    /// background roles after their current step. Fails when a background task kept failing,
    /// so that the process exits non-zero and its own supervisor restarts it.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let mut tasks = JoinSet::new();
        for task in self.background {
            self.supervisor.spawn(
                &mut tasks,
                task.name,
                DEFAULT_STALE_AFTER,
                self.stop.clone(),
                task.start,
            );
        }
        tracing::info!(address = %self.address, "listening");
        let supervisor = self.supervisor.clone();
        let gave_up = CancellationToken::new();
        let gave_up_signal = gave_up.clone();
        let limits = ServerLimits {
            header_timeout: self.header_timeout,
            drain: HTTP_DRAIN,
        };
        let metrics = self.metrics.clone();
        let served = http::server::serve(self.listener, self.router, limits, metrics, async move {
            tokio::select! {
                _ = shutdown => {}
                _ = supervisor.gave_up() => gave_up_signal.cancel(),
            }
        })
        .await;
        self.stop.cancel();
        let stuck = self.supervisor.wait_stopped(tasks, STOP_BUDGET).await;
        served?;
        if gave_up.is_cancelled() {
            return Err(std::io::Error::other(
                "a background task kept failing; see the log",
            ));
        }
        if !stuck.is_empty() {
            return Err(std::io::Error::other(format!(
                "background tasks did not stop within {STOP_BUDGET:?}: {}",
                stuck.join(", ")
            )));
        }
        Ok(())
    }
}
