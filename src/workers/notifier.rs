//! The HTTP notifier: POSTs each notification to a subscriber, signed with Standard Webhooks.

use super::{consumer::Handler, read_model::record_dead_letter, Failure};
use crate::{
    settings::SubscriberConfig,
    signing::StandardWebhooks,
    wire::{header_text, X_EVENT_ID, X_SOURCE},
};
use lapin::message::Delivery;
use reqwest::StatusCode;
use sqlx::PgPool;
use std::time::Duration;

pub struct HttpNotifier {
    pub subscriber: String,
    url: String,
    signer: StandardWebhooks,
    client: reqwest::Client,
    pool: PgPool,
}

impl HttpNotifier {
    pub fn new(subscriber: &SubscriberConfig, pool: PgPool) -> Result<HttpNotifier, String> {
        let signer = StandardWebhooks::new(std::slice::from_ref(&subscriber.secret), None)?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(subscriber.timeout_ms))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HttpNotifier {
            subscriber: subscriber.name.clone(),
            url: subscriber.url.clone(),
            signer,
            client,
            pool,
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
    async fn handle(&self, deliveries: &[Delivery]) -> Vec<Result<(), Failure>> {
        futures_util::future::join_all(deliveries.iter().map(|d| self.post(d))).await
    }

    async fn dead_lettered(&self, delivery: &Delivery, error: &str) {
        let headers = delivery.properties.headers().clone().unwrap_or_default();
        if let (Some(source), Some(event_id)) = (
            header_text(&headers, X_SOURCE),
            header_text(&headers, X_EVENT_ID),
        ) {
            let error = format!("notification to {}: {error}", self.subscriber);
            record_dead_letter(&self.pool, &source, &event_id, &error).await;
        }
    }
}

impl HttpNotifier {
    async fn post(&self, delivery: &Delivery) -> Result<(), Failure> {
        let id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.to_string())
            .ok_or_else(|| Failure::Permanent("notification has no message id".into()))?;
        let headers = self
            .signer
            .signature_headers(&id, chrono::Utc::now(), &delivery.data)
            .ok_or_else(|| Failure::Permanent("subscriber has no secret".into()))?;
        let mut request = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .body(delivery.data.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => classify(response.status()),
            Err(error) if error.is_timeout() => {
                Err(Failure::Transient("subscriber timed out".into()))
            }
            Err(error) => Err(Failure::Transient(format!(
                "subscriber unreachable: {error}"
            ))),
        }
    }
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
