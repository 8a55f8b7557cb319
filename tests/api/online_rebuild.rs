//! `rebuild` recomputes the read model into shadow tables and swaps them in (SPEC 6): the live
//! read model serves throughout, events that arrive meanwhile are in the result, a dry run
//! lists the differences and changes nothing, and objects whose events are no longer archived
//! are kept.

use crate::support::{sign, spawn_app, TestApp};
use hookgate::{
    catalogue::Family,
    ops::rebuild::{rebuild, RebuildRequest},
    store::census,
};
use serde_json::Value;
use std::{
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc,
    },
    time::Duration,
};

/// Sixty pending transfers, and the read model made wrong for one of them (`t-1`, as a bug in
/// an earlier projection might have left it), and an object none of whose events is archived
/// any more (`t-pruned`, its events gone with retention).
async fn archive_and_a_wrong_read_model() -> TestApp {
    let app = spawn_app().await;
    for n in 0..60 {
        app.post_transfer(
            &format!("e-{n}"),
            &format!("t-{n}"),
            "Pending",
            sign::EARLIER,
        )
        .await;
    }
    app.wait_until_handled(60).await;
    app.overwrite_object("transfers", "t-1", ("closed", "ghost"), None)
        .await;
    app.insert_pruned_object("transfers", "t-pruned", "closed", 90)
        .await;
    app
}

async fn status_of(app: &TestApp, id: &str) -> Value {
    app.object("transfer", id).await["status"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_serves_reads_throughout_and_keeps_what_arrives_meanwhile() {
    let app = archive_and_a_wrong_read_model().await;
    // Read every 50 ms, each within a second, for as long as the rebuild runs.
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU32::new(0));
    let reader = {
        let (stop, reads) = (stop.clone(), reads.clone());
        let url = app.url("/v1/objects/transfer/t-5");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let request = client.get(&url).bearer_auth(crate::support::API_TOKEN);
                let answer = request.send().await.expect("a read answered within 1 s");
                assert_eq!(answer.status(), 200);
                let object: Value = answer.json().await.unwrap();
                assert!(
                    object["status"] == "pending" || object["status"] == "closed",
                    "{object}"
                );
                reads.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    // Once the rebuild has read its first page, the platform sends a newer status for `t-5`
    // and a new transfer, and the workers apply both.
    let arrived = AtomicBool::new(false);
    let everything = RebuildRequest {
        family: None,
        dry_run: false,
    };
    let rebuilt = rebuild(&app.pool, &everything, |_, _| {
        if arrived.swap(true, Ordering::SeqCst) {
            return;
        }
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                app.handle_transfer("e-5-closed", "t-5", "Closed", sign::LATER)
                    .await;
                app.handle_transfer("e-new", "t-new", "Pending", sign::EARLIER)
                    .await;
            })
        });
    })
    .await
    .unwrap();
    stop.store(true, Ordering::SeqCst);
    reader.await.unwrap();
    assert!(arrived.load(Ordering::SeqCst));
    assert!(reads.load(Ordering::SeqCst) > 0);

    assert_eq!(rebuilt.replayed, 60, "{rebuilt:?}");
    assert_eq!(rebuilt.differ, 1, "only t-1 was wrong: {rebuilt:?}");
    assert_eq!(status_of(&app, "t-1").await, "pending", "put right");
    assert_eq!(
        status_of(&app, "t-5").await,
        "closed",
        "applied during the rebuild"
    );
    assert_eq!(
        status_of(&app, "t-new").await,
        "pending",
        "arrived during the rebuild"
    );
    assert_eq!(
        status_of(&app, "t-pruned").await,
        "closed",
        "kept, its events gone"
    );
    assert_eq!(status_of(&app, "t-42").await, "pending");
    // The history came with it, the workers apply into the swapped-in tables, and the view
    // on the tables is there again.
    let history = app.object("transfer", "t-5").await["history"].clone();
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    app.handle_transfer("e-after", "t-after", "Pending", sign::EARLIER)
        .await;
    assert_eq!(status_of(&app, "t-after").await, "pending");
    assert_eq!(app.objects_of(Family::Account).await, 0);
    assert_eq!(app.census().await.rebuild_tables, 0);
}

#[tokio::test]
async fn a_dry_run_lists_the_differences_and_changes_nothing() {
    let app = archive_and_a_wrong_read_model().await;
    let dry = app
        .cli_json(&["rebuild", "--family", "transfer", "--dry-run", "--json"])
        .await;
    assert_eq!(dry["differ"], 1, "{dry}");
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["differences"][0]["objectId"], "t-1");
    assert_eq!(dry["differences"][0]["liveStatus"], "closed");
    assert_eq!(dry["differences"][0]["rebuiltStatus"], "pending");
    assert_eq!(status_of(&app, "t-1").await, "closed", "nothing swapped");
    assert_eq!(
        app.census().await.rebuild_tables,
        0,
        "the shadow tables are dropped"
    );
    // The same for one family: its table and its history rows swap, the rest stay.
    let rebuilt = app
        .cli_json(&["rebuild", "--family", "transfer", "--json"])
        .await;
    assert_eq!(rebuilt["differ"], 1, "{rebuilt}");
    assert_eq!(status_of(&app, "t-1").await, "pending");
    assert_eq!(
        census::history_of(&app.pool, Family::Transfer)
            .await
            .unwrap(),
        60
    );
}
