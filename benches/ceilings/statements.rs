//! What PostgreSQL spent its time and its WAL on during the end-to-end measurement, per
//! statement and per table, each per event. Needs a server with `pg_stat_statements` loaded,
//! which `benches/profile.sh` starts; the shared server does not load it.

use sqlx::{postgres::PgPoolOptions, PgPool, Row};

/// How many statements the profile lists, most time first.
const TOP: i64 = 20;

/// Set by `benches/profile.sh`: the run is a statement profile of the end-to-end measurement.
pub fn wanted() -> bool {
    std::env::var_os("HOOKGATE_BENCH_STATEMENTS").is_some()
}

/// Clears the server's statement counters and the table and index counters of the database at
/// `database_url`, so the profile covers one measurement and not what was loaded before it.
pub async fn reset(admin_url: &str, database_url: &str) {
    let admin = connect(admin_url).await;
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&admin)
        .await
        .expect("pg_stat_statements (run benches/profile.sh, which loads it)");
    sqlx::query("SELECT pg_stat_statements_reset()")
        .execute(&admin)
        .await
        .expect("reset pg_stat_statements");
    for shared in ["wal", "bgwriter"] {
        sqlx::query("SELECT pg_stat_reset_shared($1)")
            .bind(shared)
            .execute(&admin)
            .await
            .expect("reset the server's WAL and checkpoint counters");
    }
    admin.close().await;
    let database = connect(database_url).await;
    sqlx::query("SELECT pg_stat_reset()")
        .execute(&database)
        .await
        .expect("reset the database's table and index counters");
    database.close().await;
}

/// Prints the statements of `database` by total execution time, the server's WAL, the pages
/// each index read, then the tables' row writes.
/// Read after hookgate has stopped: backends report their table counters when they exit.
pub async fn print(admin_url: &str, database_url: &str, database: &str, events: u64) {
    let each = |value: f64| per_event(value, events);
    let admin = connect(admin_url).await;
    let rows = sqlx::query(
        "SELECT s.query, s.calls, s.rows, s.total_exec_time, s.wal_bytes::float8 AS wal_bytes,
                s.shared_blks_dirtied, s.shared_blks_read, s.wal_fpi,
                sum(s.total_exec_time) OVER () AS all_time,
                sum(s.wal_bytes) OVER ()::float8 AS all_wal
         FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
         WHERE d.datname = $1
         ORDER BY s.total_exec_time DESC
         LIMIT $2",
    )
    .bind(database)
    .bind(TOP)
    .fetch_all(&admin)
    .await
    .expect("read pg_stat_statements");
    print_wal(&admin, events).await;
    admin.close().await;
    if let Some(first) = rows.first() {
        let all_time: f64 = first.get("all_time");
        let all_wal: f64 = first.get("all_wal");
        println!(
            "\nPostgreSQL statements during the measurement ({events} events): \
             {:.0} µs of execution and {:.0} bytes of WAL per event in all; the {TOP} that took \
             longest:\n",
            each(all_time * 1e3),
            each(all_wal),
        );
    }
    let lines = rows.iter().map(|row| {
        let calls: i64 = row.get("calls");
        let time: f64 = row.get("total_exec_time");
        let all_time: f64 = row.get("all_time");
        let count = |column: &str| each(row.get::<i64, _>(column) as f64);
        vec![
            format!("`{}`", one_line(row.get("query"))),
            format!("{:.3}", each(calls as f64)),
            format!(
                "{:.1}",
                row.get::<i64, _>("rows") as f64 / calls.max(1) as f64
            ),
            format!("{:.1}", each(time * 1e3)),
            format!("{:.0}%", time / all_time.max(f64::MIN_POSITIVE) * 100.0),
            format!("{:.0}", each(row.get("wal_bytes"))),
            format!("{:.2}", count("wal_fpi")),
            format!("{:.2}", count("shared_blks_read")),
            format!("{:.2}", count("shared_blks_dirtied")),
        ]
    });
    markdown_table(
        &[
            "statement",
            "calls per event",
            "rows per call",
            "µs per event",
            "share",
            "WAL bytes per event",
            "full-page images per event",
            "blocks read per event",
            "blocks dirtied per event",
        ],
        lines,
    );
    print_tables(database_url, events).await;
}

