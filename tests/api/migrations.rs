//! Migrations that move data: an upgrade keeps every stored event and notification where it
//! was in its life, so a relay neither publishes one again nor forgets one, and no worker
//! re-projects.

use hookgate::{
    catalogue::Family,
    store::{self, inbox::EventState},
};
use sqlx::{migrate::MigrateDatabase, postgres::PgPoolOptions, PgPool, Postgres};
use std::borrow::Cow;

/// A new database migrated up to and including `version`.
async fn drop_database(pool: PgPool, url: &str) {
    pool.close().await;
    Postgres::force_drop_database(url).await.unwrap();
}

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
    let parked = store::parked_events::parked(&pool, 10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].key.event_id, "parked");
    assert_eq!(parked[0].park_error.as_deref(), Some("too long"));
    drop_database(pool, &url).await;
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
    drop_database(pool, &url).await;
}

#[tokio::test]
async fn the_partitioned_inbox_migration_keeps_each_event_and_its_keys() {
    let (pool, url) = database_at(11).await;
    sqlx::query(
        "WITH stored AS (
             INSERT INTO inbox_events (source, event_id, event_type, family, routing_key,
                                       resource_raw, content_hash)
             VALUES ('interlace', 'unpublished', 'transfer.updated', 'transfer', 'transfer.x', '{}', '\\x01'),
                    ('interlace', 'processed', 'TRANSFER.UPDATED', 'transfer', 'transfer.x', '{}', '\\x02')
             RETURNING seq, event_id),
         unpublished AS (INSERT INTO inbox_unpublished (seq)
                         SELECT seq FROM stored WHERE event_id = 'unpublished'),
         unprocessed AS (INSERT INTO inbox_unprocessed (seq)
                         SELECT seq FROM stored WHERE event_id = 'unpublished'),
         published AS (INSERT INTO inbox_published
                       SELECT seq, now() FROM stored WHERE event_id = 'processed')
         INSERT INTO inbox_processed SELECT seq, now() FROM stored WHERE event_id = 'processed'",
    )
    .execute(&pool)
    .await
    .unwrap();

    store::migrate(&pool).await.unwrap();

    for (id, state) in [
        ("unpublished", EventState::Received),
        ("processed", EventState::Processed),
    ] {
        let event = store::inbox::find_event(&pool, "interlace", id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.state, state, "{id}");
    }
    let keys: Vec<(String, String, Vec<u8>, String)> = sqlx::query_as(
        "SELECT k.event_id, k.type_key, k.content_hash, e.tableoid::regclass::text
         FROM inbox_dedup AS k JOIN inbox_events AS e USING (seq) ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        keys,
        [
            (
                "unpublished".to_owned(),
                "TRANSFER.UPDATED".to_owned(),
                vec![1],
                "inbox_events_p0".to_owned()
            ),
            (
                "processed".to_owned(),
                "TRANSFER.UPDATED".to_owned(),
                vec![2],
                "inbox_events_p0".to_owned()
            ),
        ],
        "the old rows are the first partition, each with its keys"
    );
    let (next, newest): (String, String) = sqlx::query_as(
        "WITH stored AS (
             INSERT INTO inbox_events (source, event_id, event_type, family, routing_key,
                                       resource_raw, content_hash)
             VALUES ('interlace', 'after', 'T', 'transfer', 'transfer.x', '{}', '\\x03')
             RETURNING tableoid::regclass::text AS partition)
         SELECT partition, (SELECT name FROM inbox_partitions ORDER BY first_seq DESC LIMIT 1)
         FROM stored",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        next, newest,
        "the next event goes to the partition the upgrade opened"
    );
    assert_ne!(newest, "inbox_events_p0");
    drop_database(pool, &url).await;
}

