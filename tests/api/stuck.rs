//! The stuck-object watch (SPEC 5): objects in a waiting status whose last event is older than
//! a threshold, through `GET /v1/stuck`, `hookgate stuck`, the gauge and the console's page.
//! Every event here occurred in 2023 or 2024, long past the default 24 h.

use crate::support::{
    assert_error, console::ConsoleUser, fixtures, sign::EARLIER, spawn_app, TestApp,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// A pending and a closed transfer, a payout just created, and a card (never stuck).
async fn waiting_and_concluded(app: &TestApp) {
    app.post_transfer("s-pending", "t-waits", "Pending", EARLIER)
        .await;
    app.post_transfer("s-closed", "t-done", "Closed", EARLIER)
        .await;
    let created = json!({"id": "p-new", "status": "CREATED", "createTime": "2024-02-05 18:57:04.091+08",
                         "data": {"fromCurrency": "HKD", "fromAmount": 20.0}});
    app.post_event("s-payout", "PAYOUT.UPDATED", created).await;
    app.post_fixture(&fixtures::interlace_named("card")).await;
    app.wait_until_handled(4).await;
}

fn ids(objects: &Value) -> BTreeSet<String> {
    let objects = objects.as_array().expect("an array of objects");
    objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["family"].as_str().unwrap(),
                o["id"].as_str().unwrap()
            )
        })
        .collect()
}

fn set(entries: &[&str]) -> BTreeSet<String> {
    entries.iter().map(|e| (*e).to_owned()).collect()
}

#[tokio::test]
async fn waiting_objects_past_their_threshold_are_stuck_and_concluded_ones_never() {
    let app = spawn_app().await;
    waiting_and_concluded(&app).await;
    let page = app.api_json("/v1/stuck").await;
    assert_eq!(
        ids(&page["objects"]),
        set(&["transfer/t-waits", "payout/p-new"])
    );
    assert_eq!(page["nextCursor"], Value::Null);
    let transfer = &page["objects"][0];
    assert_eq!(transfer["status"], "pending");
    assert_eq!(transfer["accountId"], "acc-1");
    assert_eq!(transfer["lastEventId"], "s-pending");
    assert_eq!(transfer["occurredAt"], "2023-03-01T08:23:01.000Z");

    let payouts = app.api_json("/v1/stuck?family=payout").await;
    assert_eq!(ids(&payouts["objects"]), set(&["payout/p-new"]));
    let cards = app.api_json("/v1/stuck?family=card").await;
    assert_eq!(ids(&cards["objects"]), set(&[]), "cards are never stuck");
    let recent = app.api_json("/v1/stuck?olderThan=100000d").await;
    assert_eq!(ids(&recent["objects"]), set(&[]), "nothing waits that long");

    for (query, expected) in [
        ("family=loans", (400, "unknown_family")),
        ("olderThan=soon", (400, "malformed_payload")),
        ("olderThan=0s", (400, "malformed_payload")),
        ("cursor=not-ours", (400, "malformed_payload")),
        ("limit=5", (400, "malformed_payload")),
    ] {
        assert_error(app.api(&format!("/v1/stuck?{query}")).await, expected).await;
    }
}

#[tokio::test]
async fn the_gauge_the_command_and_the_console_show_the_same_objects() {
    let app = spawn_app().await;
    waiting_and_concluded(&app).await;
    let gauge = |family: &'static str| {
        let app = &app;
        async move {
            app.metric(&format!("hookgate_objects_stuck{{family=\"{family}\"}}"))
                .await
        }
    };
    assert_eq!(gauge("transfer").await, Some(1.0));
    assert_eq!(gauge("payout").await, Some(1.0));
    assert_eq!(gauge("kyc").await, Some(0.0));
    assert_eq!(gauge("card").await, None, "cards have no series");

    let listed = app.cli_json(&["stuck", "--json"]).await;
    assert_eq!(ids(&listed), set(&["transfer/t-waits", "payout/p-new"]));
    let only = app
        .cli_json(&["stuck", "--family", "transfer", "--json"])
        .await;
    assert_eq!(ids(&only), set(&["transfer/t-waits"]));
    app.cli_refused(&["stuck", "--older-than", "soon"]).await;

    let user = ConsoleUser::signed_in(&app, "ana").await;
    let page = user.get("/console/stuck").await;
    page.assert_shows(r#"href="/console/objects/transfer/t%2Dwaits""#);
    page.assert_shows(r#"href="/console/objects/payout/p%2Dnew""#);
    assert!(
        !page.html.contains("t-done"),
        "a closed transfer is not stuck"
    );
    let filtered = user.get("/console/stuck?family=payout&older_than=").await;
    assert!(!filtered.html.contains("t-waits"));
}

#[tokio::test]
async fn a_full_page_ends_with_a_cursor_to_the_rest() {
    let app = spawn_app().await;
    for n in 0..101 {
        app.post_transfer(&format!("s-{n}"), &format!("t-{n:03}"), "Pending", EARLIER)
            .await;
    }
    app.wait_until_handled(101).await;
    let first = app.api_json("/v1/stuck?family=transfer").await;
    assert_eq!(first["objects"].as_array().unwrap().len(), 100);
    let cursor = first["nextCursor"].as_str().expect("a cursor to the rest");
    let rest = app
        .api_json(&format!("/v1/stuck?family=transfer&cursor={cursor}"))
        .await;
    assert_eq!(ids(&rest["objects"]), set(&["transfer/t-100"]));
    assert_eq!(rest["nextCursor"], Value::Null);
    let mut seen = ids(&first["objects"]);
    seen.extend(ids(&rest["objects"]));
    assert_eq!(seen.len(), 101, "every object once");
}
