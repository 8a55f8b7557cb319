//! What a fault test does to the database that no front door does: hold a lock as a rebuild,
//! a migration or a long report would, look at the sessions the service holds or its tables'
//! statistics, turn autovacuum off, turn the database read-only as a switchover does, or leave
//! the state a crash or an older hookgate leaves. The only support file with SQL text.

use super::TestApp;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{Postgres, Transaction};

/// Which waiting sessions to count.
#[derive(Clone, Copy)]
pub enum Waiting<'a> {
    /// Those inserting into this table.
    ToInsertInto(&'a str),
    /// Those counting rows (the metrics scrape's statement).
    ToCount,
    /// Those waiting for an advisory lock.
    OnAdvisoryLock,
}

/// A lock held until the transaction ends.
pub type Held = Transaction<'static, Postgres>;

impl TestApp {
    /// Locks `tables` in ACCESS EXCLUSIVE mode until the returned transaction ends.
    pub async fn lock_tables(&self, tables: &[&str]) -> Held {
        let mut holder = self.pool.begin().await.unwrap();
        sqlx::query(&format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            tables.join(", ")
        ))
        .execute(&mut *holder)
        .await
        .unwrap();
        holder
    }

    /// Sessions on the test's database that sit inside an open transaction.
    pub async fn sessions_idle_in_transaction(&self) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND state = 'idle in transaction'",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    /// Turns autovacuum (and so its analyse, which replans) off for `table`.
    pub async fn autovacuum_off(&self, table: &str) {
        sqlx::query(&format!(
            "ALTER TABLE {table} SET (autovacuum_enabled = false)"
        ))
        .execute(&self.pool)
        .await
        .unwrap();
    }

    /// Rows inserted into `table` and its sequential scans, as the statistics count them.
    pub async fn inserts_and_sequential_scans(&self, table: &str) -> (i64, i64) {
        sqlx::query_as("SELECT n_tup_ins, seq_scan FROM pg_stat_user_tables WHERE relname = $1")
            .bind(table)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Sessions on the test's database that wait for a lock as `waiting` says.
    pub async fn sessions_waiting(&self, waiting: Waiting<'_>) -> i64 {
        let (statement, advisory) = match waiting {
            Waiting::ToInsertInto(table) => (Some(format!("INSERT INTO {table}")), false),
            Waiting::ToCount => (Some("SELECT count(*)".to_owned()), false),
            Waiting::OnAdvisoryLock => (None, true),
        };
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'
               AND ($1::text IS NULL OR strpos(query, $1) > 0)
               AND (NOT $2 OR wait_event = 'advisory')",
        )
        .bind(statement)
        .bind(advisory)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    /// Makes every new transaction on the test's database read-only (or writable again), as a
    /// primary turns before its standby is promoted.
    pub async fn set_read_only(&self, on: bool) {
        let database: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&self.pool)
            .await
            .unwrap();
        sqlx::query(&format!(
            "ALTER DATABASE {database} SET default_transaction_read_only = {on}"
        ))
        .execute(&self.pool)
        .await
        .unwrap();
    }

    /// Forgets the dead-letter index, as an older hookgate (or one that died between the
    /// broker's confirm and its commit) leaves the dead letters: in the queue only.
    pub async fn forget_dead_letter_index(&self) {
        sqlx::query("DELETE FROM dead_letter_index")
            .execute(&self.pool)
            .await
            .unwrap();
    }

    /// Dates the dead letter of `event_id` back by `days`.
    pub async fn backdate_dead_letter(&self, event_id: &str, days: i32) {
        sqlx::query(
            "UPDATE dead_letter_index SET failed_at = now() - make_interval(days => $2)
             WHERE event_id = $1",
        )
        .bind(event_id)
        .bind(days)
        .execute(&self.pool)
        .await
        .unwrap();
    }

    /// Puts every published notification back in the relay's queue, as a relay that died
    /// between the broker's confirm and its commit leaves them: they are published again.
    pub async fn unpublish_notifications(&self) {
        sqlx::query(
            "WITH again AS (DELETE FROM notification_published RETURNING seq)
             INSERT INTO notification_unpublished (seq) SELECT seq FROM again",
        )
        .execute(&self.pool)
        .await
        .unwrap();
    }
}

