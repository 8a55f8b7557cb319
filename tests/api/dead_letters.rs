//! Dead letters whose meaning holds under repetition (issue: DLQ semantics): one dead letter
//! per (event, queue) however often it fails again, a dry run that says what the run does,
//! looking that changes nothing, and selections that cannot be meant refused.

use crate::{
    ops::{a_dry_run_would_replay_both, dead_letters, two_bad_events},
    support::{amqp, assert_error, eventually, spawn_app, TestApp},
};
use lapin::options::BasicGetOptions;
use serde_json::{json, Value};

/// The messages in the app's DLQ by event id, each with whether it was delivered before. Taken
/// unacknowledged on a connection of the test's own, which gives them back when it closes.
async fn dlq_messages(app: &TestApp) -> Vec<(String, bool)> {
    let connection = amqp::connect().await;
    let channel = connection.create_channel().await.unwrap();
    let mut found = Vec::new();
    while let Some(message) = channel
        .basic_get(
            app.names().dlq().as_str().into(),
            BasicGetOptions { no_ack: false },
        )
        .await
        .unwrap()
    {
        found.push((
            amqp::message_id(&message.delivery),
            message.delivery.redelivered,
        ));
    }
    connection.close(200, "done".into()).await.unwrap();
    found.sort();
    found
}

/// A dead letter taken from the app's DLQ, unacknowledged, on a connection of the test's own:
/// it goes back to the queue when that connection closes.
async fn take_a_dead_letter(
    app: &TestApp,
) -> (
    lapin::Connection,
    lapin::Channel,
    lapin::message::BasicGetMessage,
) {
    let connection = amqp::connect().await;
    let channel = connection.create_channel().await.unwrap();
    let copy = channel
        .basic_get(
            app.names().dlq().as_str().into(),
            BasicGetOptions { no_ack: false },
        )
        .await
        .unwrap()
        .expect("a dead letter");
    (connection, channel, copy)
}

/// Publishes `copy`'s body to the app's DLQ again, with `properties`.
async fn put_in_the_dlq(
    app: &TestApp,
    channel: &lapin::Channel,
    copy: &lapin::message::BasicGetMessage,
    properties: lapin::BasicProperties,
) {
    channel
        .basic_publish(
            "".into(),
            app.names().dlq().as_str().into(),
            lapin::options::BasicPublishOptions::default(),
            &copy.delivery.data,
            properties,
        )
        .await
        .unwrap();
}

/// Asserts that the DLQ holds one copy of each bad event, never delivered before.
async fn one_undelivered_copy_each(app: &TestApp, why: &str) {
    assert_eq!(
        dlq_messages(app).await,
        [("bad-1".to_owned(), false), ("bad-2".to_owned(), false)],
        "{why}"
    );
}

async fn failed_at(app: &TestApp, event_id: &str) -> Value {
    dead_letters(app)
        .await
        .into_iter()
        .find(|letter| letter["eventId"] == event_id)
        .map(|letter| letter["failedAt"].clone())
        .unwrap_or(Value::Null)
}

/// Waits until both bad events have failed again since `before`.
async fn failed_again(app: &TestApp, before: &[Value; 2]) {
    eventually("both bad events failed again", || async {
        failed_at(app, "bad-1").await != before[0] && failed_at(app, "bad-2").await != before[1]
    })
    .await;
}

async fn failures(app: &TestApp) -> [Value; 2] {
    [failed_at(app, "bad-1").await, failed_at(app, "bad-2").await]
}

#[tokio::test]
async fn events_that_fail_again_and_again_keep_one_dead_letter_each() {
    let app = spawn_app().await;
    two_bad_events(&app).await;
    for _ in 0..3 {
        let before = failures(&app).await;
        // The runbook's replay, asked to include what was dead-lettered.
        let counts = app
            .cli_json(&[
                "replay",
                "--event-id",
                "bad-1",
                "--event-id",
                "bad-2",
                "--include-dead-lettered",
                "--json",
            ])
            .await;
        assert_eq!(counts["replayed"], 2);
        failed_again(&app, &before).await;
    }
    assert_eq!(dead_letters(&app).await.len(), 2);
    one_undelivered_copy_each(&app, "one copy each in the DLQ").await;
}

