//! Retention (`HOOKGATE_RETENTION_DAYS`): what is pruned, and what is kept however old.

use crate::support::{eventually, spawn_app_with, TestApp, TestOptions};
use chrono::{Duration, Utc};
use hookgate::store::census;
use hookgate::store::partitions::{self, MAINTENANCE_LOCK};
use sqlx::PgConnection;

/// Stores an event in the newest partition, received `age` ago, in the given state.
async fn store_event(
    conn: &mut PgConnection,
    (id, age, published, processed): (&str, &str, bool, bool),
) {
    sqlx::query(concat!(
        "WITH stored AS (
             INSERT INTO inbox_events (source, event_id, event_type, family, routing_key,
                                       resource_raw, content_hash, received_at)
             VALUES ('interlace', $1, 'TRANSFER.UPDATED', 'transfer', 'transfer.invalid', '{}',
                     sha256($1::bytea), now() - $4::interval)
             RETURNING seq, source, event_id, event_type, content_hash),
         ",
        "keyed AS (INSERT INTO inbox_dedup (source, event_id, type_key, content_hash, seq)
                   SELECT source, event_id, upper(event_type), content_hash, seq FROM stored),
         published AS (INSERT INTO inbox_published SELECT seq, now() FROM stored WHERE $2),
         unpublished AS (INSERT INTO inbox_unpublished (seq) SELECT seq FROM stored WHERE NOT $2),
         processed AS (INSERT INTO inbox_processed SELECT seq, now() FROM stored WHERE $3)
         INSERT INTO inbox_unprocessed SELECT seq FROM stored WHERE NOT $3"
    ))
    .bind(id)
    .bind(published)
    .bind(processed)
    .bind(age)
    .execute(conn)
    .await
    .unwrap();
}

#[tokio::test]
async fn retention_drops_old_days_that_are_done_and_prunes_old_notifications_and_deliveries() {
    let app = spawn_app_with(TestOptions {
        broker_proxy: true,
        env: vec![
            ("HOOKGATE_RETENTION_INTERVAL_SECS", "1".into()),
            ("HOOKGATE_RETENTION_DAYS", "30".into()),
        ],
        ..TestOptions::default()
    })
    .await;
    // With the broker unreachable nothing moves, so each row keeps the state given here.
    app.broker_proxy.as_ref().unwrap().cut();
    // Days of traffic, each in the partition opened that many days ago. A day ends when the
    // next one opens, so the day opened 35 days ago ended 31 days ago, past the window, and the
    // one opened 31 days ago is still going on.
    let days = [
        (50, vec![("old-done-1", "50 days", true, true)]),
        (
            45,
            vec![
                ("old-unpublished", "45 days", false, false),
                ("old-done-2", "44 days", true, true),
            ],
        ),
        (40, vec![("old-unprocessed", "40 days", true, false)]),
        (35, vec![("old-done-3", "35 days", true, true)]),
        (31, vec![("recent-done", "1 day", true, true)]),
        (0, vec![]),
    ];
    // Held while the days are laid out, so the service's own pass waits instead of opening
    // today's partition in between.
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MAINTENANCE_LOCK)
        .execute(&mut *conn)
        .await
        .unwrap();
    for (days_ago, events) in days {
        partitions::open_next(&mut conn, Utc::now() - Duration::days(days_ago))
            .await
            .unwrap();
        for event in events {
            store_event(&mut conn, event).await;
        }
    }
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MAINTENANCE_LOCK)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    sqlx::query(
        "WITH stored AS (
             INSERT INTO notification_outbox (notification_id, source, event_id, routing_key, body,
                                              created_at)
             VALUES ('ntf_old_sent', 'interlace', 'old-done', 'notify.x', '{}', now() - interval '40 days'),
                    ('ntf_old_unsent', 'interlace', 'old-done', 'notify.x', '{}', now() - interval '40 days'),
                    ('ntf_recent_sent', 'interlace', 'recent-done', 'notify.x', '{}', now())
             RETURNING seq, notification_id),
         unsent AS (INSERT INTO notification_unpublished (seq)
                    SELECT seq FROM stored WHERE notification_id = 'ntf_old_unsent')
         INSERT INTO notification_published
         SELECT seq, now() FROM stored WHERE notification_id <> 'ntf_old_unsent'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO notification_deliveries (subscriber, notification_id, delivered_at)
         VALUES ('ledger', 'ntf_old', now() - interval '40 days'), ('ledger', 'ntf_recent', now())",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // Deliveries are pruned last in each pass, so once the old one is gone the pass is done.
    eventually("the old delivery record pruned", || async {
        census::notification(&app.pool, "ntf_old").await.unwrap().1 == 0
    })
    .await;
    assert_eq!(
        app.census().await.deliveries,
        1,
        "the recent delivery record stays"
    );
    eventually("the old days dropped", || async {
        app.api("/v1/events/old-done-1").await.status() == 404
            && app.api("/v1/events/old-done-3").await.status() == 404
    })
    .await;
    let left = event_ids_in(&app, "inbox_events").await;
    assert_eq!(
        left,
        [
            "old-done-2",
            "old-unprocessed",
            "old-unpublished",
            "recent-done"
        ],
        "a day with an event not yet published or processed is kept whole"
    );
    let keys = event_ids_in(&app, "inbox_dedup").await;
    assert_eq!(
        keys, left,
        "a dropped day's deduplication keys went with it"
    );
    let times_left: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT event_id, published_at IS NOT NULL, processed_at IS NOT NULL
         FROM inbox_events LEFT JOIN inbox_published USING (seq) LEFT JOIN inbox_processed USING (seq)
         ORDER BY event_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        times_left,
        [
            ("old-done-2".to_owned(), true, true),
            ("old-unprocessed".to_owned(), true, false),
            ("old-unpublished".to_owned(), false, false),
            ("recent-done".to_owned(), true, true),
        ]
    );
    let opened: Vec<i64> = sqlx::query_scalar(
        "SELECT floor(extract(epoch FROM now() - opened_at) / 86400)::bigint
         FROM inbox_partitions ORDER BY first_seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    // Whole days since each opened, rounded down: tomorrow's, prepared ahead, is -1 at any hour
    // of today (rounding made it 0 after noon UTC, and the test failed every afternoon).
    // First the one migration 0012 made of the table as it was: its day ended when the
    // migration opened the next, just now. The one it opened ended 50 days ago and went. Last,
    // tomorrow's, prepared ahead.
    assert_eq!(
        opened,
        [0, 45, 40, 31, 0, -1],
        "the partitions left, by days since they opened"
    );
    eventually("the old published notification pruned", || async {
        !census::notification(&app.pool, "ntf_old_sent")
            .await
            .unwrap()
            .0
    })
    .await;
    let notifications: Vec<String> = sqlx::query_scalar(
        "SELECT notification_id FROM notification_outbox ORDER BY notification_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        notifications,
        ["ntf_old_unsent", "ntf_recent_sent"],
        "an unpublished notification stays however old"
    );
    assert_eq!(
        app.census().await.notifications_published,
        1,
        "the pruned notification's publish time went with it"
    );
    assert_eq!(
        app.census().await.published + app.census().await.processed,
        5,
        "the dropped events' times went with them"
    );
}

/// The event ids `table` holds, in order.
async fn event_ids_in(app: &TestApp, table: &str) -> Vec<String> {
    sqlx::query_scalar(&format!("SELECT event_id FROM {table} ORDER BY event_id"))
        .fetch_all(&app.pool)
        .await
        .unwrap()
}
