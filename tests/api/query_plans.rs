//! The store's statements as the tables grow, read from PostgreSQL's own statistics: a plan
//! made while a table was young must not go on scanning it whole once it is large.

use crate::support::{eventually, fixtures::INTERLACE_SECRET, spawn_app, TestApp};
use hookgate::load_generator::load::{self, LoadPlan, Mix, Until};

/// Sends `count` new events (every family in turn) as fast as the receiver answers.
async fn accept(app: &TestApp, count: u64) {
    let report = load::run(LoadPlan {
        url: app.url("/webhooks/interlace"),
        secret: INTERLACE_SECRET.into(),
        connections: 8,
        rate: None,
        until: Until {
            duration: None,
            count: Some(count),
        },
        mix: Mix::default(),
    })
    .await;
    assert_eq!(report.accepted, count, "{:?}", report.status_counts);
}

/// Sequential scans of `inbox_dedup` once the statistics count `inserted` rows in it (each
/// backend reports its counts together, a little after its statements end).
async fn dedup_scans_after(app: &TestApp, inserted: i64) -> i64 {
    let read = || app.inserts_and_sequential_scans("inbox_dedup");
    eventually("the inserts counted", || async {
        read().await.0 >= inserted
    })
    .await;
    read().await.1
}

#[tokio::test]
async fn accepting_an_event_does_not_scan_the_deduplication_table_as_it_grows() {
    let app = spawn_app().await;
    // Autovacuum's first analyse would make any cached plan again; a young table waits for it
    // up to a minute and more, so the test keeps that window open throughout.
    app.autovacuum_off("inbox_dedup").await;
    // Below about 2 000 rows, reading the whole table once per batch is the cheaper plan.
    accept(&app, 4_000).await;
    let before = dedup_scans_after(&app, 4_000).await;
    accept(&app, 300).await;
    let after = dedup_scans_after(&app, 4_300).await;
    // An earlier copy of the resource is looked up by the content key's index for each event
    // of a family keyed by its event id (KYC, KYB, face authentication, card, account).
    assert_eq!(
        after, before,
        "sequential scans of inbox_dedup while accepting 300 events"
    );
}