#[tokio::test]
async fn a_dry_run_reports_what_the_replay_then_does() {
    let app = spawn_app().await;
    two_bad_events(&app).await;
    a_dry_run_would_replay_both(&app).await;
    let before = failures(&app).await;
    let done = app.cli_json(&["dlq", "replay", "--all", "--json"]).await;
    assert_eq!(done, json!({"replayed": 2, "skipped": 0}));
    // Still bad, so they fail again: back in the DLQ once each, not next to their old copies.
    failed_again(&app, &before).await;
    one_undelivered_copy_each(&app, "in the DLQ").await;
}

#[tokio::test]
async fn listing_and_showing_leave_the_queue_untouched() {
    let app = spawn_app().await;
    two_bad_events(&app).await;
    for _ in 0..3 {
        assert_eq!(dead_letters(&app).await.len(), 2);
        assert_eq!(
            app.cli_json(&["dlq", "show", "bad-1"]).await["eventId"],
            "bad-1"
        );
        let admin: Value = app.api_json("/admin/dlq").await;
        assert_eq!(admin.as_array().unwrap().len(), 2);
    }
    one_undelivered_copy_each(&app, "never delivered, so no delivery count raised").await;
}

#[tokio::test]
async fn selections_that_cannot_be_meant_are_refused_and_move_nothing() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let empty = app.cli_refused(&["dlq", "replay", "--all"]).await;
    assert!(empty.contains("no dead letter matches"), "{empty}");

    two_bad_events(&app).await;
    let before = failures(&app).await;
    for selection in [
        vec!["--event-id", "nope"],
        vec!["--event-id", "bad-1", "--event-id", "nope"],
    ] {
        let mut args = vec!["dlq", "replay"];
        args.extend(selection);
        let stderr = app.cli_refused(&args).await;
        assert!(
            stderr.contains("no dead letter for event id nope"),
            "{stderr}"
        );
        assert!(!stderr.contains("backtrace"), "{stderr}");
    }
    app.cli_refused(&["dlq", "replay", "--event-type", "NOTHING.HERE"])
        .await;
    let refused = app
        .post_api("/admin/dlq/replay", json!({"eventIds": ["nope"]}))
        .await;
    assert_error(refused, (400, "malformed_payload")).await;

    assert_eq!(failures(&app).await, before, "nothing was replayed");
    one_undelivered_copy_each(&app, "in the DLQ").await;
}

#[tokio::test]
async fn reindex_lists_dead_letters_the_index_lacks_and_keeps_one_copy_each() {
    let app = spawn_app().await;
    two_bad_events(&app).await;
    // As an older hookgate, or one that died between the confirm and its commit, leaves them:
    // in the queue, not in the index, and one of them twice.
    let (connection, channel, copy) = take_a_dead_letter(&app).await;
    put_in_the_dlq(&app, &channel, &copy, copy.delivery.properties.clone()).await;
    connection.close(200, "done".into()).await.unwrap();
    app.forget_dead_letter_index().await;
    assert!(dead_letters(&app).await.is_empty());

    let done = app.cli_json(&["dlq", "reindex", "--json"]).await;
    assert_eq!(done, json!({"indexed": 2, "duplicatesRemoved": 1}));
    assert_eq!(dead_letters(&app).await.len(), 2);
    let again = app.cli_json(&["dlq", "reindex", "--json"]).await;
    assert_eq!(again, json!({"indexed": 0, "duplicatesRemoved": 0}));
    one_undelivered_copy_each(&app, "in the DLQ").await;
}

