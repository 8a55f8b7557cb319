//! The growth mode (`HOOKGATE_BENCH_PRELOAD=N`): hookgate's accept rate on an empty inbox and
//! on one preloaded with N processed events, each measured the same way as the main accept
//! figure. The inbox is partitioned by day, so what grows under each insert is the
//! deduplication table: both of its keys are checked for every event, and random event ids and
//! content hashes land on random pages of its indexes.

use crate::report::IdleRun;
use chrono::{Duration, Utc};
use hookgate::store::partitions;
use sqlx::{postgres::PgPoolOptions, Executor};
use std::time::Instant;

/// Rows per statement: large enough to load quickly, small enough that one statement's WAL
/// and memory stay modest.
const CHUNK: u64 = 500_000;

/// Days of traffic the preload lays out, one inbox partition each, as a month of running
/// leaves the inbox with the default retention.
const DAYS: u64 = 30;

/// Events shaped like the platform's: twelve families, four events per object, 1 000
/// accounts, random-looking ids and hashes, received `$4` days ago and spread over that day;
/// each with its deduplication keys, recorded as published and processed.
const PRELOAD: &str = "
WITH stored AS (
    INSERT INTO inbox_events (source, event_id, event_type, family, status, object_id,
                              account_id, routing_key, occurred_at, received_at, resource_raw,
                              content_hash, envelope_time)
    SELECT 'interlace', md5('preload' || g), upper(family) || '.UPDATED', family, status,
           family || '-' || (g / 4), 'acc-' || (g % 1000), family || '.' || status, at, at,
           convert_to(body, 'UTF8'), sha256(convert_to(body, 'UTF8')), at
    FROM generate_series($1::bigint, $2::bigint - 1) AS g,
         LATERAL (SELECT (ARRAY['transfer', 'card_transaction', 'budget_transaction', 'kyc', 'kyb',
                                'face_authentication', 'payout', 'crypto_deposit',
                                'crypto_withdrawal', 'global_account_transaction', 'card',
                                'account'])[1 + (g / 4) % 12] AS family,
                         (ARRAY['pending', 'processing', 'closed', 'closed'])[1 + g % 4] AS status,
                         now() - make_interval(days => $4)
                             + (g % $3)::float8 / $3 * interval '1 day' AS at) AS e,
         LATERAL (SELECT json_build_object(
                      'id', family || '-' || (g / 4), 'status', status,
                      'accountId', 'acc-' || (g % 1000),
                      'updateTime', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
                      'amount', json_build_object('amount', '125.40', 'currency', 'USD'),
                      'description', repeat('x', 200))::text AS body) AS b
    ORDER BY g
    RETURNING seq, source, event_id, event_type, content_hash, received_at),
keyed AS (INSERT INTO inbox_dedup (source, event_id, type_key, content_hash, seq)
          SELECT source, event_id, upper(event_type), content_hash, seq FROM stored),
published AS (INSERT INTO inbox_published SELECT seq, received_at FROM stored)
INSERT INTO inbox_processed SELECT seq, received_at + interval '1 s' FROM stored";

/// Loads `events` processed events into the database at `url`, a day's partition at a time,
/// then vacuums and analyses it as autovacuum would have, so the measurement is not left to
/// pay for the load. The last day's partition is recorded as opened now, so the service does
/// not open a new one: the measured events join a day that already holds its share.
pub async fn preload(url: &str, events: u64) {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("connect to the benchmark database");
    let mut conn = pool.acquire().await.expect("a connection for the preload");
    let started = Instant::now();
    let per_day = events.div_ceil(DAYS);
    for day in 0..DAYS {
        let days_ago = DAYS - day;
        let opened_at = if day + 1 == DAYS {
            Utc::now()
        } else {
            Utc::now() - Duration::days(days_ago as i64)
        };
        partitions::open_next(&mut conn, opened_at)
            .await
            .expect("open a day's partition");
        let (first, end) = (day * per_day, ((day + 1) * per_day).min(events));
        let mut from = first;
        while from < end {
            let to = (from + CHUNK).min(end);
            sqlx::query(PRELOAD)
                .bind(from as i64)
                .bind(to as i64)
                .bind(per_day as i64)
                .bind(days_ago as i32)
                .execute(&mut *conn)
                .await
                .expect("preload a chunk");
            from = to;
        }
        eprintln!(
            "  preloaded {end} of {events} events, {} days ({:.0} s)",
            day + 1,
            started.elapsed().as_secs_f64()
        );
    }
    conn.execute("VACUUM ANALYZE inbox_events, inbox_dedup, inbox_published, inbox_processed")
        .await
        .expect("vacuum after the preload");
    // Only a superuser may; otherwise the next timed checkpoint comes when it comes.
    let _ = conn.execute("CHECKPOINT").await;
    drop(conn);
    pool.close().await;
}

/// The on-disk size of the inbox's partitions and its deduplication keys, with their
/// indexes, in MiB.
pub async fn inbox_mib(url: &str) -> f64 {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("connect to the benchmark database");
    let bytes: i64 = sqlx::query_scalar(
        "SELECT (SELECT sum(pg_total_relation_size(name::regclass)) FROM inbox_partitions)::bigint
                + pg_total_relation_size('inbox_dedup')",
    )
    .fetch_one(&pool)
    .await
    .expect("inbox size");
    pool.close().await;
    bytes as f64 / (1024.0 * 1024.0)
}

/// The number of events to preload, when the growth mode is asked for.
pub fn wanted() -> Option<u64> {
    std::env::var("HOOKGATE_BENCH_PRELOAD")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
}

pub fn print(empty: &IdleRun, preloaded: &IdleRun) {
    println!("| inbox before the measurement | inbox size (MiB) | accept (events/s) | p50 (ms) | p99 (ms) |");
    println!("|---|---|---|---|---|");
    for run in [empty, preloaded] {
        println!(
            "| {} events | {:.0} | {:.0} | {:.1} | {:.1} |",
            run.stored,
            run.inbox_mib,
            run.accept.accepted_per_second,
            run.accept.latency.p50_ms,
            run.accept.latency.p99_ms,
        );
    }
    let ratio = preloaded.accept.accepted_per_second / empty.accept.accepted_per_second;
    println!(
        "\naccept rate at {} events: {:.0}% of the empty inbox's (target: within 20%, met: {})",
        preloaded.stored,
        ratio * 100.0,
        if ratio >= 0.8 { "yes" } else { "no" }
    );
}
