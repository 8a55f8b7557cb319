//! The storage layer: every SQL statement hookgate runs, one module per table group, with
//! named query functions and row types declared once. Nothing outside this module talks SQL.
//!
//! - [`inbox`]: accepted events (insert, worker claims, dead-letter marks, lookups). The row
//!   is written once; `inbox_unpublished`/`inbox_unprocessed` queue what is still to happen,
//!   `inbox_published`/`inbox_processed` record when it did, and `inbox_dedup` holds the two
//!   unique keys, which also find an event's `seq` by its id. [`event_rows`]: the rows read
//!   back from it, each for one reader.
//! - [`content_key`]: completing the upgrade to deduplication by the signed resource.
//! - [`partitions`]: the inbox's daily partitions, opened by maintenance and dropped by
//!   retention.
//! - [`event_search`]: the inbox searched by filters, a page at a time.
//! - [`archive`]: reading the inbox back for replay, rebuild, verify, status and retention.
//! - [`outbox`]: the event and notification outboxes the relays drain.
//! - [`deliveries`]: the notifications each subscriber has taken, so none is POSTed twice.
//! - [`read_model`]: the per-family object tables; [`object_rows`]: the rows a projection
//!   writes into them.
//! - [`history`]: the status history of every event projected.
//! - [`rebuild`]: the shadow tables of an online rebuild, and their swap.
//! - [`parked_events`]: parked events, the dead letters that live in PostgreSQL.
//! - [`dlq_index`]: the index of the broker's DLQ, one row per dead letter.
//! - [`stuck`]: objects waiting in a waiting status for longer than a threshold.
//! - [`timeline`]: an object's events with their outcome and notifications, for the console.
//! - [`console`]: the console's sessions and audit log.
//! - [`jobs`]: the locks that keep long operations one of a kind at a time.

// SQL fragments that more than one module's statements need, written once. Macros, so that
// statements stay `&'static str` built with `concat!` rather than assembled at run time.

/// The columns of an [`event_rows::EventRow`].
macro_rules! event_row_columns {
    () => {
        "seq, source, event_id, event_type, family, status, object_id, account_id, routing_key,
         occurred_at, received_at, resource_raw, traceparent"
    };
}

/// The columns of an [`event_rows::StoredEvent`].
macro_rules! stored_event_columns {
    () => {
        "seq, source, event_id, event_type, resource_raw, envelope_time, received_at, traceparent"
    };
}

/// The `seq` of each event whose `(source, event_id)` is bound as `$1` and `$2`, as an array
/// for `seq = ANY (...)`. Each key is one probe of the deduplication table's primary key, and
/// the queue or record it selects from is probed by its own: planned as a join instead, a
/// backlog of tens of thousands was scanned whole for each batch.
macro_rules! seqs_of_keys {
    () => {
        "ARRAY(SELECT (SELECT d.seq FROM inbox_dedup AS d
                       WHERE d.source = k.source AND d.event_id = k.event_id)
               FROM UNNEST($1::text[], $2::text[]) AS k(source, event_id))"
    };
}

/// The inbox (aliased `e`) with the times its event was published and processed, for
/// statements that show or derive an event's state: `published_at` and `processed_at` are
/// NULL until it was.
macro_rules! inbox_with_times {
    () => {
        "inbox_events AS e LEFT JOIN inbox_published USING (seq) LEFT JOIN inbox_processed USING (seq)"
    };
}

/// Whether the event `(source, event_id)` (two column expressions) repeats signed bytes stored
/// earlier under another id, in a family where that makes a new event (SPEC 2.1): a genuine
/// repeat, or a captured request re-sent. The content key's index serves both probes.
macro_rules! resent {
    ($source:literal, $event_id:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM inbox_dedup AS mine JOIN inbox_dedup AS earlier
                       ON earlier.source = mine.source
                      AND earlier.content_family = mine.content_family
                      AND earlier.content_hash = mine.content_hash AND earlier.seq < mine.seq
                     WHERE mine.source = ",
            $source,
            " AND mine.event_id = ",
            $event_id,
            " AND mine.copy_key <> '' AND mine.content_family <> 'unknown')"
        )
    };
}

/// The SQL that derives an [`inbox::EventState`] from an inbox row's times.
macro_rules! event_state {
    () => {
        "CASE WHEN dead_lettered_at IS NOT NULL
                   AND (processed_at IS NULL OR dead_lettered_at > processed_at) THEN 'dead_lettered'
              WHEN processed_at IS NOT NULL THEN 'processed'
              WHEN published_at IS NOT NULL THEN 'published'
              ELSE 'received' END"
    };
}

pub mod archive;
pub mod census;
mod column_types;
pub mod console;
pub mod content_key;
pub mod deliveries;
pub mod dlq_index;
pub mod event_rows;
pub mod event_search;
pub mod history;
pub mod inbox;
pub mod jobs;
pub mod kept_notifications;
pub mod minute_figures;
pub mod object_money;
pub mod object_rows;
mod online_indexes;
pub mod outbox;
pub mod parked_events;
pub mod partitions;
pub mod processing;
pub mod read_model;
pub mod rebuild;
pub mod retry_watch;
pub mod stuck;
pub mod timeline;

use sqlx::{
    postgres::{PgArguments, PgConnectOptions, PgPoolOptions},
    query::Query,
    Connection, PgConnection, PgPool, Postgres,
};
use std::time::Duration;

/// How long a connection handed back to a pool may take to answer before it is closed instead
/// of kept: a call abandoned at its deadline leaves its connection mid-answer, and on a
/// connection the old primary left silent (a failover) the answer never comes.
const RELEASE_CHECK: Duration = Duration::from_secs(2);

