//! Retention (`HOOKGATE_RETENTION_DAYS`): what is pruned, and what is kept however old.

use crate::support::{eventually, spawn_app_with, TestOptions};

#[tokio::test]
async fn retention_prunes_only_old_events_and_notifications_that_are_done_and_old_deliveries() {
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
    let rows = [
        ("old-done", "40 days", true, true),
        ("old-unpublished", "40 days", false, false),
        ("old-unprocessed", "40 days", true, false),
        ("recent-done", "1 day", true, true),
    ];
    for (id, age, published, processed) in rows {
        sqlx::query(&format!(
            "WITH stored AS (
                 INSERT INTO inbox_events (source, event_id, event_type, family, routing_key,
                                           resource_raw, content_hash, received_at)
                 VALUES ('interlace', $1, 'TRANSFER.UPDATED', 'transfer', 'transfer.invalid', '{{}}',
                         sha256($1::bytea), now() - interval '{age}')
                 RETURNING seq),
             published AS (INSERT INTO inbox_published SELECT seq, now() FROM stored WHERE $2),
             unpublished AS (INSERT INTO inbox_unpublished (seq) SELECT seq FROM stored WHERE NOT $2),
             processed AS (INSERT INTO inbox_processed SELECT seq, now() FROM stored WHERE $3)
             INSERT INTO inbox_unprocessed SELECT seq FROM stored WHERE NOT $3"
        ))
        .bind(id)
        .bind(published)
        .bind(processed)
        .execute(&app.pool)
        .await
        .unwrap();
    }
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
        app.count("SELECT count(*) FROM notification_deliveries WHERE notification_id = 'ntf_old'")
            .await
            == 0
    })
    .await;
    assert_eq!(
        app.count("SELECT count(*) FROM notification_deliveries")
            .await,
        1,
        "the recent delivery record stays"
    );
    let left: Vec<String> =
        sqlx::query_scalar("SELECT event_id FROM inbox_events ORDER BY event_id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(left, ["old-unprocessed", "old-unpublished", "recent-done"]);
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
            ("old-unprocessed".to_owned(), true, false),
            ("old-unpublished".to_owned(), false, false),
            ("recent-done".to_owned(), true, true),
        ]
    );
    eventually("the old published notification pruned", || async {
        app.count("SELECT count(*) FROM notification_outbox WHERE notification_id = 'ntf_old_sent'")
            .await
            == 0
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
        app.count("SELECT count(*) FROM notification_published")
            .await,
        1,
        "the pruned notification's publish time went with it"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM inbox_published").await
            + app.count("SELECT count(*) FROM inbox_processed").await,
        3,
        "the pruned event's times went with it"
    );
}