/// An inbox row written straight to the table, past the receiver's checks.
pub struct RawEvent<'a> {
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub family: &'a str,
    pub status: Option<&'a str>,
    pub object_id: Option<&'a str>,
    pub routing_key: &'a str,
    pub occurred_at: Option<DateTime<Utc>>,
    pub envelope_time: Option<DateTime<Utc>>,
    pub resource: &'a [u8],
    pub content_hash: Vec<u8>,
}

impl<'a> RawEvent<'a> {
    /// A transfer event as the catalogue would read `resource`, hashed as the receiver hashes.
    pub fn transfer(
        event_id: &'a str,
        status: &'a str,
        object_id: &'a str,
        resource: &'a [u8],
    ) -> Self {
        RawEvent {
            event_id,
            event_type: "TRANSFER.UPDATED",
            family: "transfer",
            status: Some(status),
            object_id: Some(object_id),
            routing_key: "transfer.x",
            occurred_at: None,
            envelope_time: None,
            resource,
            content_hash: Sha256::digest(resource).to_vec(),
        }
    }
}

/// Where a raw row is left.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LeftAs {
    /// Published, as if its message had gone out (and, unless the test sends one, was lost).
    Published,
    /// Waiting for the relay.
    Unpublished,
}

impl TestApp {
    /// Writes `events` straight to the inbox with their deduplication keys, in order, waiting
    /// for a worker and left as `left`; answers their event ids in the order stored.
    pub async fn store_raw(&self, events: &[RawEvent<'_>], left: LeftAs) -> Vec<String> {
        let column = |f: fn(&RawEvent) -> Option<String>| events.iter().map(f).collect::<Vec<_>>();
        sqlx::query_scalar(
            "WITH stored AS (
                 INSERT INTO inbox_events (source, event_id, event_type, family, status, object_id,
                                           routing_key, occurred_at, envelope_time, resource_raw,
                                           content_hash)
                 SELECT 'interlace', e.event_id, e.event_type, e.family, e.status, e.object_id,
                        e.routing_key, e.occurred_at, e.envelope_time, e.resource, e.hash
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::text[], $7::timestamptz[], $8::timestamptz[], $9::bytea[],
                             $10::bytea[])
                      WITH ORDINALITY AS e(event_id, event_type, family, status, object_id,
                                           routing_key, occurred_at, envelope_time, resource, hash,
                                           n)
                 ORDER BY e.n
                 RETURNING seq, source, event_id, event_type, content_hash),
             keyed AS (INSERT INTO inbox_dedup (source, event_id, type_key, content_hash, seq)
                       SELECT source, event_id, upper(event_type), content_hash, seq FROM stored),
             published AS (INSERT INTO inbox_published SELECT seq, now() FROM stored WHERE $11),
             unpublished AS (INSERT INTO inbox_unpublished (seq)
                             SELECT seq FROM stored WHERE NOT $11),
             unprocessed AS (INSERT INTO inbox_unprocessed SELECT seq FROM stored)
             SELECT event_id FROM stored ORDER BY seq",
        )
        .bind(column(|e| Some(e.event_id.to_owned())))
        .bind(column(|e| Some(e.event_type.to_owned())))
        .bind(column(|e| Some(e.family.to_owned())))
        .bind(column(|e| e.status.map(str::to_owned)))
        .bind(column(|e| e.object_id.map(str::to_owned)))
        .bind(column(|e| Some(e.routing_key.to_owned())))
        .bind(events.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.envelope_time).collect::<Vec<_>>())
        .bind(
            events
                .iter()
                .map(|e| e.resource.to_vec())
                .collect::<Vec<_>>(),
        )
        .bind(
            events
                .iter()
                .map(|e| e.content_hash.clone())
                .collect::<Vec<_>>(),
        )
        .bind(left == LeftAs::Published)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }
}

