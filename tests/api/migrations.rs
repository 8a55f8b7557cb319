//! Migrations that move data: an upgrade keeps every stored event and notification where it
//! was in its life, so a relay neither publishes one again nor forgets one, and no worker
//! re-projects.

use hookgate::store::{self, inbox::EventState};
use sqlx::{migrate::MigrateDatabase, postgres::PgPoolOptions, PgPool, Postgres};
use std::borrow::Cow;

/// A new database migrated up to and including `version`.
async fn database_at(version: i64) -> (PgPool, String) {
    let admin = std::env::var("HOOKGATE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://hookgate:hookgate@127.0.0.1:5432/postgres".into());
    let mut url = reqwest::Url::parse(&admin).unwrap();
    url.set_path(&format!(
        "hookgate_upgrade_{}",
        uuid::Uuid::new_v4().simple()
    ));
    Postgres::create_database(url.as_str()).await.unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(url.as_str())
        .await
        .unwrap();
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.migrations = Cow::Owned(
        migrator
            .migrations
            .iter()
            .filter(|m| m.version <= version)
            .cloned()
            .collect(),
    );
    migrator.run(&pool).await.unwrap();
    (pool, url.to_string())
}

#[tokio::test]
async fn the_immutable_inbox_migration_keeps_each_events_place() {
    let (pool, url) = database_at(9).await;
    // As hookgate 0009 kept them: the lifecycle in the inbox row's own columns.
    sqlx::query(
        "INSERT INTO inbox_events (source, event_id, event_type, family, routing_key, resource_raw,
                                   content_hash, published_at, processed_at, parked_at, park_error,
                                   dead_lettered_at, error)
         VALUES
         ('interlace', 'received', 'T', 'transfer', 'transfer.x', '{}', '\\x01',
          NULL, NULL, NULL, NULL, NULL, NULL),
         ('interlace', 'parked', 'T', 'transfer', 'transfer.x', '{}', '\\x02',
          NULL, NULL, now(), 'too long', now(), 'too long'),
         ('interlace', 'published', 'T', 'transfer', 'transfer.x', '{}', '\\x03',
          '2026-01-01T00:00:01Z', NULL, NULL, NULL, NULL, NULL),
         ('interlace', 'processed', 'T', 'transfer', 'transfer.x', '{}', '\\x04',
          '2026-01-01T00:00:01Z', '2026-01-01T00:00:02Z', NULL, NULL, NULL, NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();

    store::migrate(&pool).await.unwrap();

    let expected = [
        ("received", EventState::Received),
        ("parked", EventState::DeadLettered),
        ("published", EventState::Published),
        ("processed", EventState::Processed),
    ];
    for (id, state) in expected {
        let event = store::inbox::find_event(&pool, "interlace", id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.state, state, "{id}");
    }
    let processed = store::inbox::find_event(&pool, "interlace", "processed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        processed.published_at.unwrap().to_rfc3339(),
        "2026-01-01T00:00:01+00:00"
    );
    assert_eq!(
        processed.processed_at.unwrap().to_rfc3339(),
        "2026-01-01T00:00:02+00:00"
    );
    let queued: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT event_id, seq IN (SELECT seq FROM inbox_unpublished),
                seq IN (SELECT seq FROM inbox_unprocessed)
         FROM inbox_events ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        queued,
        [
            ("received".to_owned(), true, true),
            ("parked".to_owned(), true, true),
            ("published".to_owned(), false, true),
            ("processed".to_owned(), false, false),
        ]
    );
    let parked = store::dead_letters::parked(&pool, 10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].key.event_id, "parked");
    assert_eq!(parked[0].park_error.as_deref(), Some("too long"));
    pool.close().await;
    Postgres::force_drop_database(&url).await.unwrap();
}

#[tokio::test]
async fn the_notification_queue_migration_keeps_each_notifications_place() {
    let (pool, url) = database_at(10).await;
    sqlx::query(
        "INSERT INTO notification_outbox (notification_id, source, event_id, routing_key, body,
                                          published_at, parked_at, park_error)
         VALUES ('ntf_unsent', 'interlace', 'e1', 'notify.x', '{}', NULL, NULL, NULL),
                ('ntf_parked', 'interlace', 'e2', 'notify.x', '{}', NULL, now(), 'too long'),
                ('ntf_sent', 'interlace', 'e3', 'notify.x', '{}', '2026-01-01T00:00:01Z', NULL, NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();

    store::migrate(&pool).await.unwrap();

    let places: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT n.notification_id, u.park_error, to_char(p.published_at AT TIME ZONE 'UTC', 'HH24:MI:SS')
         FROM notification_outbox n
         LEFT JOIN notification_unpublished u ON u.seq = n.seq
         LEFT JOIN notification_published p ON p.seq = n.seq
         ORDER BY n.seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        places,
        [
            ("ntf_unsent".to_owned(), None, None),
            ("ntf_parked".to_owned(), Some("too long".to_owned()), None),
            ("ntf_sent".to_owned(), None, Some("00:00:01".to_owned())),
        ]
    );
    let (waiting, _) = store::outbox::backlog(&pool, store::outbox::OutboxTable::Notifications)
        .await
        .unwrap();
    assert_eq!(
        waiting, 1,
        "only the unsent, unparked notification waits for the relay"
    );
    pool.close().await;
    Postgres::force_drop_database(&url).await.unwrap();
}
