//! The read model is a function of the set of events (SPEC 3): skewed clocks and any arrival
//! order, over two receivers and two workers, give the SPEC order's result, which `verify`
//! confirms live and after `rebuild`; `verify --repair` puts a wrong read model right.

use crate::support::{fixtures::INTERLACE_SECRET, sign, spawn_app, TestApp};
use chrono::{DateTime, Duration, TimeZone, Utc};
use hookgate::{
    app::StartOptions,
    catalogue::{format_time, Family, OrderKey, StatePoint, ValidEvent},
    store::{census, read_model},
};
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use serde_json::{json, Value};

/// One event of the generated history.
struct Planned {
    event_id: String,
    family: Family,
    object_id: String,
    status: &'static str,
    occurred_at: DateTime<Utc>,
}

impl Planned {
    fn point(&self) -> StatePoint<'_> {
        StatePoint {
            status: self.status,
            occurred_at: self.occurred_at,
            event_id: &self.event_id,
        }
    }

    fn signed(&self) -> (Vec<(String, String)>, String) {
        let time = format_time(&self.occurred_at);
        let (event_type, resource) = match self.family {
            Family::Transfer => (
                "TRANSFER.UPDATED",
                json!({"id": self.object_id, "status": self.status, "updateTime": time,
                       "amount": {"amount": "10.50", "currency": "USD"}}),
            ),
            Family::Payout => (
                "PAYOUT.UPDATED",
                json!({"id": self.object_id, "status": self.status, "refundTime": time,
                       "data": {"fromAmount": "2000.00000000", "fromCurrency": "HKD"}}),
            ),
            other => unreachable!("not generated: {other}"),
        };
        sign::interlace(
            INTERLACE_SECRET,
            &self.event_id,
            event_type,
            &resource.to_string(),
        )
    }
}

/// `objects` objects with 2–4 events each, stamped up to 200 ms apart by skewed clocks (with
/// ties), in a random arrival order.
fn skewed_history(seed: u64, objects: usize) -> Vec<Planned> {
    let mut rng = StdRng::seed_from_u64(seed);
    let base = Utc.with_ymd_and_hms(2025, 6, 1, 10, 0, 0).unwrap();
    let mut events = Vec::new();
    for n in 0..objects {
        let (family, statuses): (Family, &[&str]) = if n % 3 == 0 {
            (
                Family::Payout,
                &[
                    "created",
                    "pending",
                    "proof_required",
                    "closed",
                    "refunded",
                    "failed",
                ],
            )
        } else {
            (Family::Transfer, &["pending", "closed", "fail"])
        };
        for e in 0..rng.random_range(2..=4) {
            events.push(Planned {
                event_id: format!("ev-{seed}-{n}-{e}"),
                family,
                object_id: format!("obj-{seed}-{n}"),
                status: statuses[rng.random_range(0..statuses.len())],
                occurred_at: base + Duration::milliseconds(rng.random_range(0..5) * 50),
            });
        }
    }
    events.shuffle(&mut rng);
    events
}

/// The SPEC order's result per object: the greatest event's status.
fn expected_states(events: &[Planned]) -> Vec<(Family, &str, &'static str)> {
    let mut by_object: std::collections::BTreeMap<(&str, Family), &Planned> = Default::default();
    for event in events {
        let slot = by_object
            .entry((&event.object_id, event.family))
            .or_insert(event);
        if OrderKey::of(event.family, &event.point()) > OrderKey::of(event.family, &slot.point()) {
            *slot = event;
        }
    }
    by_object
        .into_iter()
        .map(|((object, family), event)| (family, object, event.status))
        .collect()
}

async fn post_to(client: &reqwest::Client, address: &str, event: &Planned) {
    let (headers, body) = event.signed();
    let mut request = client
        .post(format!("{address}/webhooks/interlace"))
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", event.event_id);
}

async fn status_of(app: &TestApp, family: Family, object_id: &str) -> Value {
    let response = app.api(&format!("/v1/objects/{family}/{object_id}")).await;
    assert_eq!(response.status(), 200, "{family}/{object_id}");
    response.json::<Value>().await.unwrap()["status"].clone()
}

