//! The read API as tests call it.

use super::TestApp;
use hookgate::{
    catalogue::Family,
    store::object_money::{self, StoredMoney},
};
use serde_json::Value;

impl TestApp {
    /// `GET path` with the API token, which must answer 200 with JSON.
    pub async fn api_json(&self, path: &str) -> Value {
        let response = self.api(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// `GET /v1/objects/{family}/{id}`, which must answer 200.
    pub async fn object(&self, family: &str, id: &str) -> Value {
        self.api_json(&format!("/v1/objects/{family}/{id}")).await
    }

    /// `GET /v1/events/{id}`, which must answer 200.
    pub async fn event(&self, id: &str) -> Value {
        self.api_json(&format!("/v1/events/{id}")).await
    }

    /// The object's amounts as its read-model row keeps them.
    pub async fn money(&self, family: Family, id: &str) -> Vec<StoredMoney> {
        object_money::money_of(&self.pool, family, id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{id} has no row"))
    }

    /// The event's state as the event API gives it.
    pub async fn event_state(&self, id: &str) -> String {
        self.event(id).await["state"].as_str().unwrap().to_owned()
    }
}
