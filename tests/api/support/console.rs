//! A console user for tests: a client that keeps its cookies and does not follow redirects,
//! so every 303 and every Set-Cookie can be checked.

use super::{TestApp, API_TOKEN};
use reqwest::{redirect::Policy, Client, StatusCode};

pub struct ConsoleUser {
    pub client: Client,
    base: String,
}

/// A page as the console answered it.
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    pub html: String,
}

impl Page {
    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let start = self
            .html
            .find(r#"name="csrf" value=""#)
            .unwrap_or_else(|| panic!("no csrf field in {}", self.html))
            + r#"name="csrf" value=""#.len();
        let end = self.html[start..].find('"').unwrap() + start;
        self.html[start..end].to_owned()
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|cookie| cookie.starts_with(&format!("{name}=")))
            .map(String::as_str)
    }

    /// Asserts that the page says `text`, showing the page when it does not.
    pub fn assert_shows(&self, text: &str) {
        assert!(self.html.contains(text), "{text:?} not in {}", self.html);
    }

    pub fn assert_redirect_to(&self, target: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.html);
        assert_eq!(self.location.as_deref(), Some(target));
    }
}

impl ConsoleUser {
    /// Someone with no session yet.
    pub fn new(app: &TestApp) -> ConsoleUser {
        ConsoleUser {
            client: Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: app.url(""),
        }
    }

    /// The same browser (its cookies) pointed at `app`, which runs on another address now.
    pub fn moved_to(self, app: &TestApp) -> ConsoleUser {
        ConsoleUser {
            base: app.url(""),
            ..self
        }
    }

    /// Signed in with the API token as `operator`.
    pub async fn signed_in(app: &TestApp, operator: &str) -> ConsoleUser {
        ConsoleUser::signed_in_with(app, operator, API_TOKEN).await
    }

    /// Signed in with `token` as `operator`.
    pub async fn signed_in_with(app: &TestApp, operator: &str, token: &str) -> ConsoleUser {
        let user = ConsoleUser::new(app);
        let form = user.get("/console").await;
        let answer = user
            .post(
                "/console/login",
                &[
                    ("token", token),
                    ("operator", operator),
                    ("csrf", &form.csrf()),
                ],
            )
            .await;
        answer.assert_redirect_to("/console/overview");
        user
    }

    pub async fn get(&self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        read(response).await
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap();
        read(response).await
    }
}

async fn read(response: reqwest::Response) -> Page {
    let header = |name: &str| {
        response
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let location = header("location").into_iter().next();
    let cookies = header("set-cookie");
    Page {
        status: response.status(),
        location,
        cookies,
        html: response.text().await.unwrap(),
    }
}

impl TestApp {
    /// Every audited action as (who, action, role), newest first.
    pub async fn audit_roles(&self) -> Vec<(String, String, Option<String>)> {
        let actions = hookgate::store::console::recent_actions(&self.pool, 1000).await;
        actions
            .unwrap()
            .into_iter()
            .map(|entry| (entry.operator, entry.action, entry.role))
            .collect()
    }

    /// How many of the audit log's entries by `operator` are one of `actions`.
    pub async fn audited(&self, operator: &str, actions: &[&str]) -> usize {
        hookgate::store::console::recent_actions(&self.pool, 1000)
            .await
            .unwrap()
            .iter()
            .filter(|entry| entry.operator == operator && actions.contains(&entry.action.as_str()))
            .count()
    }
}
