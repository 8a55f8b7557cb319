//! Subscriber catch-up (SPEC 5, 6): `POST /admin/notifications/resend` and `hookgate notify
//! resend` send one subscriber again the notifications of applied transitions, by time range
//! and family or by object, with their original ids, although they were delivered before;
//! only what its patterns take, and to its queue only.

use crate::support::{
    assert_error,
    console::ConsoleUser,
    eventually,
    sign::{EARLIER, LATER},
    spawn_app_with,
    subscriber::{Received, Subscriber, SECRET},
    TestApp, TestOptions,
};
use hookgate::{
    settings::{Secret, SubscriberConfig},
    store::console as audit,
};
use serde_json::{json, Value};

const VIEWER: &str = "test-viewer-token";

/// `ledger` takes every notification, `crm` closed transfers only.
async fn two_subscribers() -> (TestApp, Subscriber, Subscriber) {
    let ledger = Subscriber::start(&[]).await;
    let crm = Subscriber::start(&[]).await;
    let subscriber = |name: &str, url: &str, pattern: &str| SubscriberConfig {
        name: name.into(),
        url: url.to_owned(),
        secret: Secret::new(SECRET),
        patterns: vec![pattern.into()],
        timeout_ms: 2000,
    };
    let options = TestOptions {
        subscribers: vec![
            subscriber("ledger", &ledger.url, "notify.#"),
            subscriber("crm", &crm.url, "notify.transfer.closed"),
        ],
        ..TestOptions::with_env(&[("HOOKGATE_VIEWER_TOKEN", VIEWER)])
    };
    (spawn_app_with(options).await, ledger, crm)
}

/// t-1 pending then closed, t-2 closed, payout p-1 closed: four notifications for `ledger`,
/// two for `crm`, all delivered, each once.
async fn four_transitions(app: &TestApp, ledger: &Subscriber, crm: &Subscriber) {
    // t-1's pending is projected before its closed arrives: processed after it, it would be
    // stale, and notify nothing.
    app.post_transfer("r-1", "t-1", "Pending", EARLIER).await;
    app.wait_until_handled(1).await;
    app.post_transfer("r-2", "t-1", "Closed", LATER).await;
    app.post_transfer("r-3", "t-2", "Closed", LATER).await;
    let payout =
        json!({"id": "p-1", "accountId": "acc-2", "status": "CLOSED", "createTime": LATER});
    app.post_event("r-4", "PAYOUT.UPDATED", payout).await;
    eventually("every notification delivered", || async {
        ledger.delivered().len() >= 4 && crm.delivered().len() >= 2
    })
    .await;
    let ledger_ids = ids(&ledger.delivered());
    assert_eq!(ledger_ids.len(), 4, "each delivered once: {ledger_ids:?}");
    assert_eq!(crm.delivered().len(), 2, "{:?}", ids(&crm.delivered()));
}

