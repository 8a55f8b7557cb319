//! The inbox's daily partitions: a new day opens one, and the events of earlier days are still
//! found, processed and deduplicated.

use crate::support::{eventually, sign::signed_transfer, spawn_app_with, TestOptions};
use serde_json::{json, Value};

#[tokio::test]
async fn a_new_day_opens_a_partition_and_earlier_days_still_deduplicate() {
    let app = spawn_app_with(TestOptions {
        env: vec![("HOOKGATE_RETENTION_INTERVAL_SECS", "1".into())],
        ..TestOptions::default()
    })
    .await;
    let (yesterday_headers, yesterday_body) = signed_transfer("yesterday", "t-1");
    assert_eq!(
        app.accepted("interlace", &yesterday_headers, yesterday_body.clone())
            .await,
        json!({"received": true})
    );
    app.wait_until_handled(1).await;

    // The newest partition is made a day old; the service's next pass opens today's.
    sqlx::query(
        "UPDATE inbox_partitions SET opened_at = opened_at - interval '1 day'
         WHERE first_seq = (SELECT max(first_seq) FROM inbox_partitions)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    eventually("today's partition opened", || async {
        app.count("SELECT count(*) FROM inbox_partitions").await == 3
    })
    .await;
    let (headers, body) = signed_transfer("today", "t-2");
    assert_eq!(
        app.accepted("interlace", &headers, body).await,
        json!({"received": true})
    );
    app.wait_until_handled(2).await;

    let placed: Vec<(String, String)> =
        sqlx::query_as("SELECT event_id, tableoid::regclass::text FROM inbox_events ORDER BY seq")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let newest: String =
        sqlx::query_scalar("SELECT name FROM inbox_partitions ORDER BY first_seq DESC LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(placed[0].0, "yesterday");
    assert_eq!(placed[1], ("today".to_owned(), newest));
    assert_ne!(placed[0].1, placed[1].1, "each day in its own partition");

    // Yesterday's event, re-sent today under its id and under a new one, is a duplicate.
    assert_eq!(
        app.accepted("interlace", &yesterday_headers, yesterday_body)
            .await,
        json!({"received": true, "duplicate": true})
    );
    let (headers, body) = signed_transfer("yesterday-again", "t-1");
    assert_eq!(
        app.accepted("interlace", &headers, body).await,
        json!({"received": true, "duplicate": true})
    );
    assert_eq!(app.inbox_count().await, 2);
    for id in ["yesterday", "today"] {
        let event: Value = app
            .api(&format!("/v1/events/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(event["state"], "processed", "{id}");
    }
}