/// Rows stored before deduplication moved to the signed resource (0013, 0014): the upgrade
/// keys them in pages, the first of two rows that collide under the new key keeps it, the
/// old key goes only then, and a pod of the previous version that still inserts without the
/// new columns has its rows keyed by the trigger.
#[tokio::test]
async fn the_content_key_upgrade_keys_old_rows_and_keeps_deduplication_whole() {
    let (pool, url) = database_at(12).await;
    // As hookgate 0012 kept them: the same transfer bytes under two types (two events under
    // the old rule), and a KYC repeated under two ids, which the old rule allowed only under
    // different types.
    sqlx::query(
        "INSERT INTO inbox_dedup (source, event_id, type_key, content_hash, seq) VALUES
         ('interlace', 't-updated', 'TRANSFER.UPDATED', '\\x0a', 1),
         ('interlace', 't-created', 'TRANSFER.CREATED', '\\x0a', 2),
         ('interlace', 'k-1', 'KYC.UPDATED', '\\x0b', 3),
         ('interlace', 'u-1', 'CARDHOLDER.UPDATED', '\\x0c', 4)",
    )
    .execute(&pool)
    .await
    .unwrap();

    store::migrate(&pool).await.unwrap();

    let keys: Vec<(String, String, String)> =
        sqlx::query_as("SELECT event_id, content_family, copy_key FROM inbox_dedup ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected = [
        ("t-updated", "transfer", ""),
        ("t-created", "transfer", "t-created"),
        ("k-1", "kyc", "k-1"),
        ("u-1", "unknown", "u-1"),
    ];
    let keys: Vec<(&str, &str, &str)> = keys
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(keys, expected);
    let (old_key, index_valid): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'inbox_dedup_same_content'),
                (SELECT indisvalid FROM pg_index
                 WHERE indexrelid = 'inbox_dedup_same_resource'::regclass)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(!old_key && index_valid);

    // A previous-version pod's insert, without the new columns, is keyed by the trigger and
    // then refused as a duplicate of the stored transfer bytes under a new id and type.
    let old_pod = "INSERT INTO inbox_dedup (source, event_id, type_key, content_hash, seq)
                   VALUES ('interlace', $1, $2, $3, $4) ON CONFLICT DO NOTHING";
    for (id, type_key, hash, seq, stored) in [
        ("t-again", "TRANSFER.DELETED", vec![0x0a_u8], 5, false),
        ("k-2", "KYC.UPDATED", vec![0x0b], 6, true),
        ("p-1", "PAYOUT.UPDATED", vec![0x0d], 7, true),
    ] {
        let inserted = sqlx::query(old_pod)
            .bind(id)
            .bind(type_key)
            .bind(hash)
            .bind(seq)
            .execute(&pool)
            .await
            .unwrap()
            .rows_affected();
        assert_eq!(inserted == 1, stored, "{id}");
    }
    let payout: (String, String) =
        sqlx::query_as("SELECT content_family, copy_key FROM inbox_dedup WHERE event_id = 'p-1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(payout, ("payout".to_owned(), String::new()));
    // Completing the upgrade again does nothing.
    assert_eq!(
        store::content_key::complete(&pool).await.unwrap(),
        store::content_key::Upgraded::default()
    );
    drop_database(pool, &url).await;
}

/// The migration's SQL copy of the catalogue, which keys rows a previous-version pod inserts,
/// says what `catalogue/facts.rs` says.
#[tokio::test]
async fn the_content_key_functions_agree_with_the_catalogue() {
    let (pool, url) = database_at(13).await;
    for family in Family::KNOWN.into_iter().chain([Family::Unknown]) {
        let type_key = match family.facts() {
            Some(facts) => format!("{}.UPDATED", facts.event_prefix),
            None => "CARDHOLDER.UPDATED".to_owned(),
        };
        let (name, by_signed_time): (String, bool) = sqlx::query_as(
            "SELECT inbox_dedup_content_family($1),
                    inbox_dedup_orders_by_signed_time(inbox_dedup_content_family($1))",
        )
        .bind(&type_key)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(name, family.as_str(), "{type_key}");
        assert_eq!(by_signed_time, family.orders_by_signed_time(), "{type_key}");
    }
    drop_database(pool, &url).await;
}

#[tokio::test]
async fn inbox_keeps_the_resource_once_as_its_bytes() {
    let app = crate::support::spawn_app().await;
    app.post_transfer("once-1", "t-once", "CLOSED", "2024-02-05T10:57:04Z")
        .await;
    let copies: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.columns
         WHERE table_name = 'inbox_events' AND data_type IN ('jsonb', 'json', 'bytea')
           AND column_name <> 'content_hash'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(copies, 1, "resource_raw is the inbox's only copy");
    assert_eq!(app.inbox_count().await, 1);
}

/// Each waiting family's stuck-object statement can be served by its partial index: with
/// sequential scans off, the plan names `<table>_stuck` (on a large table the planner picks it
/// by cost; `benches/stuck.sh` shows that plan on a million objects).
#[tokio::test]
async fn every_stuck_statement_is_served_by_its_partial_index() {
    use hookgate::{catalogue::Family, store::stuck::page_statement};
    let app = crate::support::spawn_app().await;
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    for family in Family::that_wait() {
        let statement = page_statement(family).unwrap();
        let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {statement}"))
            .bind(chrono::Utc::now())
            .bind(None::<chrono::DateTime<chrono::Utc>>)
            .bind(None::<String>)
            .bind(100_i64)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        let table = family.facts().unwrap().table;
        let plan = plan.join("\n");
        assert!(plan.contains(&format!("{table}_stuck")), "{family}: {plan}");
    }
    conn.close().await.unwrap();
}
