//! The console in a real browser (headless Chromium): signing in, finding an event by its
//! object, its timeline, replaying a dead letter until it is processed, a form whose CSRF
//! token was taken out, and pages that need a session. Each page is saved as a PNG on the way
//! (the README's screenshots).

use crate::{
    ops::dead_letters,
    support::{
        browser::Browser,
        eventually,
        sign::{transfer, EARLIER, LATER},
        spawn_app_with,
        subscriber::{subscribed, Subscriber},
        TestApp, API_TOKEN,
    },
};
use hookgate::{
    ops::minute_figures::last_ended_minute,
    store::minute_figures::{self, AtMinuteEnd},
};
use serde_json::json;
use std::time::Duration;

/// A small, realistic inbox: a transfer's whole story with a stale event, a card with
/// personal data, and one notification the subscriber refused (so one dead letter).
async fn some_history() -> (Subscriber, TestApp) {
    let subscriber = Subscriber::start(&[400]).await;
    let app = spawn_app_with(subscribed(&subscriber)).await;
    app.post_transfer("evt-refused", "tr-4471", "Pending", EARLIER)
        .await;
    eventually("one dead letter", || async {
        dead_letters(&app).await.len() == 1
    })
    .await;
    let mut closed = transfer("tr-9001", "Closed", LATER);
    closed["beneficiary"] = json!({"name": "Jane Doe", "email": "jane.doe@example.com"});
    app.post_event("evt-closed", "TRANSFER.UPDATED", closed)
        .await;
    app.post_transfer(
        "evt-processing",
        "tr-9001",
        "Processing",
        "2023-03-01T08:23:03.000Z",
    )
    .await;
    app.post_transfer("evt-pending", "tr-9001", "Pending", EARLIER)
        .await;
    app.post_transfer("evt-other", "tr-1200", "Pending", LATER)
        .await;
    app.wait_until_handled(5).await;
    half_an_hour_of_figures(&app).await;
    (subscriber, app)
}

