//! The read API (SPEC 5) and the exact money it serves: amounts keep every digit from the
//! webhook through the table and the API to the notification.

use crate::support::{
    amqp::{Tap, WAIT},
    assert_error,
    fixtures::INTERLACE_SECRET,
    sign::{self, EARLIER},
    spawn_app, spawn_app_with_env, API_TOKEN,
};
use hookgate::catalogue::Family;
use serde_json::Value;

#[tokio::test]
async fn exact_decimals_survive_the_whole_path() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let mut notifications = Tap::bind(&app.names().notifications(), "notify.payout.*", false).await;
    let resource = r#"{"id":"p-exact","status":"CLOSED","successTime":"2024-02-05 18:57:04.091+08","data":{"fromCurrency":"HKD","fromAmount":2000.00000000,"toCurrency":"USD","toAmount":12345678901234.56,"fee":0.11,"feeCurrency":"USD"}}"#;
    let (headers, body_text) =
        sign::interlace(INTERLACE_SECRET, "exact", "PAYOUT.UPDATED", resource);
    app.post_webhook("interlace", &headers, body_text).await;
    app.wait_until_handled(1).await;
    let money = app.money(Family::Payout, "p-exact").await;
    let amount_of = |name: &str| money.iter().find(|m| m.field.name == name).unwrap();
    assert_eq!(
        (
            amount_of("amount").amount.as_deref(),
            amount_of("toAmount").amount.as_deref(),
            amount_of("fee").amount.as_deref(),
            amount_of("amount").currency.as_deref()
        ),
        (
            Some("2000.00000000"),
            Some("12345678901234.56"),
            Some("0.11"),
            Some("HKD")
        )
    );
    let api = app
        .api("/v1/objects/payout/p-exact")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        api.contains("2000.00000000") && api.contains("12345678901234.56"),
        "{api}"
    );
    let notification = notifications.take(1, WAIT).await.remove(0);
    let text = String::from_utf8(notification.data.clone()).unwrap();
    assert!(
        text.contains(r#""fromAmount":2000.00000000"#) && text.contains("12345678901234.56"),
        "{text}"
    );
}

#[tokio::test]
async fn every_amount_format_keeps_its_value_and_scale_in_table_api_and_notification() {
    let app = spawn_app().await;
    app.wait_for_broker("up").await;
    let mut notifications =
        Tap::bind(&app.names().notifications(), "notify.transfer.*", false).await;
    let formats = [
        "0",
        "0.00",
        "-3.25",
        "2000.00000000",
        "0.11",
        "12345678901234.56",
        "-0.000001",
        "0.1000000000000000055511151231257827021181583404541015625",
        "123456789012345678901234567890123456789.5",
    ];
    let mut cases = Vec::new();
    for (n, text) in formats.iter().enumerate() {
        for quoted in [true, false] {
            let amount = if quoted {
                format!("\"{text}\"")
            } else {
                text.to_string()
            };
            let object = format!("t-money-{n}-{quoted}");
            let resource = format!(
                r#"{{"id":"{object}","status":"Closed","updateTime":"2024-02-05T10:57:04.091Z","amount":{{"amount":{amount},"currency":"USD"}}}}"#
            );
            let (headers, body) = sign::interlace(
                INTERLACE_SECRET,
                &format!("m-{n}-{quoted}"),
                "TRANSFER.UPDATED",
                &resource,
            );
            app.accepted("interlace", &headers, body).await;
            cases.push((object, text, amount));
        }
    }
    app.wait_until_handled(cases.len() as i64).await;
    let mut bodies: Vec<String> = notifications
        .take(cases.len(), WAIT)
        .await
        .iter()
        .map(|d| String::from_utf8(d.data.clone()).unwrap())
        .collect();
    for (object, text, amount) in &cases {
        let stored = app.money(Family::Transfer, object).await.remove(0);
        assert_eq!(
            stored.amount.as_deref(),
            Some(**text),
            "{object}: NUMERIC keeps value and scale"
        );
        let api = app
            .api(&format!("/v1/objects/transfer/{object}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            api.contains(&format!(r#""amount":{amount}"#)),
            "{object}: {api}"
        );
        let position = bodies
            .iter()
            .position(|b| b.contains(&format!(r#""objectId":"{object}""#)))
            .expect("notified");
        let body = bodies.remove(position);
        assert!(
            body.contains(&format!(r#""amount":{amount}"#)),
            "{object}: {body}"
        );
    }
}

#[tokio::test]
async fn read_api_requires_the_bearer_token() {
    let app = spawn_app().await;
    app.handle_transfer("auth", "t-a", "Pending", EARLIER).await;
    let client = reqwest::Client::new();
    let path = app.url("/v1/objects/transfer/t-a");
    let none = client.get(&path).send().await.unwrap();
    assert_error(none, (401, "unauthorized")).await;
    let wrong = client
        .get(&path)
        .bearer_auth("not-it")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = client
        .get(&path)
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);

    for missing in [
        "/v1/objects/transfer/nope",
        "/v1/events/nope",
        "/v1/events/auth?source=partner",
    ] {
        assert_error(app.api(missing).await, (404, "not_found")).await;
    }
    for no_family in ["/v1/objects/spaceship/t-a", "/v1/objects/unknown/t-a"] {
        assert_error(app.api(no_family).await, (404, "unknown_family")).await;
    }
    assert_error(
        app.api("/v1/events/auth?source=a&source=b").await,
        (400, "malformed_payload"),
    )
    .await;
    assert_error(
        app.api("/admin/dlq?limit=many").await,
        (400, "malformed_payload"),
    )
    .await;
    assert_error(
        app.post_api("/admin/verify", serde_json::json!({"family": "spaceship"}))
            .await,
        (400, "unknown_family"),
    )
    .await;
    let event: Value = app.api_json("/v1/events/auth").await;
    assert_eq!(event["id"], "auth");
    assert_eq!(event["source"], "interlace");
    assert_eq!(event["eventType"], "TRANSFER.UPDATED");
    assert_eq!(event["state"], "processed");
    assert!(event["publishedAt"].is_string() && event["processedAt"].is_string());
    assert_eq!(event["deadLetteredAt"], Value::Null);
    assert_eq!(event["error"], Value::Null);
}

#[tokio::test]
async fn read_api_is_unavailable_without_a_configured_token() {
    let app = spawn_app_with_env(&[("HOOKGATE_API_TOKEN", "")]).await;
    assert_error(app.api("/v1/events/anything").await, (503, "unavailable")).await;
}
