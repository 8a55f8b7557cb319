//! The inbox as tests read it back, through the store's own reads.

use super::{eventually, TestApp};
use hookgate::{
    catalogue::{format_time, Family},
    store::{census, census::Census, inbox},
};

/// An inbox row's columns that the receiving tests check, times as SPEC text.
#[derive(Debug)]
pub struct StoredRow {
    pub(crate) source: String,
    pub(crate) event_type: String,
    pub(crate) family: String,
    pub(crate) status: Option<String>,
    pub(crate) object_id: Option<String>,
    pub(crate) account_id: Option<String>,
    pub(crate) routing_key: String,
    pub(crate) occurred_at: Option<String>,
    pub(crate) resource_raw: Vec<u8>,
    pub(crate) content_hash: Vec<u8>,
    pub(crate) parse_error: Option<String>,
}

impl TestApp {
    /// The inbox row of `event_id`, from whichever configured source stored it.
    pub async fn stored(&self, event_id: &str) -> StoredRow {
        for source in &self.config.sources {
            let found = inbox::event_detail(&self.pool, &source.name, event_id)
                .await
                .unwrap();
            if let Some(detail) = found {
                let reading = detail.row.reading;
                return StoredRow {
                    source: detail.row.key.source,
                    event_type: detail.row.key.event_type,
                    family: reading.family.to_string(),
                    status: reading.status,
                    object_id: reading.object_id,
                    account_id: reading.account_id,
                    routing_key: detail.row.routing_key,
                    occurred_at: reading.occurred_at.as_ref().map(format_time),
                    resource_raw: detail.row.resource_raw,
                    content_hash: detail.content_hash,
                    parse_error: detail.parse_error,
                };
            }
        }
        panic!("{event_id} is not stored")
    }

    /// How many rows each part of the store holds.
    pub async fn census(&self) -> Census {
        census::take(&self.pool).await.unwrap()
    }

    /// The rows of `family`'s read-model table.
    pub async fn objects_of(&self, family: Family) -> i64 {
        census::objects(&self.pool, family).await.unwrap()
    }

    /// Waits until `n` events are processed or dead-lettered.
    pub async fn wait_until_handled(&self, n: i64) {
        eventually(&format!("{n} events handled"), || async {
            self.census().await.handled >= n
        })
        .await;
    }

    /// Waits until each of `event_ids` is processed.
    pub async fn wait_until_processed(&self, event_ids: &[String]) {
        for id in event_ids {
            eventually(&format!("{id} processed"), || async {
                self.event_state(id).await == "processed"
            })
            .await;
        }
    }

    /// Posts a transfer event and waits until the worker has processed or dead-lettered it.
    pub async fn handle_transfer(&self, event_id: &str, object_id: &str, status: &str, time: &str) {
        self.post_transfer(event_id, object_id, status, time).await;
        eventually(&format!("{event_id} handled"), || async {
            let state = self.event_state(event_id).await;
            state == "processed" || state == "dead_lettered"
        })
        .await;
    }

    pub async fn inbox_count(&self) -> i64 {
        self.census().await.events
    }

    /// Waits until the inbox has no unpublished row left.
    pub async fn wait_until_published(&self) {
        eventually("every event published", || async {
            self.census().await.unpublished == 0
        })
        .await;
    }
}
