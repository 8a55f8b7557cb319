//! Notification delivery to subscribers (SPEC 4): retries until a subscriber recovers, a
//! refusal dead-letters the notification, and a copy published again is not POSTed again.

use crate::ops::dead_letters;
use crate::support::{
    amqp::{self, header_text, Tap, WAIT},
    eventually,
    sign::EARLIER,
    spawn_app_with,
    subscriber::{start_redirector, subscribed, subscribed_at, subscribed_with, Subscriber},
    TestApp, TestOptions,
};
use hookgate::store::{
    census,
    deliveries::{self, Wanted},
};
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn a_subscriber_that_fails_then_recovers_receives_the_notification_once() {
    let subscriber = Subscriber::start(&[500, 503]).await;
    let app = spawn_app_with(subscribed(&subscriber)).await;
    app.post_transfer("retry-me", "t-r", "Closed", EARLIER)
        .await;
    eventually("delivered after retries", || async {
        !subscriber.delivered().is_empty()
    })
    .await;
    app.post_transfer("marker", "t-m", "Closed", EARLIER).await;
    eventually("marker delivered", || async {
        subscriber.delivered().len() >= 2
    })
    .await;
    let received = subscriber.received();
    let attempts: Vec<u16> = received
        .iter()
        .filter(|r| r.body.contains("retry-me"))
        .map(|r| r.answered)
        .collect();
    assert_eq!(
        attempts,
        [500, 503, 200],
        "two transient failures, then one delivery"
    );
    let ids: std::collections::HashSet<&str> = received
        .iter()
        .filter(|r| r.body.contains("retry-me"))
        .map(|r| r.webhook_id.as_str())
        .collect();
    assert_eq!(ids.len(), 1, "the same notification id every time");
    let retried = format!(
        "hookgate_worker_messages_total{{outcome=\"retried\",queue=\"{}\"}}",
        app.names().subscriber("ledger")
    );
    assert_eq!(
        app.metric(&retried).await,
        Some(2.0),
        "both transient failures counted"
    );
}

/// An app with `options`, and the dead letter of its one notification: of a transfer
/// `object_id` closed by the event `event_id`.
async fn dead_lettered(
    options: TestOptions,
    event_id: &str,
    object_id: &str,
) -> (TestApp, lapin::message::Delivery) {
    let app = spawn_app_with(options).await;
    app.wait_for_broker("up").await;
    let mut dlq = Tap::attach(&app.names().dlq()).await;
    app.post_transfer(event_id, object_id, "Closed", EARLIER)
        .await;
    let dead = dlq.take(1, WAIT).await.remove(0);
    (app, dead)
}

#[tokio::test]
async fn a_subscriber_answering_400_dead_letters_the_notification() {
    let subscriber = Subscriber::start(&[400]).await;
    let (app, dead) = dead_lettered(subscribed(&subscriber), "refused", "t-x").await;
    assert_eq!(
        header_text(&dead, "x-hookgate-queue"),
        Some(app.names().subscriber("ledger"))
    );
    let error = header_text(&dead, "x-hookgate-error").unwrap();
    assert!(error.contains("400"), "{error}");
    assert_eq!(subscriber.received().len(), 1, "a 4xx is not retried");
    eventually("inbox records the dead letter", || async {
        app.event_state("refused").await == "dead_lettered"
    })
    .await;
    let event: Value = app.api_json("/v1/events/refused").await;
    assert_eq!(event["state"], "dead_lettered");
    assert!(event["error"].as_str().unwrap().contains("ledger"));
    // `status` counts the event by the same state rule as the event API.
    let status = app.cli_json(&["status", "--json"]).await;
    assert_eq!(status["inbox"]["deadLettered"], 1, "{status}");
    assert_eq!(status["inbox"]["unprocessed"], 0, "{status}");
}

/// A relay whose confirm was lost publishes the notification again; the subscriber, which
/// took the first copy, must not get a second POST.
#[tokio::test]
async fn a_notification_published_again_is_not_posted_again() {
    let subscriber = Subscriber::start(&[]).await;
    let app = spawn_app_with(subscribed(&subscriber)).await;
    app.post_transfer("once", "t-once", "Closed", EARLIER).await;
    eventually("delivered", || async { !subscriber.delivered().is_empty() }).await;

    let posts = publish_again(&app, &subscriber).await;
    assert_eq!(posts.len(), 1, "one POST for two copies: {posts:?}");
    let recorded = census::deliveries_to(&app.pool, "ledger").await.unwrap();
    assert_eq!(recorded, 1);
}

/// Publishes every notification again, as a relay whose confirm was lost does, and waits
/// until a second copy was handled; the webhook ids of every POST so far.
async fn publish_again(app: &TestApp, subscriber: &Subscriber) -> Vec<String> {
    let queue = app.names().subscriber("ledger");
    let handled = format!("hookgate_worker_messages_total{{outcome=\"done\",queue=\"{queue}\"}}");
    app.unpublish_notifications().await;
    eventually("the copy handled", || async {
        app.metric(&handled).await.unwrap_or(0.0) >= 2.0
    })
    .await;
    subscriber
        .received()
        .into_iter()
        .map(|r| r.webhook_id)
        .collect()
}

