//! The inbox as tests read it back, straight from the test's database.

use super::{eventually, TestApp};
use std::time::Duration;

/// An inbox row's columns that the receiving tests check, times as SPEC text.
#[derive(sqlx::FromRow, Debug)]
pub struct StoredRow {
    pub(crate) source: String,
    pub(crate) event_type: String,
    pub(crate) family: String,
    pub(crate) status: Option<String>,
    pub(crate) object_id: Option<String>,
    pub(crate) routing_key: String,
    pub(crate) occurred_at: Option<String>,
    pub(crate) resource_raw: Vec<u8>,
    pub(crate) content_hash: Vec<u8>,
    pub(crate) parse_error: Option<String>,
}

impl TestApp {
    /// The inbox row of `event_id`.
    pub async fn stored(&self, event_id: &str) -> StoredRow {
        sqlx::query_as(
            "SELECT source, event_type, family, status, object_id, routing_key,
                    to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS occurred_at,
                    resource_raw, content_hash, parse_error
             FROM inbox_events WHERE event_id = $1",
        )
        .bind(event_id)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    /// Waits until `n` events are processed or dead-lettered.
    pub async fn wait_until_handled(&self, n: i64) {
        eventually(&format!("{n} events handled"), || async {
            self.count("SELECT count(*) FROM inbox_events WHERE seq IN (SELECT seq FROM inbox_processed) OR dead_lettered_at IS NOT NULL")
                .await
                >= n
        })
        .await;
    }

    /// Posts a transfer event and waits until the worker has processed or dead-lettered it.
    pub async fn handle_transfer(&self, event_id: &str, object_id: &str, status: &str, time: &str) {
        self.post_transfer(event_id, object_id, status, time).await;
        eventually(&format!("{event_id} handled"), || async {
            sqlx::query_scalar(
                "SELECT processed_at IS NOT NULL OR dead_lettered_at IS NOT NULL
                 FROM inbox_events LEFT JOIN inbox_processed USING (seq) WHERE event_id = $1",
            )
            .bind(event_id)
            .fetch_one(&self.pool)
            .await
            .unwrap_or(false)
        })
        .await;
    }

    pub async fn inbox_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM inbox_events")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Waits until the inbox has no unpublished row left.
    pub async fn wait_until_published(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox_unpublished")
                .fetch_one(&self.pool)
                .await
                .unwrap();
            if left == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{left} events never published"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
