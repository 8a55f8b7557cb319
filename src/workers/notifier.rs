//! The HTTP notifier: POSTs each notification to a subscriber, signed with Standard Webhooks.

use super::{consumer::Handler, read_model::record_dead_letter, Failure};
use crate::{
    catalogue::{TraceParent, TRACEPARENT},
    settings::SubscriberConfig,
    signing::StandardWebhooks,
    store::{
        deliveries::{claim, Claim, ClaimedBatch, Wanted},
        Deadline,
    },
    telemetry::{traces, Metrics},
    wire::{header_text, is_resend, trace_of, X_EVENT_ID, X_SOURCE},
};
use lapin::message::Delivery;
use reqwest::StatusCode;
use sqlx::PgPool;
use std::{sync::Arc, time::Duration};
use tracing::Instrument;

/// What a notification's lease adds to its POST's timeout.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// The first pause before recording deliveries again, doubled up to [`MOST_RECORD_PAUSE`].
const FIRST_RECORD_PAUSE: Duration = Duration::from_millis(250);
const MOST_RECORD_PAUSE: Duration = Duration::from_secs(4);

pub struct HttpNotifier {
    pub subscriber: String,
    url: String,
    signer: StandardWebhooks,
    client: reqwest::Client,
    pool: PgPool,
    deadline: Deadline,
    metrics: Arc<Metrics>,
    /// How long a claimed notification stays ours: the POST's timeout and a margin, so a
    /// lease outlives any POST that holds it.
    lease: Duration,
}

impl HttpNotifier {
    pub fn new(
        subscriber: &SubscriberConfig,
        pool: PgPool,
        deadline: Deadline,
        metrics: Arc<Metrics>,
    ) -> Result<HttpNotifier, String> {
        let signer = StandardWebhooks::new(std::slice::from_ref(&subscriber.secret), None)?;
        // A redirect is answered like any other non-2xx: following it would send the signed
        // notification to wherever the subscriber's server points (SPEC 4).
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(subscriber.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HttpNotifier {
            subscriber: subscriber.name.clone(),
            url: subscriber.url.clone(),
            signer,
            client,
            pool,
            deadline,
            metrics,
            lease: Duration::from_millis(subscriber.timeout_ms) + LEASE_MARGIN,
        })
    }
}

/// 2xx is delivered; 408, 429 and 5xx are worth retrying; any other answer will not change.
pub fn classify(status: StatusCode) -> Result<(), Failure> {
    if status.is_success() {
        Ok(())
    } else if status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        Err(Failure::Transient(format!("subscriber answered {status}")))
    } else {
        Err(Failure::Permanent(format!("subscriber answered {status}")))
    }
}

impl Handler for HttpNotifier {
    /// POSTs each notification the subscriber does not have yet, at most once at a time across
    /// every worker (a lease, claimed and committed before the POSTs, so no connection is
    /// held while they run), and records those it took. Copies already delivered are
    /// acknowledged, unless an operator resent them.
    async fn handle(&self, deliveries: &[Delivery]) -> Vec<Result<(), Failure>> {
        let ids: Vec<Option<String>> = deliveries
            .iter()
            .map(|d| d.properties.message_id().as_ref().map(|id| id.to_string()))
            .collect();
        // Copies of one notification in the same batch share the first copy's outcome; it
        // is POSTed again if any copy was resent.
        let mut distinct: Vec<(&str, &Delivery)> = Vec::new();
        let mut wanted: Vec<Wanted> = Vec::new();
        for (delivery, id) in deliveries.iter().zip(&ids) {
            let Some(id) = id else { continue };
            let again = is_resend(&delivery.properties);
            match wanted.iter_mut().find(|w| w.id == id) {
                Some(first) => first.again |= again,
                None => {
                    distinct.push((id, delivery));
                    wanted.push(Wanted { id, again });
                }
            }
        }
        let keys: Vec<&str> = wanted.iter().map(|w| w.id).collect();
        let claimed = claim(&self.pool, &self.subscriber, &wanted, self.lease);
        let claimed = self.deadline.on(claimed);
        let (batch, claims) = match claimed.await {
            Ok(claimed) => claimed,
            Err(error) => {
                let failure = Failure::Transient(format!("database unavailable: {error}"));
                return vec![Err(failure); deliveries.len()];
            }
        };
        let posts = distinct
            .iter()
            .zip(&claims)
            .map(|((id, delivery), held)| async move {
                match held {
                    Claim::Delivered => Ok(()),
                    Claim::Busy => Err(Failure::Deferred(
                        "another worker is delivering this notification".into(),
                    )),
                    Claim::Held => self.post(id, delivery).await,
                }
            });
        let outcomes = futures_util::future::join_all(posts).await;
        let taken: Vec<&str> = keys
            .iter()
            .zip(claims.iter().zip(&outcomes))
            .filter(|(_, (held, outcome))| **held == Claim::Held && outcome.is_ok())
            .map(|(id, _)| *id)
            .collect();
        self.record(&batch, &taken).await;
        ids.iter()
            .map(|id| match id {
                None => Err(Failure::Permanent("notification has no message id".into())),
                Some(id) => keys
                    .iter()
                    .position(|key| key == id)
                    .map_or(Ok(()), |first| outcomes[first].clone()),
            })
            .collect()
    }