impl TestApp {
    /// Overwrites an object's row in `table` as a bug or an older rule could have left it; its
    /// time is kept unless `occurred_at` is given.
    pub async fn overwrite_object(
        &self,
        table: &str,
        object_id: &str,
        (status, last_event_id): (&str, &str),
        occurred_at: Option<DateTime<Utc>>,
    ) {
        sqlx::query(&format!(
            "UPDATE {table} SET status = $2, last_event_id = $3,
                                occurred_at = COALESCE($4, occurred_at)
             WHERE object_id = $1"
        ))
        .bind(object_id)
        .bind(status)
        .bind(last_event_id)
        .bind(occurred_at)
        .execute(&self.pool)
        .await
        .unwrap();
    }

    /// Writes a row in `table` whose events retention pruned long ago: it is `days` old, and
    /// no event of the inbox tells of it.
    pub async fn insert_pruned_object(
        &self,
        table: &str,
        object_id: &str,
        status: &str,
        days: i32,
    ) {
        sqlx::query(&format!(
            "INSERT INTO {table} (object_id, status, occurred_at, last_event_id, last_source,
                                  updated_at)
             VALUES ($1, $2, now() - make_interval(days => $3), 'e-' || $1, 'interlace',
                     now() - make_interval(days => $3))"
        ))
        .bind(object_id)
        .bind(status)
        .bind(days)
        .execute(&self.pool)
        .await
        .unwrap();
    }
}

impl TestApp {
    /// Makes the database refuse every write of `object_id` to `table` (SQLSTATE 22023), as it
    /// refuses a value it cannot hold.
    pub async fn refuse_writes_of(&self, table: &str, object_id: &str) {
        sqlx::raw_sql(&format!(
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.object_id = '{object_id}' THEN
                     RAISE EXCEPTION 'refused for the test' USING ERRCODE = '22023';
                 END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON {table}
                 FOR EACH ROW EXECUTE FUNCTION refuse_poison();"
        ))
        .execute(&self.pool)
        .await
        .unwrap();
    }

    /// Rewrites a stored event's routing key, as an operator's fix of a bad row would.
    pub async fn set_routing_key(&self, event_id: &str, routing_key: &str) {
        self.rewrite_event(event_id, "routing_key = $2", routing_key)
            .await;
    }

    /// Rewrites a stored event's time to `time`, in PostgreSQL's own notation: an older
    /// hookgate stored times today's limits refuse (before year 1, say).
    pub async fn set_occurred_at(&self, event_id: &str, time: &str) {
        self.rewrite_event(event_id, "occurred_at = $2::timestamptz", time)
            .await;
    }

    /// Runs `UPDATE inbox_events SET {assignment}` on the event, with `value` as `$2`.
    async fn rewrite_event(&self, event_id: &str, assignment: &str, value: &str) {
        sqlx::query(&format!(
            "UPDATE inbox_events SET {assignment} WHERE event_id = $1"
        ))
        .bind(event_id)
        .bind(value)
        .execute(&self.pool)
        .await
        .unwrap();
    }

    /// Leaves the row of a `kind` operation whose process died `minutes` ago, `done` of
    /// `total` through; its lock died with it.
    pub async fn leave_operation_run(&self, kind: &str, (done, total): (i64, i64), minutes: i32) {
        sqlx::query(
            "INSERT INTO operation_runs (kind, started_at, done, total, updated_at)
             VALUES ($1, now() - make_interval(mins => $4 + 10), $2, $3,
                     now() - make_interval(mins => $4))",
        )
        .bind(kind)
        .bind(done)
        .bind(total)
        .bind(minutes)
        .execute(&self.pool)
        .await
        .unwrap();
    }
}
