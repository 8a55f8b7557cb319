//! The ceilings of the parts hookgate is made of, each measured alone.

use super::{amqp_url, drop_database, fresh_database, plan, seconds, Cpu, SECRET};
use axum::{body::Bytes, http::HeaderMap, http::StatusCode, routing::post, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use hookgate::{amqp::declare_quorum, load_generator::load};
use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeleteOptions},
    types::FieldTable,
    BasicProperties, Connection, ConnectionProperties,
};
use sha2::Sha256;
use sqlx::{postgres::PgPoolOptions, PgPool};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Instant,
};

/// (a) Rows per second: 4 connections, batches of 256 1 KiB JSON rows, ON CONFLICT DO NOTHING.
pub async fn postgres_ceiling() -> (f64, Cpu) {
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
pub async fn rabbitmq_ceiling() -> (f64, Cpu) {
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("RabbitMQ");
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let queue = format!("hookgate-bench-ceiling-{}", uuid::Uuid::new_v4().simple());
    declare_quorum(&channel, &queue, FieldTable::default())
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
pub async fn http_ceiling() -> (f64, Cpu) {
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
    let report = load::run(plan(url)).await;
    let cpu = Cpu::now(None).since(cpu);
    server.abort();
    assert_eq!(
        report.status_counts.get(&200).copied(),
        Some(report.requests),
        "the no-op handler accepts all"
    );
    (report.requests_per_second, cpu)
}
