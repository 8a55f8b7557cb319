//! The console over HTTP: sessions, CSRF, and every page's content. `console_browser.rs`
//! drives the same pages in a real browser.

use crate::{
    ops::{dead_letters, three_dead_notifications},
    support::{
        console::{ConsoleUser, Page},
        eventually,
        sign::{EARLIER, LATER},
        spawn_app, spawn_app_with,
        subscriber::{subscribed, Subscriber},
        TestApp, API_TOKEN,
    },
};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn pages_without_a_session_send_you_to_sign_in() {
    let app = spawn_app().await;
    let stranger = ConsoleUser::new(&app);
    for path in [
        "/console/overview",
        "/console/events",
        "/console/events/e-1",
        "/console/objects/transfer/t-1",
        "/console/dlq",
    ] {
        stranger.get(path).await.assert_redirect_to("/console");
    }
    let post = stranger
        .post(
            "/console/dlq/run",
            &[("action", "purge-all"), ("csrf", "x")],
        )
        .await;
    post.assert_redirect_to("/console");
    // A made-up session cookie is no session.
    let forged = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/console/overview"))
        .header("cookie", "hookgate_session=00ff")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn signing_in_needs_the_token_and_the_forms_csrf_token_and_signing_out_ends_it() {
    let app = spawn_app().await;
    let user = ConsoleUser::new(&app);
    let form = user.get("/console").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.html.contains(r#"name="token""#));
    let sign_in_cookie = form.cookie("hookgate_sign_in").expect("a sign-in cookie");
    assert!(sign_in_cookie.contains("HttpOnly") && sign_in_cookie.contains("SameSite=Strict"));
    let csrf = form.csrf();

    let wrong = user
        .post("/console/login", &[("token", "guess"), ("csrf", &csrf)])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("That is not the API token."));
    assert!(wrong.cookie("hookgate_session").is_none());
    let csrf = wrong.csrf();

    let no_csrf = user
        .post("/console/login", &[("token", API_TOKEN), ("csrf", "")])
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    assert!(no_csrf.cookie("hookgate_session").is_none());

    let signed_in = user
        .post(
            "/console/login",
            &[("token", API_TOKEN), ("operator", "ana"), ("csrf", &csrf)],
        )
        .await;
    signed_in.assert_redirect_to("/console/overview");
    let session = signed_in.cookie("hookgate_session").expect("a session");
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=43200",
    ] {
        assert!(session.contains(attribute), "{session} lacks {attribute}");
    }
    assert!(!session.contains("Secure"), "plain HTTP: no Secure flag");
    assert!(!session.contains(API_TOKEN));
    let overview = user.get("/console/overview").await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.html.contains("ana"));
    user.get("/console")
        .await
        .assert_redirect_to("/console/overview");

    // Sign-out is a POST like any other: without the session's CSRF token it is refused.
    let refused = user
        .post("/console/logout", &[("csrf", "not-the-token")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(user.get("/console/overview").await.status, StatusCode::OK);
    let out = user
        .post("/console/logout", &[("csrf", &overview.csrf())])
        .await;
    out.assert_redirect_to("/console");
    assert!(out
        .cookie("hookgate_session")
        .unwrap()
        .contains("Max-Age=0"));
    user.get("/console/overview")
        .await
        .assert_redirect_to("/console");
    assert_eq!(app.audited("ana", &["sign_in", "sign_out"]).await, 2);
}

#[tokio::test]
async fn behind_an_https_proxy_the_session_cookie_is_secure() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = client
        .get(app.url("/console"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let cookie = form.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test]
async fn the_search_finds_events_by_object_and_says_which_filter_is_wrong() {
    let app = spawn_app().await;
    app.post_transfer("s-1", "t-search", "Pending", EARLIER)
        .await;
    app.post_transfer("s-2", "t-other", "Pending", EARLIER)
        .await;
    app.wait_until_handled(2).await;
    let user = ConsoleUser::signed_in(&app, "ana").await;
    let found = user.get("/console/events?objectId=t-search&family=").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.html.contains("s-1") && !found.html.contains("s-2"));
    assert!(found.html.contains("/console/objects/transfer/t%2Dsearch"));
    let everything = user.get("/console/events").await;
    assert!(everything.html.contains("s-1") && everything.html.contains("s-2"));
    let bad = user.get("/console/events?from=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.html.contains("from must be an RFC 3339 time"));
    let unknown = user.get("/console/events?family=loans").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn event_detail_shows_the_message_and_masks_personal_data() {
    let app = spawn_app().await;
    let mut resource = crate::support::sign::transfer("t-pii", "Closed", EARLIER);
    resource["beneficiary"] = json!({"email": "jane.doe@example.com", "firstName": "Jane",
                                     "lastName": "Doe", "phone": "+4915112345678"});
    app.post_event("pii-1", "TRANSFER.UPDATED", resource).await;
    app.wait_until_handled(1).await;
    let user = ConsoleUser::signed_in(&app, "ana").await;
    let page = user.get("/console/events/pii%2D1?source=interlace").await;
    assert_eq!(page.status, StatusCode::OK);
    for kept in [
        "10.50",
        "acc-1",
        "x-source",
        "message_id",
        "transfer.closed",
        "processed",
    ] {
        assert!(page.html.contains(kept), "{kept} shown");
    }
    for personal in ["jane.doe@example.com", "Jane", "Doe", "+4915112345678"] {
        assert!(!page.html.contains(personal), "{personal} masked");
    }
    assert!(page.html.contains("•••"));
    assert_eq!(
        user.get("/console/events/none?source=interlace")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_timeline_tells_an_objects_story_in_order() {
    let subscriber = Subscriber::start(&[]).await;
    let app = spawn_app_with(subscribed(&subscriber)).await;
    // The later status arrives first; the earlier one is then stale.
    app.post_transfer("tl-2", "t-story", "Closed", LATER).await;
    app.wait_until_handled(1).await;
    app.post_transfer("tl-1", "t-story", "Processing", EARLIER)
        .await;
    app.wait_until_handled(2).await;
    eventually("the notification sent", || async {
        !subscriber.delivered().is_empty()
    })
    .await;
    let user = ConsoleUser::signed_in(&app, "ana").await;
    let page = user.get("/console/objects/transfer/t-story").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.html[page.html.find("Events, in order of occurrence").unwrap()..];
    let (first, second) = (html.find("tl-1").unwrap(), html.find("tl-2").unwrap());
    assert!(first < second, "in order of occurrence");
    assert!(html.contains("stale") && html.contains("applied"));
    assert!(html.contains("sent to <span class=\"mono\">ledger</span>"));
    assert!(page
        .html
        .contains(r#"<span class="step">processing</span> → <span class="step">closed</span>"#));
    let unknown = user.get("/console/objects/loans/x").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_object_page_shows_what_the_object_is_with_personal_data_masked() {
    let app = spawn_app().await;
    let resource = json!({"id": "t-facts", "accountId": "acc-7", "status": "Closed",
                          "updateTime": EARLIER, "beneficiaryName": "Jane Doe",
                          "amount": {"amount": "12.50", "currency": "USD"},
                          "fee": {"amount": "0.10", "currency": "USD"}});
    app.post_event("facts-1", "TRANSFER.UPDATED", resource)
        .await;
    app.wait_until_handled(1).await;
    let user = ConsoleUser::signed_in(&app, "ana").await;
    let page = user.get("/console/objects/transfer/t-facts").await;
    for shown in [
        "<dt>amount</dt><dd class=\"mono\">12.50 USD</dd>",
        "<dt>fee</dt><dd class=\"mono\">0.10 USD</dd>",
        "<dd class=\"mono\">acc-7</dd>",
        "Resource of the deciding event",
        "&quot;beneficiaryName&quot;: &quot;•••oe&quot;",
    ] {
        page.assert_shows(shown);
    }
    assert!(!page.html.contains("Jane Doe"), "the name is masked");
}

/// Runs a console DLQ action on one event, as its confirm page's button does.
async fn run_on_one(user: &ConsoleUser, action: &str, event: &str, csrf: &str) -> Page {
    let fields = [("action", action), ("event", event), ("csrf", csrf)];
    user.post("/console/dlq/run", &fields).await
}

async fn state(app: &TestApp, event_id: &str) -> Value {
    let event: Value = app.api_json(&format!("/v1/events/{event_id}")).await;
    event["state"].clone()
}

#[tokio::test]
async fn dead_letters_are_replayed_and_purged_after_a_confirmation_and_audited() {
    let (subscriber, app) = three_dead_notifications("d").await;
    let user = ConsoleUser::signed_in(&app, "ana").await;
    let list = user.get("/console/dlq").await;
    assert!(list.html.contains("3 dead letters match"));
    // Filtered by the family of the event, which a notification's dead letter takes from it.
    let filtered = user.get("/console/dlq?family=transfer&eventId=d-1").await;
    filtered.assert_shows("1 dead letter matches");
    assert!(filtered.html.contains("TRANSFER.UPDATED"));
    let csrf = list.csrf();

    // A POST without the session's CSRF token moves nothing.
    let forged = user
        .post(
            "/console/dlq/run",
            &[("action", "replay-all"), ("csrf", "forged")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let nothing = user
        .post(
            "/console/dlq/confirm",
            &[("action", "replay-selected"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(nothing.status, StatusCode::BAD_REQUEST);
    assert_eq!(dead_letters(&app).await.len(), 3);

    let confirm = user
        .post(
            "/console/dlq/confirm",
            &[
                ("action", "replay-selected"),
                ("event", "d-0"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    confirm.assert_shows("Replay: 1 are sent back");
    assert_eq!(dead_letters(&app).await.len(), 3, "confirming does nothing");
    let done = run_on_one(&user, "replay-selected", "d-0", &csrf).await;
    done.assert_shows("Done: 1 replayed, 2 left.");
    eventually("d-0 delivered and processed", || async {
        subscriber.delivered().len() == 1 && state(&app, "d-0").await == "processed"
    })
    .await;

    let purge = run_on_one(&user, "purge-selected", "d-1", &csrf).await;
    purge.assert_shows("Done: 1 purged, 1 left.");
    let left: Vec<Value> = dead_letters(&app).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["eventId"], "d-2");

    // Inspecting the one left: its failure headers and its message body, masked.
    let inspected = user.get("/console/events/d-2?source=interlace").await;
    for shown in [
        "x-hookgate-queue",
        "x-hookgate-error",
        "subscriber answered 400",
        "&quot;previousStatus&quot;",
    ] {
        assert!(inspected.html.contains(shown), "{shown} shown");
    }

    let audit = user.get("/console/dlq").await;
    assert!(audit.html.contains("replay-selected") && audit.html.contains("purge-selected"));
    assert_eq!(
        app.audited("ana", &["replay-selected", "purge-selected"])
            .await,
        2
    );
    assert_eq!(
        subscriber.delivered().len(),
        1,
        "the purged one is never sent"
    );
}

#[tokio::test]
async fn the_overview_shows_backlogs_queues_and_tasks() {
    let app = spawn_app().await;
    app.post_transfer("o-1", "t-o", "Closed", EARLIER).await;
    app.wait_until_handled(1).await;
    let user = ConsoleUser::signed_in(&app, "ana").await;
    let page = user.get("/console/overview").await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        "Waiting to publish",
        "Dead letters",
        "Accepted",
        &app.names().dlq(),
        "event-relay",
    ] {
        assert!(page.html.contains(shown), "{shown} on the overview");
    }
    assert!(page.html.contains("1 in the last 5 min"));
}
