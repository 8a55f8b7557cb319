//! Sends signed webhooks as fast as it can or at a fixed rate, over N connections, for a
//! duration or a count, and measures what the receiver answered and how fast.

use super::events::{event, out_of_order_pair, sign, BenchEvent};
use crate::{settings::Secret, signing::Interlace};
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub url: String,
    pub secret: String,
    pub connections: usize,
    /// Requests per second; `None` sends as fast as the receiver answers.
    pub rate: Option<f64>,
    pub until: Until,
    pub mix: Mix,
}

/// When a run stops: after `duration` or `count` requests, whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct Until {
    pub duration: Option<Duration>,
    pub count: Option<u64>,
}

impl Until {
    fn reached(&self, requests: u64, elapsed: Duration) -> bool {
        self.count.is_some_and(|count| requests >= count)
            || self.duration.is_some_and(|duration| elapsed >= duration)
    }
}

/// How much of the traffic misbehaves as the platform's own sometimes does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mix {
    /// Share of requests that re-send an earlier event.
    pub duplicates: f64,
    /// Share of slots that send an out-of-order pair (closed, then an older pending).
    pub out_of_order: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(histogram: &Histogram<u64>) -> Latency {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Latency {
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p90_ms: ms(histogram.value_at_quantile(0.90)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            max_ms: ms(histogram.max()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    pub run: String,
    pub requests: u64,
    /// New events the receiver committed.
    pub accepted: u64,
    pub duplicates_acknowledged: u64,
    pub status_counts: BTreeMap<u16, u64>,
    pub transport_errors: u64,
    pub seconds: f64,
    pub accepted_per_second: f64,
    pub requests_per_second: f64,
    pub latency: Latency,
    /// Ids of the new events the receiver accepted, for verification.
    #[serde(skip)]
    pub accepted_ids: Vec<String>,
}

struct Worker {
    histogram: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    accepted: Vec<String>,
    duplicates: u64,
    errors: u64,
    requests: u64,
}

enum Slot {
    One(u64),
    Duplicate(u64),
    Pair(u64),
}

impl Mix {
    /// Which kind slot `index` is, spread evenly by a fixed hash so every run has the same mix.
    fn slot(&self, index: u64) -> Slot {
        let spread = (index.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
        if index > 0 && spread < self.duplicates {
            Slot::Duplicate(index / 2)
        } else if spread < self.duplicates + self.out_of_order {
            Slot::Pair(index)
        } else {
            Slot::One(index)
        }
    }
}

/// What every connection of a run shares.
struct Shared {
    run_id: String,
    base: DateTime<Utc>,
    client: reqwest::Client,
    scheme: Interlace,
    next: AtomicU64,
    started: Instant,
    plan: LoadPlan,
}

pub async fn run(plan: LoadPlan) -> LoadReport {
    let shared = Arc::new(Shared {
        run_id: format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        base: Utc::now(),
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(plan.connections)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client"),
        scheme: Interlace::new(vec![Secret::new(plan.secret.clone())], None),
        next: AtomicU64::new(0),
        started: Instant::now(),
        plan,
    });
    let workers: Vec<_> = (0..shared.plan.connections.max(1))
        .map(|_| tokio::spawn(connection(shared.clone())))
        .collect();
    let (run_id, started) = (shared.run_id.clone(), shared.started);
    let mut report = LoadReport {
        run: run_id,
        requests: 0,
        accepted: 0,
        duplicates_acknowledged: 0,
        status_counts: BTreeMap::new(),
        transport_errors: 0,
        seconds: 0.0,
        accepted_per_second: 0.0,
        requests_per_second: 0.0,
        latency: Latency {
            p50_ms: 0.0,
            p90_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
        },
        accepted_ids: Vec::new(),
    };
    let mut histogram =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
    for worker in workers {
        let worker = worker.await.expect("load worker");
        histogram.add(&worker.histogram).expect("same bounds");
        for (status, n) in worker.statuses {
            *report.status_counts.entry(status).or_default() += n;
        }
        report.requests += worker.requests;
        report.duplicates_acknowledged += worker.duplicates;
        report.transport_errors += worker.errors;
        report.accepted_ids.extend(worker.accepted);
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.accepted = report.accepted_ids.len() as u64;
    report.accepted_per_second = report.accepted as f64 / report.seconds;
    report.requests_per_second = report.requests as f64 / report.seconds;
    report.latency = Latency::of(&histogram);
    report
}

/// One connection: takes slots until the plan is done.
async fn connection(shared: Arc<Shared>) -> Worker {
    let Shared {
        run_id,
        base,
        client,
        scheme,
        next,
        started,
        plan,
    } = &*shared;
    let mut worker = Worker {
        histogram: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
        statuses: BTreeMap::new(),
        accepted: Vec::new(),
        duplicates: 0,
        errors: 0,
        requests: 0,
    };
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        if plan.until.reached(index, started.elapsed()) {
            return worker;
        }
        // At a fixed rate a request is timed from when it was due, so a slow receiver
        // cannot hide its delay by slowing the sender (coordinated omission).
        let due = plan
            .rate
            .map(|rate| *started + Duration::from_secs_f64(index as f64 / rate));
        if let Some(due) = due {
            tokio::time::sleep_until(due.into()).await;
        }
        let events: Vec<BenchEvent> = match plan.mix.slot(index) {
            Slot::One(i) | Slot::Duplicate(i) => vec![event(run_id, i, *base)],
            Slot::Pair(i) => out_of_order_pair(run_id, i, *base).into(),
        };
        for e in events {
            let from = due.unwrap_or_else(Instant::now);
            send(client, &plan.url, scheme, &e, &mut worker).await;
            worker
                .histogram
                .saturating_record(from.elapsed().as_micros().max(1) as u64);
        }
    }
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    scheme: &Interlace,
    event: &BenchEvent,
    worker: &mut Worker,
) {
    let signed = sign(scheme, event);
    let mut request = client.post(url).body(signed.body);
    for (name, value) in &signed.headers {
        request = request.header(name, value);
    }
    worker.requests += 1;
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            *worker.statuses.entry(status).or_default() += 1;
            let duplicate = response
                .bytes()
                .await
                .map(|b| b.windows(9).any(|w| w == b"duplicate"))
                .unwrap_or(false);
            if status == 200 && duplicate {
                worker.duplicates += 1;
            } else if status == 200 {
                worker.accepted.push(event.event_id.clone());
            }
        }
        Err(_) => worker.errors += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_mix_follows_the_requested_shares() {
        let mix = Mix {
            duplicates: 0.1,
            out_of_order: 0.05,
        };
        let (mut duplicates, mut pairs) = (0, 0);
        for index in 0..10_000 {
            match mix.slot(index) {
                Slot::Duplicate(original) => {
                    assert!(original < index);
                    duplicates += 1;
                }
                Slot::Pair(_) => pairs += 1,
                Slot::One(_) => {}
            }
        }
        assert!((800..1200).contains(&duplicates), "{duplicates}");
        assert!((350..650).contains(&pairs), "{pairs}");
    }
}