/// The server's WAL and checkpoints since the reset: a page's first change after a checkpoint
/// writes the whole page to the WAL, which is what random keys in a large index pay.
async fn print_wal(admin: &PgPool, events: u64) {
    let (bytes, images, timed, requested): (f64, i64, i64, i64) = sqlx::query_as(
        "SELECT w.wal_bytes::float8, w.wal_fpi, b.checkpoints_timed, b.checkpoints_req
         FROM pg_stat_wal AS w, pg_stat_bgwriter AS b",
    )
    .fetch_one(admin)
    .await
    .expect("read pg_stat_wal and pg_stat_bgwriter");
    println!(
        "\nThe server's WAL per event: {:.0} bytes, {:.2} full-page images; checkpoints: {timed} \
         timed, {requested} requested (WAL full)",
        per_event(bytes, events),
        per_event(images as f64, events),
    );
}

/// Index pages read into shared buffers and found there per event (a large index with random
/// keys reads one for nearly every entry), then row writes per event on each table: how often
/// a row is written again, and how many of the updates were heap-only (HOT, no index entries
/// written).
async fn print_tables(database_url: &str, events: u64) {
    let pool = connect(database_url).await;
    let tables = sqlx::query(
        "SELECT t.relname::text AS name, t.n_tup_ins, t.n_tup_upd, t.n_tup_hot_upd, t.n_tup_del,
                (SELECT count(*) FROM pg_index i WHERE i.indrelid = t.relid) AS indexes,
                pg_total_relation_size(t.relid) AS bytes
         FROM pg_stat_user_tables t
         WHERE t.n_tup_ins + t.n_tup_upd + t.n_tup_del > 0
         ORDER BY t.n_tup_ins + t.n_tup_upd + t.n_tup_del DESC",
    )
    .fetch_all(&pool)
    .await
    .expect("read pg_stat_user_tables");
    let indexes = sqlx::query(
        "SELECT indexrelname::text AS name, idx_blks_read, idx_blks_hit
         FROM pg_statio_user_indexes
         WHERE idx_blks_read + idx_blks_hit > 0
         ORDER BY idx_blks_read DESC, idx_blks_hit DESC
         LIMIT $1",
    )
    .bind(TOP)
    .fetch_all(&pool)
    .await
    .expect("read pg_statio_user_indexes");
    pool.close().await;
    let count = |value: i64| format!("{:.2}", per_event(value as f64, events));
    println!("\nIndex pages per event, read into shared buffers and found there:\n");
    let lines = indexes.iter().map(|index| {
        vec![
            index.get::<String, _>("name"),
            count(index.get("idx_blks_read")),
            count(index.get("idx_blks_hit")),
        ]
    });
    markdown_table(&["index", "read", "found"], lines);
    println!("\nRow writes per event, by table:\n");
    let lines = tables.iter().map(|table| {
        vec![
            table.get::<String, _>("name"),
            table.get::<i64, _>("indexes").to_string(),
            count(table.get("n_tup_ins")),
            count(table.get("n_tup_upd")),
            count(table.get("n_tup_hot_upd")),
            count(table.get("n_tup_del")),
            format!(
                "{:.0}",
                per_event(table.get::<i64, _>("bytes") as f64, events)
            ),
        ]
    });
    markdown_table(
        &[
            "table",
            "indexes",
            "inserts",
            "updates",
            "of them HOT",
            "deletes",
            "bytes per event",
        ],
        lines,
    );
}

/// `value` divided among the measurement's `events`.
fn per_event(value: f64, events: u64) -> f64 {
    value / events.max(1) as f64
}

/// Prints a Markdown table: its head, then a line per row of cells.
fn markdown_table(head: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    println!("| {} |", head.join(" | "));
    println!("|{}", "---|".repeat(head.len()));
    for row in rows {
        println!("| {} |", row.join(" | "));
    }
}

async fn connect(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("PostgreSQL for the statement profile")
}

/// A statement's text on one line, short enough for a table cell.
fn one_line(query: &str) -> String {
    const LONGEST: usize = 160;
    let flat = query.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = flat.replace('|', "\\|");
    match flat.char_indices().nth(LONGEST) {
        Some((cut, _)) => format!("{} …", &flat[..cut]),
        None => flat,
    }
}
