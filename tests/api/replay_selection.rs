//! What `hookgate replay` selects: dead-lettered events only when asked, and a selection that
//! cannot be meant (an unknown id, nothing matched, an inverted range) is refused, changing
//! nothing.

use crate::{
    ops::lost_events,
    support::{eventually, spawn_app, TestApp},
};
use hookgate::store::inbox;
use serde_json::json;

#[tokio::test]
async fn replay_leaves_dead_lettered_events_to_the_dlq_unless_asked() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let ids = lost_events(&app, 3).await;
    inbox::record_dead_letter(&app.pool, "interlace", &ids[0], "failed before")
        .await
        .unwrap();

    let counts = app
        .cli_json(&["replay", "--family", "transfer", "--json"])
        .await;
    assert_eq!(counts, json!({"replayed": 2, "skipped": 1}));
    // Both replayed events, not just one of them beside the dead-lettered one: the next
    // replay's counts depend on it.
    eventually("both replayed events processed", || async {
        app.census().await.processed == 2
    })
    .await;
    assert_eq!(
        app.event_state(&ids[0]).await,
        "dead_lettered",
        "the dead-lettered event was not sent"
    );

    let counts = app
        .cli_json(&[
            "replay",
            "--family",
            "transfer",
            "--include-dead-lettered",
            "--json",
        ])
        .await;
    assert_eq!(counts, json!({"replayed": 1, "skipped": 2}));
    app.wait_until_handled(3).await;
}

#[tokio::test]
async fn a_selection_that_cannot_be_meant_is_refused_and_sends_nothing() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let ids = lost_events(&app, 2).await;
    let cases: [(&[&str], &str); 5] = [
        (
            &["replay", "--since", "yesterday"],
            "\"yesterday\" is not a time: give RFC 3339",
        ),
        // In the future, as a duration ago cannot be: nothing received yet.
        (
            &["replay", "--until", "1w"],
            "no archived event matches the selection",
        ),
        (
            &[
                "replay",
                "--event-id",
                &ids[0],
                "--event-id",
                "no-such-event",
            ],
            "no archived event has the id \"no-such-event\"",
        ),
        (
            &["replay", "--since", "2030-01-01T00:00:00Z"],
            "no archived event matches the selection",
        ),
        (
            &[
                "replay",
                "--since",
                "2030-01-01T00:00:00Z",
                "--until",
                "2020-01-01T00:00:00Z",
            ],
            "is not before --until",
        ),
    ];
    for (args, says) in cases {
        let output = app.cli(args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("stack backtrace"), "{stderr}");
    }
    // A replay that is meant goes through, behind anything a refused one would have sent;
    // "received in the last hour" selects it as well.
    let counts = app
        .cli_json(&["replay", "--event-id", &ids[1], "--since", "1h", "--json"])
        .await;
    assert_eq!(counts, json!({"replayed": 1, "skipped": 0}));
    app.wait_until_handled(1).await;
    assert!(
        !processed(&app, &ids[0]).await,
        "the refused selections sent nothing"
    );
}

async fn processed(app: &TestApp, event_id: &str) -> bool {
    app.event_state(event_id).await == "processed"
}