async fn resend(app: &TestApp, body: Value) -> Value {
    let answer = app.post_api("/admin/notifications/resend", body).await;
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

/// Resends `body`, expecting `resent`, and waits until `subscriber` has had `deliveries` in all.
async fn resent_and_received(
    app: &TestApp,
    body: Value,
    resent: u64,
    subscriber: &Subscriber,
    deliveries: usize,
) {
    assert_eq!(resend(app, body).await, json!({ "resent": resent }));
    eventually("the subscriber got them again", || async {
        subscriber.delivered().len() == deliveries
    })
    .await;
}

fn ids(received: &[Received]) -> Vec<String> {
    let mut ids: Vec<String> = received.iter().map(|r| r.webhook_id.clone()).collect();
    ids.sort();
    ids
}

/// Posts a closed transfer and waits until `crm` has it: anything resent to crm's queue
/// before it would have arrived first.
async fn crm_marker(app: &TestApp, crm: &Subscriber, expected: usize) {
    app.post_transfer("marker", "t-m", "Closed", LATER).await;
    eventually("the marker reached crm", || async {
        crm.delivered().iter().any(|r| r.body.contains("t-m"))
    })
    .await;
    assert_eq!(crm.delivered().len(), expected, "crm got nothing resent");
}

#[tokio::test]
async fn a_range_is_resent_to_that_subscriber_only_with_the_original_ids() {
    let (app, ledger, crm) = two_subscribers().await;
    four_transitions(&app, &ledger, &crm).await;
    let first = ids(&ledger.delivered());
    let since = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();

    let dry = json!({"subscriber": "ledger", "since": since, "dryRun": true});
    assert_eq!(
        resend(&app, dry).await,
        json!({"resent": 4, "dryRun": true})
    );
    let body = json!({"subscriber": "ledger", "since": since});
    assert_eq!(resend(&app, body).await, json!({"resent": 4}));
    eventually("ledger got them again", || async {
        ledger.delivered().len() == 8
    })
    .await;
    let all = ledger.delivered();
    let (originals, again) = all.split_at(4);
    assert_eq!(ids(again), first, "each with its original id");
    assert!(again.iter().all(|r| r.signature_valid));
    let bodies = |r: &[Received]| {
        let mut b: Vec<String> = r.iter().map(|r| r.body.clone()).collect();
        b.sort();
        b
    };
    assert_eq!(bodies(again), bodies(originals), "the same bodies");
    crm_marker(&app, &crm, 3).await;

    let actions = audit::recent_actions(&app.pool, 10).await.unwrap();
    let resent = actions.iter().find(|a| a.action == "resend").unwrap();
    assert_eq!(
        (resent.operator.as_str(), resent.role.as_deref()),
        ("api", Some("operator"))
    );
    assert_eq!(resent.detail.0["subscriber"], "ledger");
    assert_eq!(resent.detail.0["resent"], 4);
}

#[tokio::test]
async fn the_family_and_the_subscribers_patterns_narrow_a_range() {
    let (app, ledger, crm) = two_subscribers().await;
    four_transitions(&app, &ledger, &crm).await;
    let since = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let counted = |subscriber: &str, family: Option<&str>| {
        let mut body = json!({"subscriber": subscriber, "since": since, "dryRun": true});
        if let Some(family) = family {
            body["family"] = json!(family);
        }
        let app = &app;
        async move { resend(app, body).await["resent"].clone() }
    };
    assert_eq!(counted("ledger", Some("payout")).await, 1);
    assert_eq!(counted("ledger", Some("transfer")).await, 3);
    assert_eq!(counted("crm", None).await, 2, "closed transfers only");
    assert_eq!(counted("crm", Some("payout")).await, 0);
    let until = (chrono::Utc::now() - chrono::Duration::minutes(30)).to_rfc3339();
    let before = json!({"subscriber": "ledger", "since": since, "until": until, "dryRun": true});
    assert_eq!(
        resend(&app, before).await["resent"],
        0,
        "nothing applied before until"
    );

    let body = json!({"subscriber": "crm", "since": since});
    resent_and_received(&app, body, 2, &crm, 4).await;
}

#[tokio::test]
async fn an_object_is_resent_with_every_transition_it_had() {
    let (app, ledger, crm) = two_subscribers().await;
    four_transitions(&app, &ledger, &crm).await;
    let objects = json!([{"family": "transfer", "id": "t-1"}]);
    let dry = json!({"subscriber": "ledger", "objects": objects, "dryRun": true});
    assert_eq!(
        resend(&app, dry).await,
        json!({"resent": 2, "dryRun": true})
    );
    let to_crm = json!({"subscriber": "crm", "objects": objects, "dryRun": true});
    assert_eq!(
        resend(&app, to_crm).await["resent"],
        1,
        "only the closed one"
    );

    let body = json!({"subscriber": "ledger", "objects": objects});
    resent_and_received(&app, body, 2, &ledger, 6).await;
    let again = &ledger.delivered()[4..];
    assert!(again.iter().all(|r| r.body.contains(r#""objectId":"t-1""#)));
}

#[tokio::test]
async fn a_resend_that_cannot_be_meant_is_refused() {
    let (app, ledger, crm) = two_subscribers().await;
    four_transitions(&app, &ledger, &crm).await;
    let long_ago = (chrono::Utc::now() - chrono::Duration::days(31)).to_rfc3339();
    let refusal = app
        .post_api(
            "/admin/notifications/resend",
            json!({"subscriber": "ledger", "since": long_ago}),
        )
        .await;
    let message = assert_error(refusal, (400, "malformed_payload")).await;
    assert!(
        message.contains("kept for 30 days: the oldest time available is"),
        "{message}"
    );
    let now = chrono::Utc::now().to_rfc3339();
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    for (body, expected) in [
        (
            json!({"subscriber": "nobody", "since": hour_ago}),
            (400, "malformed_payload"),
        ),
        (
            json!({"subscriber": "ledger", "since": now, "until": hour_ago}),
            (400, "malformed_payload"),
        ),
        (
            json!({"subscriber": "ledger", "since": "yesterday-ish"}),
            (400, "malformed_payload"),
        ),
        (
            json!({"subscriber": "ledger", "since": hour_ago, "family": "nope"}),
            (400, "unknown_family"),
        ),
        (json!({"subscriber": "ledger"}), (400, "malformed_payload")),
        (
            json!({"subscriber": "ledger", "since": hour_ago, "objects": []}),
            (400, "malformed_payload"),
        ),
        (
            json!({"subscriber": "ledger", "objects": []}),
            (400, "malformed_payload"),
        ),
        (
            json!({"subscriber": "ledger", "objects": [{"family": "transfer", "id": "missing"}]}),
            (400, "malformed_payload"),
        ),
        (
            json!({"subscriber": "ledger", "objects": [{"family": "transfer", "id": "x".repeat(300)}]}),
            (400, "malformed_payload"),
        ),
        (
            json!({"subscriber": "ledger", "since": hour_ago, "extra": 1}),
            (400, "malformed_payload"),
        ),
    ] {
        let answer = app
            .post_api("/admin/notifications/resend", body.clone())
            .await;
        assert_error(answer, expected).await;
    }
    crm_marker(&app, &crm, 3).await;
    assert_eq!(
        ledger.delivered().len(),
        5,
        "nothing resent, the marker delivered"
    );
}

#[tokio::test]
async fn the_cli_resends_by_object_and_refuses_what_retention_dropped() {
    let (app, ledger, crm) = two_subscribers().await;
    four_transitions(&app, &ledger, &crm).await;
    let dry = app
        .cli_json(&[
            "notify",
            "resend",
            "--subscriber",
            "ledger",
            "--object",
            "transfer/t-1",
            "--object",
            "payout/p-1",
            "--dry-run",
            "--json",
        ])
        .await;
    assert_eq!(dry, json!({"resent": 3, "dryRun": true}));
    let done = app
        .cli_json(&[
            "notify",
            "resend",
            "--subscriber",
            "crm",
            "--since",
            "1h",
            "--json",
        ])
        .await;
    assert_eq!(done, json!({"resent": 2}));
    eventually("crm got both again", || async {
        crm.delivered().len() == 4
    })
    .await;
    let to_ledger = ["notify", "resend", "--subscriber", "ledger", "--since"];
    let refusals = [
        (&["40d"][..], "the oldest time available is"),
        (
            &["1h", "--object", "transfer/t-1"][..],
            "cannot be used with",
        ),
    ];
    for (rest, said) in refusals {
        let args: Vec<&str> = to_ledger.iter().chain(rest).copied().collect();
        let refused = app.cli_refused(&args).await;
        assert!(refused.contains(said), "{refused}");
    }
}

#[tokio::test]
async fn an_operator_resends_an_object_from_its_page_and_a_viewer_cannot() {
    let (app, ledger, crm) = two_subscribers().await;
    four_transitions(&app, &ledger, &crm).await;
    let path = "/console/objects/transfer/t-1";
    let viewer = ConsoleUser::signed_in_with(&app, "vera", VIEWER).await;
    let seen = viewer.get(path).await;
    assert!(
        !seen.html.contains("Resend"),
        "the action is hidden from a viewer"
    );
    let fields = [("subscriber", "ledger"), ("csrf", &seen.csrf())];
    let forged = viewer.post(&format!("{path}/resend"), &fields).await;
    assert_eq!(forged.status, reqwest::StatusCode::FORBIDDEN);

    let operator = ConsoleUser::signed_in(&app, "ana").await;
    let page = operator.get(path).await;
    page.assert_shows("Resend");
    page.assert_shows(r#"<option value="crm">"#);
    let no_csrf = operator
        .post(&format!("{path}/resend"), &[("subscriber", "ledger")])
        .await;
    assert_eq!(no_csrf.status, reqwest::StatusCode::FORBIDDEN);
    let fields = [("subscriber", "ledger"), ("csrf", &page.csrf())];
    let done = operator.post(&format!("{path}/resend"), &fields).await;
    assert_eq!(done.status, reqwest::StatusCode::OK, "{}", done.html);
    done.assert_shows("Done: 2 notification(s) of transfer/t-1 resent to ledger.");
    eventually("ledger got t-1's two again", || async {
        ledger.delivered().len() == 6
    })
    .await;
    assert_eq!(app.audited("ana", &["resend"]).await, 1);
    assert_eq!(app.audited("vera", &["resend"]).await, 0);
    crm_marker(&app, &crm, 3).await;
}
