//! The unsigned Interlace envelope decides nothing the signed resource does not allow (SPEC
//! 2.1, 2.4, 3): a captured resource re-sent under new ids, event types or times is stored
//! once where the resource orders itself, a far-future time is clamped, an invented action is
//! `unknown`, and a genuine repeat of identical KYC bytes still counts.

use crate::support::{
    eventually, fixtures::INTERLACE_SECRET, sign, sign::transfer_resource, spawn_app, TestApp,
};
use chrono::{Duration, Utc};
use serde_json::{json, Value};

const KYC_ID: &str = "acc-kyc-1";

fn kyc_resource(status: &str) -> String {
    json!({"id": KYC_ID, "type": "SubAccount", "status": "Active", "kycStatus": status,
           "createTime": "2023-03-06T07:51:59.391Z"})
    .to_string()
}

/// Posts an Interlace event with this envelope and returns the answer's body.
async fn post(
    app: &TestApp,
    id: &str,
    event_type: &str,
    resource: &str,
    create_time: Value,
) -> Value {
    let (headers, body) =
        sign::interlace_created(INTERLACE_SECRET, id, event_type, resource, create_time);
    app.accepted("interlace", &headers, body).await
}

fn millis(time: chrono::DateTime<Utc>) -> Value {
    time.timestamp_millis().to_string().into()
}

async fn processed(app: &TestApp, ids: &[&str]) {
    for id in ids {
        eventually(&format!("{id} processed"), || async {
            app.event_state(id).await == "processed"
        })
        .await;
    }
}