/// A subscriber that answers 307 would have the signed notification re-POSTed wherever it
/// points; a 3xx is a failure like a 4xx, and the target gets nothing (SPEC 4).
#[tokio::test]
async fn a_redirecting_subscriber_is_not_followed() {
    let target = Subscriber::start(&[]).await;
    let redirector = start_redirector(&target.url).await;
    let (_app, dead) = dead_lettered(subscribed_at(&redirector), "redirected", "t-redir").await;
    let error = header_text(&dead, "x-hookgate-error").unwrap();
    assert!(error.contains("307"), "{error}");
    assert!(target.received().is_empty(), "the redirect was followed");
}

/// The subscriber URL carries a token in its query; no failure text that is stored,
/// published or shown by the API names it (SPEC 4).
#[tokio::test]
async fn a_subscriber_url_never_appears_in_stored_or_published_errors() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://user:pass-word@{}/hooks?token=leaky-token-123",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let (app, dead) = dead_lettered(subscribed_at(&url), "leaky", "t-leak").await;
    let mut texts = vec![header_text(&dead, "x-hookgate-error").unwrap()];
    eventually("the event shows its dead letter", || async {
        let event: Value = app.api_json("/v1/events/leaky").await;
        event["state"] == "dead_lettered"
    })
    .await;
    texts.push(app.api("/v1/events/leaky").await.text().await.unwrap());
    texts.push(app.api("/admin/dlq").await.text().await.unwrap());
    assert!(texts[0].contains("unreachable"), "{}", texts[0]);
    for text in texts {
        for secret in ["leaky-token", "pass-word", "/hooks", "token="] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

/// A `whsk_` subscriber secret signs with `v1a` (ed25519), which the subscriber verifies with
/// the matching `whpk_` public key (SPEC 4).
#[tokio::test]
async fn a_whsk_secret_signs_notifications_with_v1a() {
    use base64::{engine::general_purpose::STANDARD, Engine};
    use ed25519_dalek::{Signature, SigningKey, Verifier};
    let private = SigningKey::from_bytes(&[42; 32]);
    let secret = format!("whsk_{}", STANDARD.encode(private.to_bytes()));
    let subscriber = Subscriber::start(&[]).await;
    let app = spawn_app_with(subscribed_with(&subscriber.url, &secret)).await;
    app.post_transfer("signed-v1a", "t-ed", "Closed", EARLIER)
        .await;
    eventually("delivered", || async { !subscriber.delivered().is_empty() }).await;
    let received = subscriber.delivered().remove(0);
    let entry = received
        .signatures
        .strip_prefix("v1a,")
        .expect("a v1a entry");
    let signature = Signature::from_slice(&STANDARD.decode(entry).unwrap()).unwrap();
    let signed = format!(
        "{}.{}.{}",
        received.webhook_id, received.webhook_timestamp, received.body
    );
    private
        .verifying_key()
        .verify(signed.as_bytes(), &signature)
        .expect("verifies with the matching public key");
}

#[tokio::test]
async fn four_slow_subscribers_hold_no_connection_and_never_starve_the_read_model() {
    let mut subscribers = Vec::new();
    for _ in 0..4 {
        let subscriber = Subscriber::start(&[]).await;
        subscriber.hold();
        subscribers.push(subscriber);
    }
    let configs = subscribers
        .iter()
        .enumerate()
        .map(|(n, subscriber)| hookgate::settings::SubscriberConfig {
            name: format!("slow-{n}"),
            url: subscriber.url.clone(),
            secret: hookgate::settings::Secret::new(crate::support::subscriber::SECRET),
            patterns: vec!["notify.#".into()],
            timeout_ms: 30_000,
        })
        .collect();
    // As many worker connections as there are subscribers.
    let app = spawn_app_with(crate::support::TestOptions {
        subscribers: configs,
        env: vec![("HOOKGATE_WORKER_POOL_SIZE", "4".into())],
        ..crate::support::TestOptions::default()
    })
    .await;
    app.post_transfer("slow-1", "t-slow-1", "Closed", EARLIER)
        .await;
    for subscriber in &subscribers {
        eventually("a POST waiting at every subscriber", || async {
            subscriber.waiting() == 1
        })
        .await;
    }
    let held = app.sessions_idle_in_transaction().await;
    assert_eq!(
        held, 0,
        "no transaction stays open while subscribers answer"
    );
    // The read model goes on applying while four POSTs wait.
    app.handle_transfer("slow-2", "t-slow-2", "Closed", EARLIER)
        .await;
    assert_eq!(app.event_state("slow-2").await, "processed");
    for subscriber in &subscribers {
        subscriber.release();
    }
    for subscriber in &subscribers {
        eventually("both notifications delivered", || async {
            subscriber.delivered().len() == 2
        })
        .await;
        let mut ids: Vec<String> = subscriber
            .delivered()
            .into_iter()
            .map(|r| r.webhook_id)
            .collect();
        ids.dedup();
        assert_eq!(ids.len(), 2, "each once");
    }
}

/// A worker that died holding a notification's lease leaves it busy until the lease expires;
/// waiting for it spends none of the notification's retry tiers (two of 200 and 400 ms here),
/// so it is delivered once the lease ends instead of being dead-lettered.
#[tokio::test]
async fn a_notification_held_by_a_dead_workers_lease_waits_without_spending_its_tiers() {
    let subscriber = Subscriber::start(&[]).await;
    let app = spawn_app_with(subscribed(&subscriber)).await;
    let id = hookgate::wire::notification_id("interlace", "leased");
    let held = [Wanted {
        id: &id,
        again: false,
    }];
    // The dead worker's claim: a lease nobody will record or end.
    deliveries::claim(&app.pool, "ledger", &held, Duration::from_secs(3))
        .await
        .unwrap();
    app.post_transfer("leased", "t-leased", "Closed", EARLIER)
        .await;
    eventually("delivered once the lease expired", || async {
        !subscriber.delivered().is_empty()
    })
    .await;
    let retried = format!(
        "hookgate_worker_messages_total{{outcome=\"retried\",queue=\"{}\"}}",
        app.names().subscriber("ledger")
    );
    assert!(
        app.metric(&retried).await.unwrap_or(0.0) > 2.0,
        "it waited beyond two tiers"
    );
    assert_eq!(subscriber.delivered().len(), 1);
    assert!(
        dead_letters(&app).await.is_empty(),
        "nothing was dead-lettered"
    );
}

/// The database goes away between a subscriber's 2xx and the record of it (a PostgreSQL
/// restart): the notifier records the delivery once the database is back, within the lease,
/// so a copy published again afterwards is not POSTed again.
#[tokio::test]
async fn a_delivery_made_while_the_database_is_away_is_recorded_when_it_returns() {
    let subscriber = Subscriber::start(&[]).await;
    let app = spawn_app_with(TestOptions {
        database_proxy: true,
        ..subscribed(&subscriber)
    })
    .await;
    subscriber.hold();
    app.post_transfer("away", "t-away", "Closed", EARLIER).await;
    eventually("the POST waiting", || async { subscriber.waiting() == 1 }).await;
    let proxy = app.database_proxy.as_ref().unwrap();
    proxy.cut();
    subscriber.release();
    let failed = "hookgate_delivery_record_failures_total{subscriber=\"ledger\"}";
    eventually("a record failed", || async {
        app.metric(failed).await.unwrap_or(0.0) >= 1.0
    })
    .await;
    proxy.restore();
    eventually("the delivery recorded", || async {
        census::deliveries_to(&app.pool, "ledger").await.unwrap() == 1
    })
    .await;

    let posts = publish_again(&app, &subscriber).await;
    assert_eq!(posts.len(), 1, "one POST: {posts:?}");
}

/// RabbitMQ hands an expired retry back to its work queue at most once: one whose tier ends
/// while that queue has no leader (a broker restart, a lost node) is dropped. Here the
/// notification is taken out of its tier before it expires; once overdue it is published
/// again from the watch kept of it, and delivered once.
#[tokio::test]
async fn a_retry_the_broker_dropped_is_published_again_and_delivered_once() {
    let subscriber = Subscriber::start(&[500]).await;
    let options = subscribed(&subscriber).and_env(&[
        ("HOOKGATE_RETRY_TIERS", "3s,6s"),
        ("HOOKGATE_RETRY_GRACE_MS", "500"),
    ]);
    let app = spawn_app_with(options).await;
    let queue = app.names().subscriber("ledger");
    let retried =
        format!("hookgate_worker_messages_total{{outcome=\"retried\",queue=\"{queue}\"}}");
    app.post_transfer("dropped", "t-dropped", "Closed", EARLIER)
        .await;
    eventually("moved to its tier", || async {
        app.metric(&retried).await == Some(1.0)
    })
    .await;
    let tier = &app.config.broker.retry_tiers[0];
    let purged = amqp::purge(&app.names().retry(&queue, tier)).await;
    assert_eq!(purged, 1, "the retry was in its tier, and is gone");

    eventually("delivered", || async { !subscriber.delivered().is_empty() }).await;
    let redriven = format!("hookgate_retries_redriven_total{{queue=\"{queue}\"}}");
    assert_eq!(app.metric(&redriven).await, Some(1.0));
    let handled = format!("hookgate_worker_messages_total{{outcome=\"done\",queue=\"{queue}\"}}");
    eventually("the copy settled", || async {
        app.metric(&handled).await == Some(1.0)
    })
    .await;
    let posts: Vec<u16> = subscriber.received().iter().map(|r| r.answered).collect();
    assert_eq!(posts, [500, 200], "one failure, then one delivery");
}
