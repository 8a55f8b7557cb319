//! Roles (SPEC 5): the operator's token may do everything, a viewer's may read every GET and
//! the console's pages but change nothing, and sees personal data masked. Each role's variable
//! takes a list, so a token is rotated without a gap, and a removed token ends its sessions.

use crate::{
    ops::{dead_letters, two_bad_events},
    support::{assert_error, console::ConsoleUser, sign::EARLIER, spawn_app_with_env, TestApp},
};
use hookgate::settings::Secret;
use reqwest::StatusCode;
use serde_json::{json, Value};

const VIEWER: &str = "test-viewer-token";

async fn with_a_viewer() -> TestApp {
    spawn_app_with_env(&[("HOOKGATE_VIEWER_TOKEN", VIEWER)]).await
}

/// A transfer whose resource names its beneficiary.
async fn a_transfer_with_a_name(app: &TestApp) {
    let resource = json!({"id": "t-named", "accountId": "acc-1", "status": "Pending",
                          "updateTime": EARLIER, "beneficiaryName": "Jane Doe",
                          "amount": {"amount": "10.50", "currency": "USD"}});
    app.post_event("named", "TRANSFER.UPDATED", resource).await;
    app.wait_until_handled(1).await;
}

#[tokio::test]
async fn a_viewer_reads_every_get_and_sees_personal_data_masked() {
    let app = with_a_viewer().await;
    a_transfer_with_a_name(&app).await;
    for path in [
        "/v1/objects/transfer/t-named",
        "/v1/events/named",
        "/v1/events?family=transfer",
        "/admin/dlq",
    ] {
        let answer = app.api_as(VIEWER, path).await;
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
    }
    let seen: Value = app
        .api_as(VIEWER, "/v1/objects/transfer/t-named")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["resource"]["beneficiaryName"], "•••oe");
    assert_eq!(seen["resource"]["amount"]["amount"], "10.50", "{seen}");
    let operator = app.object("transfer", "t-named").await;
    assert_eq!(operator["resource"]["beneficiaryName"], "Jane Doe");
}

#[tokio::test]
async fn a_viewer_is_refused_every_change_and_may_verify_without_repair() {
    let app = with_a_viewer().await;
    two_bad_events(&app).await;
    for body in [json!({"all": true}), json!({"eventIds": ["bad-1"]})] {
        let refused = app.post_api_as(VIEWER, "/admin/dlq/replay", body).await;
        assert_error(refused, (403, "forbidden")).await;
    }
    let repair = json!({"repair": true});
    let refused = app
        .post_api_as(VIEWER, "/admin/verify", repair.clone())
        .await;
    assert_error(refused, (403, "forbidden")).await;
    assert_eq!(dead_letters(&app).await.len(), 2, "nothing was replayed");

    let verify = app
        .post_api_as(VIEWER, "/admin/verify", json!({"repair": false}))
        .await;
    assert_eq!(verify.status(), StatusCode::OK);
    let repaired = app.post_api("/admin/verify", repair).await;
    assert_eq!(repaired.status(), StatusCode::OK);
    let replayed = app
        .post_api("/admin/dlq/replay", json!({"eventIds": ["bad-1"]}))
        .await;
    assert_eq!(replayed.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_an_operator_token_reads_work_and_changes_answer_503() {
    let app = spawn_app_with_env(&[
        ("HOOKGATE_API_TOKEN", ""),
        ("HOOKGATE_VIEWER_TOKEN", VIEWER),
    ])
    .await;
    assert_eq!(
        app.api_as(VIEWER, "/admin/dlq").await.status(),
        StatusCode::OK
    );
    let change = app
        .post_api_as(VIEWER, "/admin/dlq/replay", json!({"all": true}))
        .await;
    assert_error(change, (503, "unavailable")).await;
    assert_error(app.api("/admin/dlq").await, (401, "unauthorized")).await;
}

#[tokio::test]
async fn every_token_of_a_list_works_and_a_removed_token_ends_its_sessions() {
    let (old, new) = ("operator-token-old", "operator-token-new");
    let mut app = spawn_app_with_env(&[("HOOKGATE_API_TOKEN", &format!("{old}, {new},"))]).await;
    for token in [old, new] {
        assert_eq!(app.api_as(token, "/admin/dlq").await.status(), 200);
    }
    let on_old = ConsoleUser::signed_in_with(&app, "ana", old).await;
    assert_eq!(on_old.get("/console/overview").await.status, StatusCode::OK);

    // The rotation's last step: the old token is removed from the list.
    app.config.server.api_tokens = vec![Secret::new(new)];
    app.restart().await;
    assert_error(app.api_as(old, "/admin/dlq").await, (401, "unauthorized")).await;
    assert_eq!(app.api_as(new, "/admin/dlq").await.status(), 200);
    let on_old = on_old.moved_to(&app);
    on_old
        .get("/console/overview")
        .await
        .assert_redirect_to("/console");
}

#[tokio::test]
async fn a_viewer_in_the_console_sees_no_action_and_a_forged_one_is_refused() {
    let app = with_a_viewer().await;
    two_bad_events(&app).await;
    let viewer = ConsoleUser::signed_in_with(&app, "vera", VIEWER).await;
    for page in [
        "/console/overview",
        "/console/events",
        "/console/events/bad-1?source=interlace",
    ] {
        assert_eq!(viewer.get(page).await.status, StatusCode::OK, "{page}");
    }
    let list = viewer.get("/console/dlq").await;
    list.assert_shows("2 dead letters match");
    list.assert_shows("vera (viewer)");
    for action in ["Replay selected", "Purge all", r#"type="checkbox""#] {
        assert!(!list.html.contains(action), "{action} shown to a viewer");
    }
    let csrf = list.csrf();
    for path in ["/console/dlq/confirm", "/console/dlq/run"] {
        let fields = [("action", "purge-all"), ("csrf", csrf.as_str())];
        let forged = viewer.post(path, &fields).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{path}");
        forged.assert_shows("A viewer may look but not change anything");
    }
    assert_eq!(dead_letters(&app).await.len(), 2, "nothing was purged");

    let operator = ConsoleUser::signed_in(&app, "ana").await;
    let page = operator.get("/console/dlq").await;
    page.assert_shows("Replay selected");
    let roles = app.audit_roles().await;
    assert!(roles.contains(&("vera".into(), "sign_in".into(), Some("viewer".into()))));
    assert!(roles.contains(&("ana".into(), "sign_in".into(), Some("operator".into()))));
}