/// The defect: rule (b) took identical bytes under the same type for a duplicate, so a KYC
/// that passed, went back to pending and passed again stayed pending for ever.
#[tokio::test]
async fn a_genuine_repeat_of_identical_kyc_bytes_is_a_new_event() {
    let app = spawn_app().await;
    let start = Utc::now() - Duration::hours(3);
    for (n, status) in ["Passed", "Pending", "Passed"].iter().enumerate() {
        let at = millis(start + Duration::hours(n as i64));
        let answer = post(
            &app,
            &format!("kyc-{n}"),
            "KYC.UPDATED",
            &kyc_resource(status),
            at,
        )
        .await;
        assert_eq!(answer, json!({"received": true}), "kyc-{n}");
    }
    processed(&app, &["kyc-0", "kyc-1", "kyc-2"]).await;
    let object = app.object("kyc", KYC_ID).await;
    assert_eq!(object["status"], "passed");
    assert_eq!(object["lastEventId"], "kyc-2");
    let resent: Vec<bool> = object["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["resent"].as_bool().unwrap())
        .collect();
    assert_eq!(resent, [false, false, true], "{object}");
    assert_eq!(
        app.metric("hookgate_resent_resource_total{family=\"kyc\",source=\"interlace\"}")
            .await,
        Some(1.0)
    );
}

/// A captured transfer resource re-sent under a new id, another or an invented event type,
/// `DELETED`, or another time is the same signed state: stored once.
#[tokio::test]
async fn a_captured_transfer_resource_is_stored_once_whatever_envelope_carries_it() {
    let app = spawn_app().await;
    let resource = transfer_resource("t-captured", "Closed", sign::LATER);
    let first = post(
        &app,
        "genuine",
        "TRANSFER.UPDATED",
        &resource,
        millis(Utc::now()),
    )
    .await;
    assert_eq!(first, json!({"received": true}));
    for (id, event_type, create_time) in [
        ("replayed-id", "TRANSFER.UPDATED", millis(Utc::now())),
        ("as-created", "TRANSFER.CREATED", millis(Utc::now())),
        ("as-deleted", "TRANSFER.DELETED", millis(Utc::now())),
        ("as-invented", "TRANSFER.X1", millis(Utc::now())),
        ("other-case", "Transfer.Updated", json!("99999999999999")),
        (
            "far-future",
            "TRANSFER.UPDATED",
            json!("9999-12-31T00:00:00Z"),
        ),
    ] {
        let answer = post(&app, id, event_type, &resource, create_time).await;
        assert_eq!(answer, json!({"received": true, "duplicate": true}), "{id}");
        let missing = app.api(&format!("/v1/events/{id}")).await;
        assert_eq!(missing.status(), 404, "{id} must not be stored");
    }
    processed(&app, &["genuine"]).await;
    let object = app.object("transfer", "t-captured").await;
    assert_eq!(object["status"], "closed");
    assert_eq!(object["history"].as_array().unwrap().len(), 1, "{object}");
}

/// Forged copies of a passed KYC (invented actions, a far-future time) cannot pin the object:
/// the genuine later `Canceled` still decides it.
#[tokio::test]
async fn forged_kyc_envelopes_cannot_outlast_the_genuine_later_event() {
    let app = spawn_app().await;
    let passed = kyc_resource("Passed");
    let genuine_at = Utc::now() - Duration::hours(1);
    post(
        &app,
        "genuine-passed",
        "KYC.UPDATED",
        &passed,
        millis(genuine_at),
    )
    .await;
    for (n, event_type) in ["KYC.X1", "KYC.X11", "KYC.CREATED_AGAIN", "Kyc.Updated.X"]
        .iter()
        .enumerate()
    {
        let answer = post(
            &app,
            &format!("forged-{n}"),
            event_type,
            &passed,
            millis(Utc::now()),
        )
        .await;
        assert_eq!(answer, json!({"received": true}), "{event_type}");
        let event = app.event(&format!("forged-{n}")).await;
        assert_eq!(
            event["routingKey"],
            format!("unknown.{}", event_type.to_lowercase()),
            "an invented action is never projected"
        );
    }
    let year_9999 = json!("9999-01-01T00:00:00.000Z");
    post(&app, "forged-future", "KYC.UPDATED", &passed, year_9999).await;
    let canceled_at = Utc::now() + Duration::minutes(1);
    post(
        &app,
        "genuine-canceled",
        "KYC.UPDATED",
        &kyc_resource("Canceled"),
        millis(canceled_at),
    )
    .await;
    processed(
        &app,
        &["genuine-passed", "forged-future", "genuine-canceled"],
    )
    .await;

    let object = app.object("kyc", KYC_ID).await;
    assert_eq!(object["status"], "canceled", "{object}");
    let history = object["history"].as_array().unwrap();
    assert_eq!(
        history.len(),
        3,
        "only KYC.UPDATED events reach the object: {object}"
    );
    let forged = history
        .iter()
        .find(|h| h["eventId"] == "forged-future")
        .unwrap();
    assert_eq!(
        forged["occurredAt"], forged["receivedAt"],
        "a far-future envelope time is stored as the receipt time"
    );
    assert_eq!(forged["resent"], true);
    assert_eq!(
        app.metric("hookgate_envelope_time_clamped_total{source=\"interlace\"}")
            .await,
        Some(1.0)
    );
}

/// The families ordered by a time inside the signed resource, by their eventType prefix.
const SIGNED_TIME_PREFIXES: [&str; 7] = [
    "TRANSFER",
    "CARD_TRANSACTION",
    "BUDGET_TRANSACTION",
    "PAYOUT",
    "CRYPTO_DEPOSIT",
    "CRYPTO_WITHDRAWAL",
    "GLOBAL_ACCOUNT_TRANSACTION",
];

/// An envelope around one signed resource: its event type's action and case, and its time.
#[derive(Debug, Clone)]
struct Envelope {
    action: &'static str,
    lower_case: bool,
    create_time: Value,
}

fn envelopes() -> impl proptest::strategy::Strategy<Value = (usize, Vec<Envelope>)> {
    use proptest::prelude::*;
    let action = prop::sample::select(vec!["CREATED", "UPDATED", "DELETED", "X1", "CLOSED"]);
    let create_time = prop_oneof![
        (0i64..253_402_300_799_999).prop_map(|ms| Value::from(ms.to_string())),
        (0i64..253_402_300_799_999).prop_map(Value::from),
        Just(json!("9999-12-31T23:59:59Z")),
        Just(Value::Null),
    ];
    let envelope =
        (action, any::<bool>(), create_time).prop_map(|(action, lower_case, create_time)| {
            Envelope {
                action,
                lower_case,
                create_time,
            }
        });
    (
        0..SIGNED_TIME_PREFIXES.len(),
        prop::collection::vec(envelope, 1..6),
    )
}

/// Property (SPEC 2.4): for a family ordered by a signed time, no sequence of envelopes around
/// one signed resource stores it more than once, and the read model holds at most that one
/// event: the first envelope's, when its action is one the catalogue projects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sequence_of_envelopes_stores_one_signed_resource_twice() {
    use proptest::test_runner::{Config, TestRunner};
    let app = spawn_app().await;
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let expected = std::sync::Mutex::new(Vec::new());
    let cases = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&envelopes(), |(family, envelopes)| {
            let case = cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let object = format!("obj-{case}");
            let resource = json!({"id": object, "status": "Pending",
                "updateTime": sign::LATER, "createTime": sign::LATER, "transactionTime": sign::LATER})
            .to_string();
            let prefix = SIGNED_TIME_PREFIXES[family];
            let stored: Vec<bool> = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async {
                    let mut stored = Vec::new();
                    for (n, envelope) in envelopes.iter().enumerate() {
                        let mut event_type = format!("{prefix}.{}", envelope.action);
                        if envelope.lower_case {
                            event_type = event_type.to_lowercase();
                        }
                        let id = format!("case-{case}-{n}");
                        let answer =
                            post(&app, &id, &event_type, &resource, envelope.create_time.clone())
                                .await;
                        stored.push(answer.get("duplicate").is_none());
                    }
                    stored
                })
            });
            assert_eq!(stored.iter().filter(|s| **s).count(), 1, "{envelopes:?}");
            assert!(stored[0], "the first envelope stores it");
            let projected = ["CREATED", "UPDATED", "DELETED"].contains(&envelopes[0].action);
            let family = prefix.to_lowercase();
            let first = format!("case-{case}-0");
            expected.lock().unwrap().push((family, object, first, projected));
            Ok(())
        })
        .unwrap();
    for (family, object, event_id, projected) in expected.into_inner().unwrap() {
        processed(&app, &[&event_id]).await;
        let answer = app.api(&format!("/v1/objects/{family}/{object}")).await;
        if projected {
            let object: Value = answer.json().await.unwrap();
            assert_eq!(object["status"], "pending");
            assert_eq!(object["history"].as_array().unwrap().len(), 1, "{object}");
        } else {
            assert_eq!(answer.status(), 404, "an invented action projects nothing");
        }
    }
}
