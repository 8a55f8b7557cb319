//! Measures, in one run on this machine, the ceilings of the parts hookgate is made of and then
//! hookgate itself, and prints each figure with its ratio to its ceiling:
//! (a) PostgreSQL: batched insert-or-ignore of 1 KiB JSON rows with a unique key;
//! (b) RabbitMQ: persistent 1 KiB publishes with confirms into a quorum queue;
//! (c) HTTP: a no-op axum POST handler that only checks the HMAC;
//! then hookgate's accept rate (relay and workers idle), its end-to-end rate, its p99 accept
//! latency at half its maximum rate, and its peak memory. A second table gives the CPU each
//! part spent per event in each measurement (from /proc), which is what bounds the rates on a
//! machine where all of them share the cores.
//!
//! `benches/run.sh` starts the services and runs this; `HOOKGATE_BENCH_SECONDS` sets each
//! measurement's length (default 10).

use axum::{body::Bytes, http::HeaderMap, http::StatusCode, routing::post, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use hookgate::{
    amqp::{Names, RetryTier, Topology},
    bench::{load, verify},
};
use lapin::{
    options::{
        BasicPublishOptions, ConfirmSelectOptions, ExchangeDeleteOptions, QueueDeclareOptions,
        QueueDeleteOptions,
    },
    types::{AMQPValue, FieldTable, LongString},
    BasicProperties, Connection, ConnectionProperties,
};
use sha2::Sha256;
use sqlx::{postgres::PgPoolOptions, Connection as _, PgConnection, PgPool};
use std::{
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

const SECRET: &str = "bench-secret";
const CONNECTIONS: usize = 32;

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

async fn fresh_database(name: &str) -> String {
    let mut admin = PgConnection::connect(&admin_url())
        .await
        .expect("PostgreSQL (run deploy/services.sh)");
    sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = admin_url();
    format!("{}/{name}", &base[..base.rfind('/').unwrap()])
}

/// (a) Rows per second: 4 connections, batches of 256 1 KiB JSON rows, ON CONFLICT DO NOTHING.
async fn postgres_ceiling() -> (f64, Cpu) {
    let url = fresh_database("hookgate_bench_ceiling").await;
    let pool: PgPool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE rows (id TEXT PRIMARY KEY, body JSONB NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    let body = serde_json::json!({"padding": "x".repeat(1000)}).to_string();
    let inserted = Arc::new(AtomicU64::new(0));
    let cpu = Cpu::now(None);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..4 {
        let (pool, body, inserted) = (pool.clone(), body.clone(), inserted.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while started.elapsed() < seconds() {
                let ids: Vec<String> = (0..256).map(|i| format!("{task}-{n}-{i}")).collect();
                let bodies = vec![body.clone(); 256];
                let done = sqlx::query(
                    "INSERT INTO rows (id, body) SELECT id, body::jsonb FROM UNNEST($1::text[], $2::text[]) AS t(id, body)
                     ON CONFLICT DO NOTHING",
                )
                .bind(&ids)
                .bind(&bodies)
                .execute(&pool)
                .await
                .unwrap();
                inserted.fetch_add(done.rows_affected(), Ordering::Relaxed);
                n += 1;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let rate = inserted.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    // Before the pool closes: an exited backend's CPU is no longer in /proc.
    let cpu = Cpu::now(None).since(cpu);
    pool.close().await;
    drop_database("hookgate_bench_ceiling").await;
    (rate, cpu)
}

/// (b) Confirmed publishes per second: 1 KiB persistent messages, 512 unconfirmed at most.
async fn rabbitmq_ceiling() -> (f64, Cpu) {
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("RabbitMQ");
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let queue = format!("hookgate-bench-ceiling-{}", uuid::Uuid::new_v4().simple());
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            arguments,
        )
        .await
        .unwrap();
    let payload = vec![b'x'; 1024];
    let cpu = Cpu::now(None);
    let started = Instant::now();
    let mut confirmed = 0u64;
    while started.elapsed() < seconds() {
        let mut window = Vec::with_capacity(512);
        for _ in 0..512 {
            window.push(
                channel
                    .basic_publish(
                        "".into(),
                        queue.as_str().into(),
                        BasicPublishOptions {
                            mandatory: true,
                            ..Default::default()
                        },
                        &payload,
                        BasicProperties::default().with_delivery_mode(2),
                    )
                    .await
                    .unwrap(),
            );
        }
        for confirm in window {
            assert!(confirm.await.unwrap().is_ack());
            confirmed += 1;
        }
    }
    let rate = confirmed as f64 / started.elapsed().as_secs_f64();
    let cpu = Cpu::now(None).since(cpu);
    channel
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await
        .unwrap();
    (rate, cpu)
}

/// (c) Requests per second to an axum handler that parses the envelope and checks the HMAC.
async fn http_ceiling() -> (f64, Cpu) {
    async fn handler(headers: HeaderMap, body: Bytes) -> StatusCode {
        #[derive(serde::Deserialize)]
        struct Envelope {
            resource: String,
        }
        let Ok(envelope) = serde_json::from_slice::<Envelope>(&body) else {
            return StatusCode::BAD_REQUEST;
        };
        let given = headers
            .get("signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Ok(given) = STANDARD.decode(given) else {
            return StatusCode::UNAUTHORIZED;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(envelope.resource.as_bytes());
        match mac.verify_slice(&given) {
            Ok(()) => StatusCode::OK,
            Err(_) => StatusCode::UNAUTHORIZED,
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/webhooks/interlace",
        listener.local_addr().unwrap()
    );
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            Router::new().route("/webhooks/interlace", post(handler)),
        )
        .await
        .unwrap()
    });
    let cpu = Cpu::now(None);
    let report = load::run(plan(url, None)).await;
    let cpu = Cpu::now(None).since(cpu);
    server.abort();
    assert_eq!(
        report.status_counts.get(&200).copied(),
        Some(report.requests),
        "the no-op handler accepts all"
    );
    (report.requests_per_second, cpu)
}

fn plan(url: String, rate: Option<f64>) -> load::LoadPlan {
    load::LoadPlan {
        url,
        secret: SECRET.into(),
        connections: CONNECTIONS,
        rate,
        duration: Some(seconds()),
        count: None,
        duplicates: 0.0,
        out_of_order: 0.0,
    }
}

/// hookgate as its own process, so its memory is its own.
struct Hookgate {
    child: Child,
    url: String,
    database_url: String,
    database: String,
    prefix: String,
}

impl Hookgate {
    async fn start(name: &str, amqp_url: &str) -> Hookgate {
        let database_url = fresh_database(name).await;
        let prefix = format!("hgbench_{}", uuid::Uuid::new_v4().simple());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_hookgate"))
            .arg("run")
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

    fn webhook_url(&self) -> String {
        format!("{}/webhooks/interlace", self.url)
    }

    /// Peak resident memory so far, in MiB.
    fn peak_memory_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
            .unwrap_or(0.0)
    }
}

impl Hookgate {
    /// Stops the process and removes its database and its queues and exchanges.
    async fn remove(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

async fn drop_database(name: &str) {
    if let Ok(mut admin) = PgConnection::connect(&admin_url()).await {
        let _ = sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
            .execute(&mut admin)
            .await;
    }
}

/// CPU seconds used so far by each part, from /proc (Linux).
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    postgres: f64,
    rabbitmq: f64,
    hookgate: f64,
    /// This process: the load generator (and the verifying queries).
    load: f64,
}

impl Cpu {
    /// `hookgate`: the pid of the hookgate process, when one runs.
    fn now(hookgate: Option<u32>) -> Cpu {
        // Kernel clock ticks; 100 per second on every Linux this runs on.
        fn seconds(stat: &str) -> Option<(String, f64)> {
            let (comm, rest) = stat.rsplit_once(") ")?;
            let comm = comm.split_once(" (")?.1.to_owned();
            let fields: Vec<&str> = rest.split(' ').collect();
            // After the command: state is field 0, utime 11, stime 12.
            let ticks: f64 =
                fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            Some((comm, ticks / 100.0))
        }
        let mut cpu = Cpu::default();
        let own = std::process::id();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Some((comm, used)) = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|stat| seconds(&stat))
            else {
                continue;
            };
            match comm.as_str() {
                _ if Some(pid) == hookgate => cpu.hookgate += used,
                _ if pid == own => cpu.load += used,
                "postgres" => cpu.postgres += used,
                "beam.smp" => cpu.rabbitmq += used,
                _ => {}
            }
        }
        cpu
    }

    fn since(self, earlier: Cpu) -> Cpu {
        Cpu {
            postgres: self.postgres - earlier.postgres,
            rabbitmq: self.rabbitmq - earlier.rabbitmq,
            hookgate: self.hookgate - earlier.hookgate,
            load: self.load - earlier.load,
        }
    }

    fn total(&self) -> f64 {
        self.postgres + self.rabbitmq + self.hookgate + self.load
    }

    /// `| phase | PostgreSQL | RabbitMQ | hookgate | load generator | total | busy |`, in µs
    /// of CPU per event, and how busy the machine's cores were.
    fn row(&self, phase: &str, events: u64, seconds: f64) -> String {
        let per_event = |used: f64| format!("{:.0}", used * 1e6 / events.max(1) as f64);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        format!(
            "| {phase} | {} | {} | {} | {} | {} | {:.0}% |",
            per_event(self.postgres),
            per_event(self.rabbitmq),
            per_event(self.hookgate),
            per_event(self.load),
            per_event(self.total()),
            self.total() / (seconds * cores) * 100.0
        )
    }
}

struct Line {
    what: &'static str,
    value: String,
    ceiling: String,
    ratio: Option<f64>,
    target: &'static str,
    met: Option<bool>,
}

#[tokio::main]
async fn main() {
    let measured = seconds().as_secs();
    eprintln!("measuring ceilings, {measured} s each ...");
    let (postgres, postgres_cpu) = postgres_ceiling().await;
    let (rabbitmq, rabbitmq_cpu) = rabbitmq_ceiling().await;
    let (http, http_cpu) = http_ceiling().await;

    eprintln!("measuring hookgate's accept rate with the relay and workers idle ...");
    let idle = Hookgate::start(
        "hookgate_bench_accept",
        "amqp://guest:guest@127.0.0.1:1/%2f",
    )
    .await;
    let cpu_before = Cpu::now(Some(idle.child.id()));
    let accept = load::run(plan(idle.webhook_url(), None)).await;
    let accept_cpu = Cpu::now(Some(idle.child.id())).since(cpu_before);
    eprintln!("measuring p99 accept latency at half that rate ...");
    let idle_half = load::run(plan(
        idle.webhook_url(),
        Some(accept.accepted_per_second / 2.0),
    ))
    .await;
    let idle_memory = idle.peak_memory_mib();
    idle.remove().await;

    eprintln!("measuring hookgate end to end ...");
    let full = Hookgate::start("hookgate_bench_e2e", &amqp_url()).await;
    let cpu_before = Cpu::now(Some(full.child.id()));
    let e2e_started = Instant::now();
    let loaded = load::run(plan(full.webhook_url(), None)).await;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&full.database_url)
        .await
        .unwrap();
    let e2e = verify::verify(
        &pool,
        "interlace",
        &loaded.accepted_ids,
        Duration::from_secs(600),
    )
    .await
    .unwrap();
    let e2e_cpu = Cpu::now(Some(full.child.id())).since(cpu_before);
    let e2e_seconds = e2e_started.elapsed().as_secs_f64();
    eprintln!("measuring p99 accept latency at half the full pipeline's maximum accept rate ...");
    let half = load::run(plan(
        full.webhook_url(),
        Some(loaded.accepted_per_second / 2.0),
    ))
    .await;
    let full_memory = full.peak_memory_mib();
    pool.close().await;
    full.remove().await;

    let peak_memory = idle_memory.max(full_memory);
    let lines = [
        Line {
            what: "PostgreSQL ceiling (rows/s)",
            value: format!("{postgres:.0}"),
            ceiling: "-".into(),
            ratio: None,
            target: "",
            met: None,
        },
        Line {
            what: "RabbitMQ ceiling (confirmed msgs/s)",
            value: format!("{rabbitmq:.0}"),
            ceiling: "-".into(),
            ratio: None,
            target: "",
            met: None,
        },
        Line {
            what: "HTTP+HMAC ceiling (req/s)",
            value: format!("{http:.0}"),
            ceiling: "-".into(),
            ratio: None,
            target: "",
            met: None,
        },
        Line {
            what: "hookgate accept rate (events/s)",
            value: format!("{:.0}", accept.accepted_per_second),
            ceiling: format!("{postgres:.0} (PostgreSQL)"),
            ratio: Some(accept.accepted_per_second / postgres),
            target: ">= 70%",
            met: Some(accept.accepted_per_second / postgres >= 0.70),
        },
        Line {
            what: "hookgate end to end (events/s)",
            value: format!(
                "{:.0} (lost {}, twice {})",
                e2e.events_per_second, e2e.lost, e2e.applied_twice
            ),
            ceiling: format!("{rabbitmq:.0} (RabbitMQ)"),
            ratio: Some(e2e.events_per_second / rabbitmq),
            target: ">= 60%, 0 lost",
            met: Some(
                e2e.events_per_second / rabbitmq >= 0.60 && e2e.lost == 0 && e2e.applied_twice == 0,
            ),
        },
        Line {
            what: "p99 accept latency at half max rate, relay and workers idle (ms)",
            value: format!("{:.1}", idle_half.latency.p99_ms),
            ceiling: format!("rate {:.0}/s", accept.accepted_per_second / 2.0),
            ratio: None,
            target: "< 25 ms",
            met: Some(idle_half.latency.p99_ms < 25.0),
        },
        Line {
            what: "p99 accept latency at half max rate, full pipeline (ms)",
            value: format!("{:.1}", half.latency.p99_ms),
            ceiling: format!("rate {:.0}/s", loaded.accepted_per_second / 2.0),
            ratio: None,
            target: "< 25 ms",
            met: Some(half.latency.p99_ms < 25.0),
        },
        Line {
            what: "receiver peak memory (MiB)",
            value: format!("{peak_memory:.1}"),
            ceiling: "-".into(),
            ratio: None,
            target: "< 150 MiB",
            met: Some(peak_memory < 150.0),
        },
    ];
    println!("| measurement | result | ceiling | ratio | target | met |");
    println!("|---|---|---|---|---|---|");
    for line in &lines {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            line.what,
            line.value,
            line.ceiling,
            line.ratio
                .map(|r| format!("{:.0}%", r * 100.0))
                .unwrap_or_default(),
            line.target,
            match line.met {
                Some(true) => "yes",
                Some(false) => "no",
                None => "",
            }
        );
    }
    println!("\nCPU per event (µs) while measuring, and how busy the cores were:\n");
    println!("| phase | PostgreSQL | RabbitMQ | hookgate | load generator | total | busy |");
    println!("|---|---|---|---|---|---|---|");
    let measured_seconds = seconds().as_secs_f64();
    for (phase, rate, cpu) in [
        ("PostgreSQL ceiling (per row)", postgres, postgres_cpu),
        ("RabbitMQ ceiling (per message)", rabbitmq, rabbitmq_cpu),
        (
            "HTTP ceiling (per request; server in the load generator)",
            http,
            http_cpu,
        ),
    ] {
        println!(
            "{}",
            cpu.row(phase, (rate * measured_seconds) as u64, measured_seconds)
        );
    }
    println!(
        "{}",
        accept_cpu.row(
            "accept, relay and workers idle",
            accept.accepted,
            accept.seconds
        )
    );
    println!(
        "{}",
        e2e_cpu.row(
            "end to end (load, then until the read model holds all)",
            e2e.events,
            e2e_seconds
        )
    );
    println!(
        "\naccept at max rate (idle pipeline): p50 {:.1} ms, p99 {:.1} ms; full pipeline accept rate {:.0}/s; \
         end-to-end latency p50 {:.1} ms, p99 {:.1} ms; {CONNECTIONS} connections, {measured} s per measurement",
        accept.latency.p50_ms,
        accept.latency.p99_ms,
        loaded.accepted_per_second,
        e2e.latency.p50_ms,
        e2e.latency.p99_ms
    );
}