/// Minute figures for the half hour before the last ended minute, as the samplers would
/// have stored them: a backlog that grew and drained.
async fn half_an_hour_of_figures(app: &TestApp) {
    let last = last_ended_minute(chrono::Utc::now());
    for ago in 1..=30_i64 {
        let backlog = (15 - (ago - 15).abs()) * 40;
        let figures = AtMinuteEnd {
            backlog,
            backlog_age_seconds: backlog as f64 / 20.0,
            dead_letters: i64::from(ago < 10),
            stuck: 3,
        };
        let minute = last - chrono::TimeDelta::minutes(ago);
        minute_figures::record(&app.pool, minute, &figures)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_console_works_in_a_real_browser() {
    let (subscriber, app) = some_history().await;
    let browser = Browser::start().await;

    // Without a session every page sends you to the sign-in form.
    browser.goto(&app.url("/console/dlq")).await;
    assert_eq!(browser.path().await, "/console");
    browser.css("input[name=token]").await;
    browser.screenshot("sign-in").await;

    // A wrong token is refused; the right one signs in.
    browser.fill("input[name=token]", "not-it").await;
    browser.click_to_load("button[type=submit]").await;
    assert!(browser.body().await.contains("That is not the API token."));
    browser.fill("input[name=token]", API_TOKEN).await;
    browser.fill("input[name=operator]", "ana").await;
    browser
        .click_to_load("form.signin button[type=submit]")
        .await;
    assert_eq!(browser.path().await, "/console/overview");
    let overview = browser.body().await;
    assert!(overview.to_lowercase().contains("waiting to process") && overview.contains("ana"));
    assert!(
        overview.to_lowercase().contains("the last hour"),
        "{overview}"
    );
    browser.screenshot("overview").await;

    // Find the transfer's events by its object id.
    browser.click_to_load("nav a[href='/console/events']").await;
    browser.fill("input[name=objectId]", "tr-9001").await;
    browser
        .click_to_load("form.filters button[type=submit]")
        .await;
    let found = browser.body().await;
    for event in ["evt-closed", "evt-processing", "evt-pending"] {
        assert!(found.contains(event), "{event} found");
    }
    assert!(!found.contains("evt-other"));
    browser.screenshot("events").await;

    // Its detail, with personal data masked.
    browser
        .click_to_load("a[href^='/console/events/evt%2Dclosed']")
        .await;
    let detail = browser.body().await;
    assert!(detail.contains("transfer.closed") && detail.contains("processed"));
    assert!(!detail.contains("jane.doe@example.com") && !detail.contains("Jane Doe"));
    browser.screenshot("event").await;

    // Its object's timeline: in order, the stale event marked, the path, the notifications.
    browser
        .click_to_load("a[href='/console/objects/transfer/tr%2D9001']")
        .await;
    assert_eq!(browser.path().await, "/console/objects/transfer/tr%2D9001");
    let timeline = browser.text("table").await;
    let order: Vec<usize> = ["evt-pending", "evt-processing", "evt-closed"]
        .iter()
        .map(|event| timeline.find(event).unwrap())
        .collect();
    assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "{timeline}");
    assert!(timeline.contains("stale") && timeline.contains("applied"));
    assert!(timeline.contains("sent to ledger"));
    assert_eq!(
        browser.text("dd.path").await,
        "pending → processing → closed"
    );
    browser.screenshot("timeline").await;

    // The transfers still pending long after their last event, each linked to its timeline.
    browser.click_to_load("nav a[href='/console/stuck']").await;
    let stuck = browser.text("table").await;
    assert!(
        stuck.contains("tr-4471") && stuck.contains("tr-1200"),
        "{stuck}"
    );
    assert!(!stuck.contains("tr-9001"), "a closed transfer is not stuck");
    browser.screenshot("stuck").await;

    // A dead letter, replayed after the confirmation, ends up processed.
    browser.click_to_load("nav a[href='/console/dlq']").await;
    assert!(browser.body().await.contains("evt-refused"));
    browser.screenshot("dead-letters").await;
    browser
        .click("input[name=event][value='evt-refused']")
        .await;
    browser.click_to_load("button[value=replay-selected]").await;
    assert!(browser.body().await.contains("Replay: 1 are sent back"));
    browser.screenshot("confirm").await;
    browser
        .click_to_load("form[action='/console/dlq/run'] button[type=submit]")
        .await;
    assert!(browser.body().await.contains("Done: 1 replayed, 0 left."));
    browser.screenshot("replayed").await;
    eventually("the replayed notification delivered", || async {
        subscriber
            .delivered()
            .iter()
            .any(|r| r.body.contains("evt-refused"))
    })
    .await;
    let mut processed = false;
    for _ in 0..100 {
        browser
            .goto(&app.url("/console/events/evt-refused?source=interlace"))
            .await;
        if browser.text("dl.facts dd").await == "processed" {
            processed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(processed, "the replayed event shows as processed");
    browser.goto(&app.url("/console/dlq")).await;
    let audit = browser.body().await;
    assert!(audit.contains("replay-selected") && audit.contains("ana"));

    // A form whose CSRF token was taken out is refused, and nothing moves.
    app.post_event("evt-unfit", "TRANSFER.UPDATED", json!({"status": "Closed"}))
        .await;
    eventually("a second dead letter", || async {
        dead_letters(&app).await.len() == 1
    })
    .await;
    browser.goto(&app.url("/console/dlq")).await;
    browser
        .client
        .execute(
            "document.querySelectorAll('input[name=csrf]').forEach(e => e.remove());",
            vec![],
        )
        .await
        .unwrap();
    browser.click_to_load("button[value=purge-all]").await;
    assert!(browser.body().await.contains("missing or wrong CSRF token"));
    assert_eq!(dead_letters(&app).await.len(), 1, "nothing purged");

    // Signing out ends the session.
    browser.goto(&app.url("/console/overview")).await;
    browser.click_to_load("form.signout button").await;
    assert_eq!(browser.path().await, "/console");
    browser.goto(&app.url("/console/events")).await;
    assert_eq!(browser.path().await, "/console");
    browser.close().await;
}
