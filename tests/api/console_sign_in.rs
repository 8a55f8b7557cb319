//! Console sign-in is limited to 10 failures per client address per 5 minutes, counted in the
//! database so every process refuses the same address; failures are audited (SPEC 5).

use crate::support::{console::ConsoleUser, spawn_app_with_env, API_TOKEN};
use hookgate::{app::StartOptions, store::console::recent_actions};
use reqwest::StatusCode;

/// Posts a sign-in with `token` as a client behind the trusted proxy at `forwarded_for`.
async fn sign_in(user: &ConsoleUser, base: &str, token: &str, forwarded_for: &str) -> StatusCode {
    let form = user
        .client
        .get(format!("{base}/console"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = form.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
    let csrf = &form[start..start + form[start..].find('"').unwrap()];
    let answer = user
        .client
        .post(format!("{base}/console/login"))
        .header("x-forwarded-for", forwarded_for)
        .form(&[("token", token), ("operator", "mallory"), ("csrf", csrf)])
        .send()
        .await
        .unwrap();
    if answer.status() == StatusCode::TOO_MANY_REQUESTS {
        let wait: u64 = answer.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=300).contains(&wait), "Retry-After {wait}");
        assert!(answer.text().await.unwrap().contains("rate_limited"));
        return StatusCode::TOO_MANY_REQUESTS;
    }
    answer.status()
}

#[tokio::test]
async fn ten_failures_from_one_address_hold_it_off_on_every_process() {
    let app = spawn_app_with_env(&[("HOOKGATE_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let base = app.url("");
    let user = ConsoleUser::new(&app);
    for attempt in 0..10 {
        let status = sign_in(&user, &base, "wrong-token", "198.51.100.7").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // The right token too, until the window passes.
    let status = sign_in(&user, &base, API_TOKEN, "198.51.100.7").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another process of the same deployment counts in the same rows.
    let sibling = app.sibling(StartOptions::default()).await;
    let status = sign_in(&user, &sibling.address, API_TOKEN, "198.51.100.7").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not held off.
    let status = sign_in(&user, &base, API_TOKEN, "198.51.100.8").await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    let audit = recent_actions(&app.pool, 50).await.unwrap();
    let refused: Vec<_> = audit
        .iter()
        .filter(|entry| entry.action == "sign_in_refused")
        .collect();
    assert_eq!(refused.len(), 10);
    assert!(refused
        .iter()
        .all(|entry| entry.detail.0["client"] == "198.51.100.7" && entry.operator == "mallory"));
    assert_eq!(
        app.metric("hookgate_console_sign_ins_rate_limited_total")
            .await,
        Some(1.0),
        "each process counts its own refusals"
    );
}
