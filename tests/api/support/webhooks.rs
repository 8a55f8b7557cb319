//! Posting webhooks as the platform would, and what the test expects of the answer.

use super::{fixtures::Fixture, fixtures::INTERLACE_SECRET, TestApp};
use reqwest::Body;
use serde_json::Value;

/// Asserts that `response` is the SPEC's error shape with the expected status and code.
pub async fn assert_error(response: reqwest::Response, (status, code): (u16, &str)) -> String {
    assert_eq!(response.status().as_u16(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str();
    message.expect("an error message").to_owned()
}

/// A request's headers as the signing helpers give them.
pub type Headers = [(String, String)];

impl TestApp {
    pub async fn post_webhook(
        &self,
        source: &str,
        headers: &Headers,
        body: impl Into<Body>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(&format!("/webhooks/{source}")))
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send().await.expect("request sent")
    }

    /// Posts a webhook that must be refused with `expected`'s status and error code, and
    /// checks that the refusal stored nothing.
    pub async fn refused(
        &self,
        source: &str,
        headers: &Headers,
        body: impl Into<Body>,
        expected: (u16, &str),
    ) {
        let stored_before = self.inbox_count().await;
        assert_error(self.post_webhook(source, headers, body).await, expected).await;
        assert_eq!(
            self.inbox_count().await,
            stored_before,
            "a refused webhook was stored"
        );
    }

    /// Posts `fixture` as the platform would, but to `source`, expecting it refused.
    pub async fn refused_fixture(&self, source: &str, fixture: &Fixture, expected: (u16, &str)) {
        let headers = fixture.json_headers();
        self.refused(source, &headers, fixture.body.clone(), expected)
            .await;
    }

    /// Signs `resource` as an Interlace event and posts it, expecting it accepted.
    pub async fn post_event(&self, id: &str, event_type: &str, resource: Value) {
        let (headers, body) =
            super::sign::interlace(INTERLACE_SECRET, id, event_type, &resource.to_string());
        self.accepted("interlace", &headers, body).await;
    }

    /// Posts a signed `TRANSFER.UPDATED` for `object_id`, expecting it accepted.
    pub async fn post_transfer(&self, event_id: &str, object_id: &str, status: &str, time: &str) {
        let resource = super::sign::transfer(object_id, status, time);
        self.post_event(event_id, "TRANSFER.UPDATED", resource)
            .await;
    }

    /// Posts a webhook, expecting it accepted (200), and returns the answer: the event is new
    /// unless it says `"duplicate": true`.
    pub async fn accepted(&self, source: &str, headers: &Headers, body: impl Into<Body>) -> Value {
        let response = self.post_webhook(source, headers, body).await;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).expect("JSON answer")
    }

    /// Posts a fixture exactly as the platform would.
    pub async fn post_fixture(&self, fixture: &Fixture) -> reqwest::Response {
        self.post_webhook("interlace", &fixture.json_headers(), fixture.body.clone())
            .await
    }
}
