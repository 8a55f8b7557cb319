//! Retention cannot be pinned (SPEC 6): a day whose events are processed or dead-lettered is
//! dropped once past the window, its dead letters keep their own copy, and a dead letter whose
//! event went with its day is replayed from that copy.

use crate::{
    ops::dead_letters,
    support::{eventually, spawn_app_with_env, TestApp},
};
use chrono::{Duration, Utc};
use hookgate::{ops::retention::prune_once, store::partitions};
use serde_json::json;

/// Posts an event whose resource does not fit its family, and waits until it is dead-lettered
/// and its dead letter indexed.
async fn unfit_event(app: &TestApp, id: &str) {
    // No `id`: unfit. Each differs, so none is a duplicate of another.
    let no_id = json!({"status": "Closed", "transactionTime": "2021-10-28T11:07:31.019Z",
                       "reference": id});
    app.post_event(id, "CARD_TRANSACTION.UPDATED", no_id).await;
    eventually(&format!("{id} dead-lettered and indexed"), || async {
        dead_letters(app).await.iter().any(|l| l["eventId"] == id)
            && app.event_state(id).await == "dead_lettered"
    })
    .await;
}

async fn quiet_app() -> TestApp {
    // The service's own retention runs once at start; the test runs the passes it needs.
    spawn_app_with_env(&[("HOOKGATE_RETENTION_INTERVAL_SECS", "3600")]).await
}

/// Begins a new day recorded as `days_ago` days old.
async fn begin_day(app: &TestApp, days_ago: i64) {
    let mut conn = app.pool.acquire().await.unwrap();
    partitions::open_next(&mut conn, Utc::now() - Duration::days(days_ago))
        .await
        .unwrap();
}

#[tokio::test]
async fn one_unfit_event_a_day_pins_nothing_and_its_dead_letter_stays() {
    let app = quiet_app().await;
    for (n, days_ago) in [50, 45, 40, 35].into_iter().enumerate() {
        begin_day(&app, days_ago).await;
        unfit_event(&app, &format!("unfit-{n}")).await;
    }
    begin_day(&app, 31).await;
    let before = app.census().await.partitions;
    prune_once(&app.pool, 30).await.unwrap();
    // Each of the four days held one dead-lettered event: all four went.
    assert_eq!(app.census().await.partitions, before - 4);
    for n in 0..4 {
        let gone = app
            .api(&format!("/v1/events/unfit-{n}?source=interlace"))
            .await;
        assert_eq!(gone.status(), 404, "unfit-{n} left with its day");
    }
    assert_eq!(dead_letters(&app).await.len(), 4, "every dead letter stays");
}

#[tokio::test]
async fn a_dead_letter_whose_event_went_with_its_day_is_replayed_from_its_copy() {
    let app = quiet_app().await;
    unfit_event(&app, "gone-1").await;
    begin_day(&app, 35).await;
    prune_once(&app.pool, 30).await.unwrap();
    assert_eq!(app.api("/v1/events/gone-1").await.status(), 404);

    let replayed = app
        .cli_json(&["dlq", "replay", "--event-id", "gone-1", "--json"])
        .await;
    assert_eq!(replayed, json!({"replayed": 1, "skipped": 0}));
    // Stored again as a new arrival, published, and (still unfit) dead-lettered again.
    eventually("gone-1 back and dead-lettered again", || async {
        app.api("/v1/events/gone-1").await.status() == 200
            && app.event_state("gone-1").await == "dead_lettered"
    })
    .await;
    assert_eq!(dead_letters(&app).await.len(), 1);
}

#[tokio::test]
async fn purging_a_dead_letter_closes_its_event_so_its_day_can_go() {
    let app = quiet_app().await;
    unfit_event(&app, "purged-1").await;
    let purged = app.cli_json(&["dlq", "purge", "--yes", "--json"]).await;
    assert_eq!(purged, json!({"purged": 1}));
    assert!(dead_letters(&app).await.is_empty());
    begin_day(&app, 35).await;
    prune_once(&app.pool, 30).await.unwrap();
    assert_eq!(
        app.api("/v1/events/purged-1").await.status(),
        404,
        "its day went, though it was never processed"
    );
}

#[tokio::test]
async fn dead_letters_past_their_own_retention_are_purged_and_audited() {
    let app = spawn_app_with_env(&[
        ("HOOKGATE_RETENTION_INTERVAL_SECS", "1"),
        ("HOOKGATE_DLQ_RETENTION_DAYS", "7"),
    ])
    .await;
    unfit_event(&app, "old-letter").await;
    unfit_event(&app, "new-letter").await;
    // One failed eight days ago (its index row says when; the DLQ copy is found by its key).
    app.backdate_dead_letter("old-letter", 8).await;
    eventually("the old dead letter purged", || async {
        let left = dead_letters(&app).await;
        left.len() == 1 && left[0]["eventId"] == "new-letter"
    })
    .await;
    let audit = hookgate::store::console::recent_actions(&app.pool, 10)
        .await
        .unwrap();
    let purge = audit
        .iter()
        .find(|entry| entry.action == "dlq_purge_expired")
        .expect("the purge is audited");
    assert_eq!(purge.operator, "retention");
    assert_eq!(purge.detail["purged"], 1);
    // Gone from the queue itself too: a replay of everything finds only the new one.
    let replayed = app
        .cli_json(&["dlq", "replay", "--all", "--dry-run", "--json"])
        .await;
    assert_eq!(replayed["replayed"], 1, "{replayed}");
}

#[tokio::test]
async fn a_dead_letter_from_before_the_index_is_indexed_before_its_day_goes() {
    let app = spawn_app_with_env(&[("HOOKGATE_RETENTION_INTERVAL_SECS", "1")]).await;
    unfit_event(&app, "unindexed-1").await;
    // As a hookgate older than the DLQ index left it: in the DLQ, not in the index.
    app.forget_dead_letter_index().await;
    begin_day(&app, 35).await;
    eventually(
        "its day dropped once its dead letter is indexed",
        || async { app.api("/v1/events/unindexed-1").await.status() == 404 },
    )
    .await;
    let letters = dead_letters(&app).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["eventId"], "unindexed-1");
}
