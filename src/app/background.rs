//! The background tasks of each role, each with its name and how to start it (again, after a
//! failure, by the supervisor).

use super::{StartupError, INBOX_BATCHER};
use crate::{
    amqp::Broker,
    heartbeat::Heartbeat,
    ops::{minute_figures, retention},
    receiving::inbox::Batcher,
    relay::{EventOutbox, NotificationOutbox, Outbox, Relay},
    settings::Settings,
    store,
    telemetry::Metrics,
    workers::{
        consumer::Consumer, notifier::HttpNotifier, read_model::ReadModelHandler,
        retry_watch::Redrive,
    },
};
use futures_util::future::BoxFuture;
use sqlx::PgPool;
use std::{future::Future, sync::Arc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// A background part of a role: its name and how to start it, again after a failure.
pub(super) struct BackgroundTask {
    pub(super) name: String,
    pub(super) start:
        Box<dyn Fn(Heartbeat, CancellationToken) -> BoxFuture<'static, ()> + Send + Sync>,
}

impl BackgroundTask {
    pub(super) fn new<F, Fut>(name: impl Into<String>, start: F) -> BackgroundTask
    where
        F: Fn(Heartbeat, CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        BackgroundTask {
            name: name.into(),
            start: Box::new(move |heartbeat, stop| Box::pin(start(heartbeat, stop))),
        }
    }
}

/// A relay for `outbox`, sweeping as configured.
fn relay<O: Outbox>(
    outbox: O,
    config: &Settings,
    pool: &PgPool,
    broker: &Arc<Broker>,
    metrics: &Arc<Metrics>,
) -> Arc<Relay<O>> {
    Arc::new(Relay {
        outbox,
        pool: pool.clone(),
        broker: broker.clone(),
        metrics: metrics.clone(),
        settings: config.relay,
        deadline: store::Deadline(config.database.call_deadline()),
    })
}

/// The `work` role: the read-model worker, the notification relay it wakes, and one HTTP
/// notifier per subscriber.
pub(super) fn workers(
    config: &Settings,
    pool: &PgPool,
    broker: &Arc<Broker>,
    metrics: &Arc<Metrics>,
) -> Result<Vec<BackgroundTask>, StartupError> {
    let names = broker.topology().names.clone();
    let notifications = Arc::new(Notify::new());
    let deadline = store::Deadline(config.database.call_deadline());
    let mut tasks: Vec<BackgroundTask> = Vec::new();
    let read_model = Arc::new(Consumer {
        queue: names.read_model(),
        handler: Arc::new(ReadModelHandler {
            pool: pool.clone(),
            metrics: metrics.clone(),
            queue: names.read_model(),
            notifications: notifications.clone(),
            deadline,
        }),
        broker: broker.clone(),
        metrics: metrics.clone(),
        pool: pool.clone(),
        deadline,
        retry_grace: config.broker.retry_grace,
        prefetch: config.workers.read_model_prefetch,
        batch: config.workers.read_model_batch,
    });
    tasks.push(BackgroundTask::new(
        "read-model-worker",
        move |beat, stop| read_model.clone().run(beat, stop),
    ));
    let relay = relay(
        NotificationOutbox {
            names: names.clone(),
        },
        config,
        pool,
        broker,
        metrics,
    );
    tasks.push(BackgroundTask::new(
        "notification-relay",
        move |beat, stop| relay.clone().run(notifications.clone(), beat, stop),
    ));
    for subscriber in &config.subscribers {
        let notifier = HttpNotifier::new(subscriber, pool.clone(), deadline, metrics.clone())
            .map_err(|reason| StartupError::BadSubscriber(subscriber.name.clone(), reason))?;
        let consumer = Arc::new(Consumer {
            queue: names.subscriber(&subscriber.name),
            handler: Arc::new(notifier),
            broker: broker.clone(),
            metrics: metrics.clone(),
            pool: pool.clone(),
            deadline,
            retry_grace: config.broker.retry_grace,
            prefetch: config.workers.notifier_prefetch,
            // Two batches in flight, neither holding a database connection while it POSTs.
            batch: usize::from(config.workers.notifier_prefetch).div_ceil(2),
        });
        tasks.push(BackgroundTask::new(
            format!("notifier-{}", subscriber.name),
            move |beat, stop| consumer.clone().run(beat, stop),
        ));
    }
    let redrive = Arc::new(Redrive {
        pool: pool.clone(),
        broker: broker.clone(),
        metrics: metrics.clone(),
        queues: broker.topology().work_queues(),
        grace: config.broker.retry_grace,
        deadline,
    });
    tasks.push(BackgroundTask::new("retry-redrive", move |beat, stop| {
        redrive.clone().run(beat, stop)
    }));
    Ok(tasks)
}

/// The `serve` role's background: the inbox batcher, the event relay it wakes, retention, and
/// the minute figures the console charts.
pub(super) fn receive_role(
    config: &Settings,
    pool: &PgPool,
    broker: &Arc<Broker>,
    metrics: &Arc<Metrics>,
    batcher: Arc<Batcher>,
    stored: Arc<Notify>,
) -> Vec<BackgroundTask> {
    let relay = relay(
        EventOutbox {
            names: broker.topology().names.clone(),
        },
        config,
        pool,
        broker,
        metrics,
    );
    let (retention_pool, retention) = (pool.clone(), config.retention);
    let (figures_pool, stuck_after) = (pool.clone(), config.stuck_after.clone());
    let retention_deps = (broker.clone(), metrics.clone());
    vec![
        BackgroundTask::new(INBOX_BATCHER, move |beat, stop| {
            batcher.clone().run(beat, stop)
        }),
        BackgroundTask::new("event-relay", move |beat, stop| {
            relay.clone().run(stored.clone(), beat, stop)
        }),
        BackgroundTask::new("retention", move |beat, stop| {
            retention::run(
                retention_pool.clone(),
                retention_deps.clone(),
                retention,
                beat,
                stop,
            )
        }),
        BackgroundTask::new("minute-figures", move |beat, stop| {
            minute_figures::run(figures_pool.clone(), stuck_after.clone(), beat, stop)
        }),
    ]
}