    async fn dead_lettered(&self, delivery: &Delivery, error: &str) {
        let headers = delivery.properties.headers().clone().unwrap_or_default();
        if let (Some(source), Some(event_id)) = (
            header_text(&headers, X_SOURCE),
            header_text(&headers, X_EVENT_ID),
        ) {
            let error = format!("notification to {}: {error}", self.subscriber);
            let at = (&self.pool, self.deadline);
            record_dead_letter(at, &source, &event_id, &error).await;
        }
    }
}

impl HttpNotifier {
    /// Records the deliveries, trying again while the leases hold: the POSTs happened, and a
    /// copy that comes after the leases with no record (the relay publishes again what it
    /// could not mark published) would be POSTed again. A database restart takes seconds; a
    /// lease, the POST's timeout and half a minute.
    async fn record(&self, batch: &ClaimedBatch, taken: &[&str]) {
        let mut pause = FIRST_RECORD_PAUSE;
        loop {
            let Err(error) = self.deadline.on(batch.record(&self.pool, taken)).await else {
                return;
            };
            self.metrics
                .delivery_record_failures
                .with_label_values(&[self.subscriber.as_str()])
                .inc();
            if batch.lease_left() <= pause {
                tracing::warn!(
                    subscriber = %self.subscriber, %error, deliveries = taken.len(),
                    "could not record deliveries before their leases ended; a copy that \
                     comes again may be POSTed again"
                );
                return;
            }
            tracing::info!(subscriber = %self.subscriber, %error, "recording deliveries again");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MOST_RECORD_PAUSE);
        }
    }

    /// POSTs under a `notify` span, a child of the notification's trace, whose context the
    /// subscriber gets as `traceparent` (SPEC 7).
    async fn post(&self, id: &str, delivery: &Delivery) -> Result<(), Failure> {
        let parent = trace_of(&delivery.properties);
        let span =
            tracing::info_span!("notify", subscriber = %self.subscriber, notification_id = %id);
        traces::follow(&span, parent.as_ref());
        let carried = traces::passed_on(&span, parent.as_ref());
        self.post_as(id, delivery, &carried).instrument(span).await
    }

    async fn post_as(
        &self,
        id: &str,
        delivery: &Delivery,
        carried: &TraceParent,
    ) -> Result<(), Failure> {
        let headers = self
            .signer
            .signature_headers(id, chrono::Utc::now(), &delivery.data)
            .ok_or_else(|| Failure::Permanent("subscriber has no secret".into()))?;
        let mut request = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header(TRACEPARENT, carried.header())
            .body(delivery.data.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let preview = read_preview(response).await;
                tracing::debug!(
                    subscriber = %self.subscriber, %status, bytes = preview.len(),
                    answer = %crate::catalogue::quote(&String::from_utf8_lossy(&preview)),
                    "subscriber answered"
                );
                classify(status)
            }
            Err(error) => Err(Failure::Transient(describe(&error))),
        }
    }
}

/// The most of an answer's body that is read: enough for the log, never stored.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The first [`MAX_ANSWER_BYTES`] of a response body; whatever is left is dropped with the
/// connection, so a subscriber cannot make the notifier read without end.
async fn read_preview(mut response: reqwest::Response) -> Vec<u8> {
    let mut preview = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ANSWER_BYTES - preview.len();
        preview.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if preview.len() == MAX_ANSWER_BYTES {
            break;
        }
    }
    preview
}

/// Why a POST failed, by kind only: reqwest's own text names the URL, which can carry a
/// credential or a token in its query, and this text is stored and published (SPEC 4).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "unreachable (connection failed)"
    } else if error.is_body() || error.is_decode() {
        "unreachable (the answer broke off)"
    } else if error.is_request() {
        "unreachable (the request failed)"
    } else {
        "unreachable"
    };
    format!("subscriber {kind}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_as_the_spec_says() {
        assert_eq!(classify(StatusCode::OK), Ok(()));
        assert_eq!(classify(StatusCode::NO_CONTENT), Ok(()));
        for transient in [500, 502, 503, 408, 429] {
            assert!(matches!(
                classify(StatusCode::from_u16(transient).unwrap()),
                Err(Failure::Transient(_))
            ));
        }
        for permanent in [400, 401, 404, 410, 422] {
            assert!(matches!(
                classify(StatusCode::from_u16(permanent).unwrap()),
                Err(Failure::Permanent(_))
            ));
        }
    }
}
