//! Measures, in one run on this machine, the ceilings of the parts hookgate is made of and then
//! hookgate itself, and prints each figure with its ratio to its ceiling:
//! (a) PostgreSQL: batched insert-or-ignore of 1 KiB JSON rows with a unique key;
//! (b) RabbitMQ: persistent 1 KiB publishes with confirms into a quorum queue;
//! (c) HTTP: a no-op axum POST handler that only checks the HMAC;
//! then hookgate's accept rate and p99 latency at saturation (relay and workers idle), its
//! end-to-end rate (`hookgate run`, requests at full speed until the last notification is
//! published), PostgreSQL's CPU per event end to end, the CPU of every service per accepted
//! event with the relay running (`hookgate serve` under load until the relay has published
//! every event), and the receiver's peak memory, each against the targets of the performance
//! issue. A second table gives the CPU each part spent
//! per event in each measurement (from /proc), which is what bounds the rates on a machine
//! where all of them share the cores.
//!
//! `benches/run.sh` starts the services and runs this; `HOOKGATE_BENCH_SECONDS` sets each
//! measurement's length (default 10). `benches/profile.sh` runs only the end-to-end
//! measurement, on a private PostgreSQL that loads `pg_stat_statements`, and prints what each
//! statement and table cost per event. `HOOKGATE_BENCH_PRELOAD=N` runs only the growth mode
//! (`growth.rs`): the accept rate on an empty inbox and on one preloaded with N events.

mod cpu;
mod growth;
mod parts;
mod process;
mod report;
mod statements;

use cpu::Cpu;
use hookgate::{
    load_generator::{load, verify},
    store::outbox::{self, OutboxTable},
};
use process::Hookgate;
use report::{Ceilings, FullRun, IdleRun, RelayRun};
use sqlx::{migrate::MigrateDatabase, postgres::PgPoolOptions, Postgres};
use std::time::{Duration, Instant};

const SECRET: &str = "bench-secret";
const CONNECTIONS: usize = 64;

fn seconds() -> Duration {
    let secs = std::env::var("HOOKGATE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(secs)
}

fn admin_url() -> String {
    std::env::var("HOOKGATE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://hookgate:hookgate@127.0.0.1:5432/postgres".into())
}

fn amqp_url() -> String {
    std::env::var("HOOKGATE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn database_url(name: &str) -> String {
    let base = admin_url();
    format!("{}/{name}", &base[..base.rfind('/').unwrap()])
}

/// An empty database `name`, whatever an interrupted run left in it.
async fn fresh_database(name: &str) -> String {
    let url = database_url(name);
    drop_database(name).await;
    Postgres::create_database(&url)
        .await
        .expect("PostgreSQL (run deploy/services.sh)");
    url
}

async fn drop_database(name: &str) {
    let _ = Postgres::force_drop_database(&database_url(name)).await;
}

/// Requests at full speed from every connection for the measurement's length.
fn plan(url: String) -> load::LoadPlan {
    load::LoadPlan {
        url,
        secret: SECRET.into(),
        connections: CONNECTIONS,
        rate: None,
        until: load::Until {
            duration: Some(seconds()),
            count: None,
        },
        mix: load::Mix::default(),
    }
}

#[tokio::main]
async fn main() {
    if let Some(events) = growth::wanted() {
        let empty = measure_idle(0).await;
        let preloaded = measure_idle(events).await;
        growth::print(&empty, &preloaded);
        return;
    }
    if statements::wanted() {
        let full = measure_full().await;
        report::print_end_to_end(&full);
        return;
    }
    eprintln!("measuring ceilings, {} s each ...", seconds().as_secs());
    let ceilings = Ceilings {
        postgres: parts::postgres_ceiling().await,
        rabbitmq: parts::rabbitmq_ceiling().await,
        http: parts::http_ceiling().await,
    };
    let idle = measure_idle(0).await;
    let relay = measure_relay().await;
    let full = measure_full().await;
    report::print(&ceilings, &idle, &relay, &full);
}

/// hookgate's accept rate and latency with the relay and workers idle (its broker is a port
/// nothing listens on), on an inbox holding `preload` processed events.
async fn measure_idle(preload: u64) -> IdleRun {
    eprintln!("measuring hookgate's accept rate with the relay and workers idle, {preload} events stored ...");
    let database = "hookgate_bench_accept";
    let mut idle = Hookgate::start(database, "run", "amqp://guest:guest@127.0.0.1:1/%2f").await;
    if preload > 0 {
        growth::preload(&idle.database_url, preload).await;
    }
    let inbox_mib = growth::inbox_mib(&idle.database_url).await;
    if statements::wanted() {
        statements::reset(&admin_url(), &idle.database_url).await;
    }
    let cpu_before = Cpu::now(Some(idle.child.id()));
    let accept = load::run(plan(idle.webhook_url())).await;
    let accept_cpu = Cpu::now(Some(idle.child.id())).since(cpu_before);
    let memory = idle.peak_memory_mib();
    if statements::wanted() {
        idle.stop();
        let accepted = accept.accepted_ids.len() as u64;
        statements::print(&admin_url(), &idle.database_url, database, accepted).await;
    }
    idle.remove().await;
    IdleRun {
        accept,
        accept_cpu,
        memory,
        stored: preload,
        inbox_mib,
    }
}

/// `hookgate serve` (receiver and relay, no workers) under load, until the relay has published
/// every accepted event.
async fn measure_relay() -> RelayRun {
    eprintln!("measuring hookgate serve with its relay running ...");
    let serve = Hookgate::start("hookgate_bench_relay", "serve", &amqp_url()).await;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&serve.database_url)
        .await
        .unwrap();
    let cpu_before = Cpu::now(Some(serve.child.id()));
    let started = Instant::now();
    let loaded = load::run(plan(serve.webhook_url())).await;
    let deadline = Instant::now() + Duration::from_secs(600);
    while outbox::backlog(&pool, OutboxTable::Events).await.unwrap().0 > 0 {
        assert!(Instant::now() < deadline, "the relay did not catch up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cpu = Cpu::now(Some(serve.child.id())).since(cpu_before);
    let seconds = started.elapsed().as_secs_f64();
    let memory = serve.peak_memory_mib();
    pool.close().await;
    serve.remove().await;
    RelayRun {
        loaded,
        cpu,
        seconds,
        memory,
    }
}

/// hookgate end to end: load, then wait until the read model holds every accepted event and
/// every notification is published.
async fn measure_full() -> FullRun {
    eprintln!("measuring hookgate end to end ...");
    let database = "hookgate_bench_e2e";
    let mut full = Hookgate::start(database, "run", &amqp_url()).await;
    if statements::wanted() {
        statements::reset(&admin_url(), &full.database_url).await;
    }
    let cpu_before = Cpu::now(Some(full.child.id()));
    let started = Instant::now();
    let loaded = load::run(plan(full.webhook_url())).await;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&full.database_url)
        .await
        .unwrap();
    let wait = Duration::from_secs(600);
    let e2e = verify::verify(&pool, "interlace", &loaded.accepted_ids, wait)
        .await
        .unwrap();
    let e2e_cpu = Cpu::now(Some(full.child.id())).since(cpu_before);
    let e2e_seconds = started.elapsed().as_secs_f64();
    let memory = full.peak_memory_mib();
    pool.close().await;
    if statements::wanted() {
        full.stop();
        statements::print(&admin_url(), &full.database_url, database, e2e.events).await;
    }
    full.remove().await;
    FullRun {
        loaded,
        e2e,
        e2e_cpu,
        e2e_seconds,
        memory,
    }
}