/// A lazy pool of at most `size` connections: the process starts even while the database is
/// away, and each request fails fast (with 503) instead of hanging when it stays away. Each
/// role gets its own, so a busy worker can never make a webhook wait for a connection.
pub fn pool(options: PgConnectOptions, size: u32, acquire_timeout: Duration) -> PgPool {
    PgPoolOptions::new()
        .max_connections(size)
        .min_connections(0)
        .acquire_timeout(acquire_timeout)
        // sqlx checks a returned connection with a ping that has no deadline of its own.
        .after_release(|connection, _| {
            Box::pin(async move {
                Ok(tokio::time::timeout(RELEASE_CHECK, connection.ping())
                    .await
                    .is_ok_and(|answered| answered.is_ok()))
            })
        })
        .connect_lazy_with(options)
}

/// The longest one database call of a background task may go unanswered. The server ends a
/// statement at the pool's `statement_timeout`, but a connection the old primary left silent
/// in a failover (no FIN, no RST) answers nothing at all: past the deadline the call is
/// abandoned as a lost connection (transient), and its connection is closed on release.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Duration);

impl Deadline {
    pub async fn on<T>(
        self,
        call: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        tokio::time::timeout(self.0, call)
            .await
            .unwrap_or_else(|_| {
                Err(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer from PostgreSQL within {} ms", self.0.as_millis()),
                )))
            })
    }
}

/// One field of every row, as the array an `UNNEST` statement binds for its column. Fields are
/// borrowed from the rows: nothing is copied to build the statement.
fn unnest_column<'r, T, V>(rows: &'r [T], field: impl Fn(&'r T) -> V) -> Vec<V> {
    rows.iter().map(field).collect()
}

/// Applies the migrations not applied yet; returns how many that was and the latest version.
pub async fn migrate(pool: &PgPool) -> Result<Migrated, sqlx::migrate::MigrateError> {
    let migrator = sqlx::migrate!("./migrations");
    let before = applied_migrations(pool).await?;
    migrator.run(pool).await?;
    content_key::complete(pool)
        .await
        .map_err(sqlx::migrate::MigrateError::Execute)?;
    let wanted = stuck::indexes()
        .into_iter()
        .chain(kept_notifications::indexes());
    online_indexes::ensure(pool, wanted)
        .await
        .map_err(sqlx::migrate::MigrateError::Execute)?;
    let after = applied_migrations(pool).await?;
    Ok(Migrated {
        applied_now: after - before,
        latest: migrator.iter().map(|m| m.version).max().unwrap_or(0),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    pub applied_now: i64,
    pub latest: i64,
}

async fn applied_migrations(pool: &PgPool) -> Result<i64, sqlx::Error> {
    let tracked: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !tracked {
        return Ok(0);
    }
    sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
}

/// Runs the `DELETE` that `delete` builds, with its binds, until one deletes fewer than
/// `batch` rows, so no statement holds locks on a whole table's worth of rows; returns how many
/// went.
async fn delete_in_batches<'q>(
    pool: &PgPool,
    batch: i64,
    delete: impl Fn() -> Query<'q, Postgres, PgArguments>,
) -> Result<u64, sqlx::Error> {
    let mut deleted = 0;
    loop {
        let done = delete().execute(pool).await?.rows_affected();
        deleted += done;
        if done < batch as u64 {
            return Ok(deleted);
        }
    }
}

/// Whether the database answers a trivial query.
pub async fn ping(pool: &PgPool) -> bool {
    matches!(
        sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(pool)
            .await,
        Ok(1)
    )
}

/// How a database error bears on the work that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The database refused this data (SQLSTATE classes 22 data exception, 23 integrity
    /// violation, 54 program limit exceeded): the same row will fail however often it is tried.
    RowLevel,
    /// A serialisation failure or a deadlock lost to another transaction (class 40): nothing
    /// was written, and the same work may be tried again at once.
    Conflict,
    /// Connection loss, timeouts and what a failover answers (`57P01` admin shutdown, `25006`
    /// read-only): worth trying again once the database is back.
    Transient,
    /// Anything else (a missing table, a syntax error): not the row's fault and not passing.
    Other,
}

/// Takes the advisory lock `key` for the rest of `tx`, and bounds every lock wait in `tx`, this
/// one first, to `lock_timeout` (PostgreSQL's notation, e.g. `500ms`).
pub(crate) async fn lock_for_transaction(
    tx: &mut PgConnection,
    key: i64,
    lock_timeout: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("SET LOCAL lock_timeout = '{lock_timeout}'"))
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Whether `error` is a lock wait given up at `lock_timeout` (55P03): nothing was changed, and
/// the step may be tried again.
pub fn gave_up_waiting(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.code().as_deref() == Some("55P03"))
}

/// The one classification of database errors: every caller that decides whether to try again
/// asks it.
pub fn classify(error: &sqlx::Error) -> ErrorKind {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            match code.get(..2).unwrap_or_default() {
                "22" | "23" | "54" => ErrorKind::RowLevel,
                // connection exception, insufficient resources, operator intervention
                "08" | "53" | "57" => ErrorKind::Transient,
                // serialization_failure, deadlock_detected
                "40" => ErrorKind::Conflict,
                // lock_not_available; read_only_sql_transaction, from a primary turned
                // standby in a switchover, until the address follows the new primary
                _ if code == "55P03" || code == "25006" => ErrorKind::Transient,
                _ => ErrorKind::Other,
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => ErrorKind::Transient,
        _ => ErrorKind::Other,
    }
}