async fn assert_read_model(app: &TestApp, expected: &[(Family, &str, &'static str)], when: &str) {
    for (family, object_id, status) in expected {
        assert_eq!(
            status_of(app, *family, object_id).await,
            *status,
            "{when}: {family}/{object_id}"
        );
    }
}

async fn verify(app: &TestApp, extra: &[&str]) -> (bool, Value) {
    let mut args = vec!["verify", "--json"];
    args.extend_from_slice(extra);
    let output = app.cli(&args).await;
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "verify printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), report)
}

#[tokio::test]
async fn skewed_arrival_over_two_receivers_and_two_workers_gives_the_spec_order() {
    let app = spawn_app().await;
    let sibling = app.sibling(StartOptions::default()).await;
    let events = skewed_history(7, 60);
    let client = reqwest::Client::new();
    let addresses = [app.address.clone(), sibling.address.clone()];
    let posts = events.iter().enumerate().map(|(n, event)| {
        let (client, address) = (&client, &addresses[n % 2]);
        async move { post_to(client, address, event).await }
    });
    futures_util::future::join_all(posts).await;
    // Two events of one object with the same status and time carry the same resource: the
    // second is a duplicate by content (SPEC 2.4), also when the receivers race for it.
    let distinct: std::collections::HashSet<_> = events
        .iter()
        .map(|e| (&e.object_id, e.status, e.occurred_at))
        .collect();
    let stored = distinct.len();
    assert_eq!(app.inbox_count().await, stored as i64);
    app.wait_until_handled(stored as i64).await;

    let expected = expected_states(&events);
    assert_read_model(&app, &expected, "live").await;
    let (clean, report) = verify(&app, &[]).await;
    assert!(clean, "{report}");
    assert_eq!(report["differences"], json!([]));
    assert_eq!(report["events"], stored);
    assert_eq!(report["objects"], expected.len());

    let rebuilt = app.cli_json(&["rebuild", "--json"]).await;
    assert_eq!(rebuilt["replayed"], stored, "{rebuilt}");
    assert_read_model(&app, &expected, "after rebuild").await;
    let (clean, report) = verify(&app, &[]).await;
    assert!(clean, "{report}");
}

// Long because it walks one object through the whole story: projected, corrupted, reported,
// repaired, reported clean, with the notifications counted at each step.
#[tokio::test]
async fn verify_reports_a_wrong_state_and_repair_puts_it_right_notifying_once() {
    let app = spawn_app().await;
    let base = Utc.with_ymd_and_hms(2025, 6, 1, 10, 0, 0).unwrap();
    // The skewed pair of SPEC 3: `closed` at .100, a `pending` stamped .150.
    let skewed = |event_id: &str, status, millis| Planned {
        event_id: event_id.into(),
        family: Family::Transfer,
        object_id: "t-skew".into(),
        status,
        occurred_at: base + Duration::milliseconds(millis),
    };
    let closed = skewed("closed-1", "closed", 100);
    let pending = skewed("pending-1", "pending", 150);
    let client = reqwest::Client::new();
    for event in [&pending, &closed] {
        post_to(&client, &app.address, event).await;
    }
    app.wait_until_handled(2).await;
    assert_eq!(status_of(&app, Family::Transfer, "t-skew").await, "closed");

    // What the old rule ("later time wins") left behind.
    app.overwrite_object(
        "transfers",
        "t-skew",
        ("pending", "pending-1"),
        Some(pending.occurred_at),
    )
    .await;
    let notifications_before = app.census().await.notifications;

    let (clean, report) = verify(&app, &[]).await;
    assert!(!clean, "verify exits non-zero on a difference");
    assert_eq!(
        report["differences"],
        json!([{
            "family": "transfer",
            "objectId": "t-skew",
            "stored": {"status": "pending", "eventId": "pending-1",
                       "occurredAt": format_time(&pending.occurred_at)},
            "expected": {"status": "closed", "eventId": "closed-1",
                         "occurredAt": format_time(&closed.occurred_at)},
            "decidingEvent": "closed-1",
        }])
    );
    let over_http: Value = app
        .post_api("/admin/verify", json!({"family": "transfer"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(over_http["differences"], report["differences"]);

    let (repaired, report) = verify(&app, &["--repair"]).await;
    assert!(repaired, "{report}");
    assert_eq!(report["repaired"], 1);
    assert_eq!(status_of(&app, Family::Transfer, "t-skew").await, "closed");
    let (event_id, body) = census::latest_notification(&app.pool)
        .await
        .unwrap()
        .expect("a notification");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event_id, "closed-1");
    assert_eq!(body["previousStatus"], "pending");
    assert_eq!(body["status"], "closed");
    assert_eq!(app.census().await.notifications, notifications_before + 1);

    // Nothing is left to repair, and repairing again notifies nobody.
    let (clean, report) = verify(&app, &["--repair"]).await;
    assert!(clean, "{report}");
    assert_eq!(report["differences"], json!([]));
    assert_eq!(app.census().await.notifications, notifications_before + 1);
    let unknown = app
        .post_api("/admin/verify", json!({"family": "nope"}))
        .await;
    assert_eq!(unknown.status(), 400);
}

/// The projection itself, against PostgreSQL: random events of one object projected in a
/// random arrival order and split into random batches (each its own transaction, as workers
/// commit them) leave the greatest event's status, id and resource in the table. Long because
/// the strategy, the expected greatest event and the batched projection all sit in one case.
#[test]
fn projecting_any_order_in_any_batches_stores_the_greatest_event() {
    use hookgate::{
        projection::{project, Mode, Projectable},
        store::event_rows::{EventKey, StoredEvent},
    };
    use proptest::{prelude::*, test_runner::TestRunner};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(spawn_app());
    let statuses = ["pending", "processing", "closed", "fail"];
    let strategy =
        prop::collection::vec((0..statuses.len(), 0i64..4), 1..7).prop_flat_map(|events| {
            let n = events.len();
            (
                Just(events),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                prop::collection::vec(any::<bool>(), n),
            )
        });
    let base = Utc.with_ymd_and_hms(2025, 6, 1, 10, 0, 0).unwrap();
    let mut runner = TestRunner::new(proptest::test_runner::Config {
        cases: 32,
        ..Default::default()
    });
    let case = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&strategy, |(events, order, cuts)| {
            // Each case its own object, so that cases do not meet.
            let object = format!(
                "prop-{}",
                case.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            let stored: Vec<StoredEvent> = events
                .iter()
                .enumerate()
                .map(|(n, &(status, tenth))| {
                    let time = format_time(&(base + Duration::milliseconds(tenth * 100)));
                    let resource = json!({"id": object, "status": statuses[status],
                                          "updateTime": time, "note": format!("event {n}")});
                    StoredEvent {
                        seq: n as i64,
                        key: EventKey {
                            source: "interlace".into(),
                            event_id: format!("{object}-e{n}"),
                            event_type: "TRANSFER.UPDATED".into(),
                        },
                        resource_raw: resource.to_string().into_bytes(),
                        envelope_time: None,
                        received_at: base,
                        traceparent: None,
                    }
                })
                .collect();
            let descriptions: Vec<_> = stored.iter().map(|e| e.describe().unwrap()).collect();
            let valid: Vec<&ValidEvent> = descriptions.iter().map(|d| d.valid().unwrap()).collect();
            let greatest = (0..stored.len())
                .max_by(|&a, &b| {
                    let point = |i: usize| valid[i].point(&stored[i].key.event_id);
                    OrderKey::of(Family::Transfer, &point(a))
                        .cmp(&OrderKey::of(Family::Transfer, &point(b)))
                })
                .unwrap();
            let (status, last_event_id, note): (String, String, String) = runtime.block_on(async {
                let mut batch = Vec::new();
                for (position, &index) in order.iter().enumerate() {
                    batch.extend(Projectable::of(&stored[index], &descriptions[index]));
                    if cuts[position] || position + 1 == order.len() {
                        let mut tx = app.pool.begin().await.unwrap();
                        project(&mut tx, &batch, Mode::Live).await.unwrap();
                        tx.commit().await.unwrap();
                        batch.clear();
                    }
                }
                let found = read_model::find_object(&app.pool, Family::Transfer, &object)
                    .await
                    .unwrap()
                    .expect("projected");
                let resource: Value = serde_json::from_str(&found.resource.unwrap()).unwrap();
                let note = resource["note"].as_str().unwrap().to_owned();
                (found.status, found.last_event_id, note)
            });
            prop_assert_eq!(&status, valid[greatest].status.as_str());
            prop_assert_eq!(&last_event_id, &stored[greatest].key.event_id);
            prop_assert_eq!(note, format!("event {greatest}"));
            Ok(())
        })
        .unwrap();
}