/// A message put in the DLQ with a copied dead letter's headers, but `x-hookgate-queue` naming
/// a queue that is not hookgate's, is never forwarded there (SPEC 5): `reindex` lists it, and
/// `replay --all` leaves it in the DLQ, counted as skipped.
#[tokio::test]
async fn a_dead_letter_naming_a_foreign_queue_is_never_replayed_into_it() {
    let app = spawn_app().await;
    two_bad_events(&app).await;
    let mut foreign = amqp::Tap::bind(&app.names().events(), "nothing.routes.here", false).await;
    let (connection, channel, copy) = take_a_dead_letter(&app).await;
    let mut headers = copy
        .delivery
        .properties
        .headers()
        .clone()
        .unwrap_or_default();
    headers.insert(
        "x-hookgate-queue".into(),
        lapin::types::AMQPValue::LongString(foreign.queue.as_str().into()),
    );
    let forged = copy
        .delivery
        .properties
        .clone()
        .with_message_id("forged".into())
        .with_headers(headers);
    put_in_the_dlq(&app, &channel, &copy, forged).await;
    connection.close(200, "done".into()).await.unwrap();

    let reindexed = app.cli_json(&["dlq", "reindex", "--json"]).await;
    assert_eq!(reindexed["indexed"], 1, "{reindexed}");
    let replayed = app.cli_json(&["dlq", "replay", "--all", "--json"]).await;
    assert_eq!(replayed, json!({"replayed": 2, "skipped": 1}));
    assert!(
        foreign
            .next(std::time::Duration::from_secs(2))
            .await
            .is_none(),
        "nothing reaches a queue outside hookgate's topology"
    );
    let left: Vec<String> = dlq_messages(&app)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(left.contains(&"forged".to_owned()), "{left:?}");
}

#[tokio::test]
async fn two_sources_sharing_an_event_id_each_keep_a_dead_letter_and_need_their_source() {
    use crate::support::{fixtures::INTERLACE_SECRET, sign, spawn_app_with, TestOptions};
    use hookgate::settings::{SchemeKind, Secret, SourceConfig};
    let partner = SourceConfig {
        name: "partner".into(),
        scheme: SchemeKind::Interlace,
        secrets: vec![Secret::new(INTERLACE_SECRET)],
        timestamp_tolerance_secs: None,
        allowed_networks: None,
    };
    let app = spawn_app_with(TestOptions::with_sources(vec![partner])).await;
    // The same id from two senders, each unfit for its family: two dead letters.
    let no_id = json!({"status": "Closed", "transactionTime": "2021-10-28T11:07:31.019Z"});
    let (headers, body) = sign::interlace(
        INTERLACE_SECRET,
        "shared-1",
        "CARD_TRANSACTION.UPDATED",
        &no_id.to_string(),
    );
    for source in ["interlace", "partner"] {
        app.accepted(source, &headers, body.clone()).await;
    }
    app.wait_until_handled(2).await;
    eventually("both dead letters indexed", || async {
        dead_letters(&app).await.len() == 2
    })
    .await;
    let mut sources: Vec<Value> = dead_letters(&app)
        .await
        .iter()
        .map(|l| l["source"].clone())
        .collect();
    sources.sort_by_key(|s| s.to_string());
    assert_eq!(sources, [json!("interlace"), json!("partner")]);
    assert_eq!(
        dlq_messages(&app).await.len(),
        2,
        "each has its copy in the DLQ"
    );

    for args in [
        vec!["dlq", "replay", "--event-id", "shared-1"],
        vec!["dlq", "show", "shared-1"],
    ] {
        let stderr = app.cli_refused(&args).await;
        assert!(
            stderr.contains("more than one source (interlace, partner): give its source"),
            "{stderr}"
        );
    }
    let shown = app
        .cli_json(&["dlq", "show", "shared-1", "--source", "partner"])
        .await;
    assert_eq!(shown["source"], "partner");
    let refused = app
        .post_api("/admin/dlq/replay", json!({"eventIds": ["shared-1"]}))
        .await;
    assert_error(refused, (400, "malformed_payload")).await;
    let replayed: Value = app
        .post_api(
            "/admin/dlq/replay",
            json!({"eventIds": ["shared-1"], "source": "partner"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replayed, json!({"replayed": 1, "skipped": 1}));
    // Indexed again from the queue, both stay: the key is per source.
    eventually("the replayed one dead-lettered again", || async {
        dead_letters(&app).await.len() == 2
    })
    .await;
    app.forget_dead_letter_index().await;
    let reindexed = app.cli_json(&["dlq", "reindex", "--json"]).await;
    assert_eq!(reindexed, json!({"indexed": 2, "duplicatesRemoved": 0}));
    assert_eq!(dlq_messages(&app).await.len(), 2);
}
