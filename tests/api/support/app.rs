//! The app under test: started in-process on port 0 against a database of its own.

use super::{fixtures::Fixture, fixtures::INTERLACE_SECRET, proxy::Proxy};
use hookgate::{
    app::{App, StartOptions},
    config::{Config, SourceConfig},
};
use reqwest::Url;
use sqlx::{Connection, PgConnection, PgPool};
use std::{collections::HashMap, net::SocketAddr};
use tokio::{sync::oneshot, task::JoinHandle};

pub struct TestOptions {
    pub interlace_secrets: String,
    pub extra_sources: Vec<SourceConfig>,
    pub env: Vec<(&'static str, String)>,
    /// Route the app's database connections through a proxy the test can cut.
    pub database_proxy: bool,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            interlace_secrets: INTERLACE_SECRET.into(),
            extra_sources: Vec::new(),
            env: Vec::new(),
            database_proxy: false,
        }
    }
}

pub struct TestApp {
    pub address: String,
    /// A direct connection to the test's database, not through any proxy.
    pub pool: PgPool,
    pub database_proxy: Option<Proxy>,
    client: reqwest::Client,
    database: String,
    admin_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

fn admin_url() -> String {
    std::env::var("HOOKGATE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://hookgate:hookgate@127.0.0.1:5432/postgres".into())
}

fn with_database(url: &str, database: &str, via: Option<SocketAddr>) -> String {
    let mut url = Url::parse(url).expect("HOOKGATE_TEST_DATABASE_URL is a URL");
    url.set_path(database);
    if let Some(via) = via {
        url.set_ip_host(via.ip()).unwrap();
        url.set_port(Some(via.port())).unwrap();
    }
    url.to_string()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestOptions::default()).await
}

pub async fn spawn_app_with(options: TestOptions) -> TestApp {
    let admin_url = admin_url();
    let database = format!("hookgate_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("test database server (run deploy/services.sh)");
    sqlx::query(&format!(r#"CREATE DATABASE "{database}""#))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();

    let direct_url = with_database(&admin_url, &database, None);
    let database_proxy = if options.database_proxy {
        let url = Url::parse(&admin_url).unwrap();
        let target = tokio::net::lookup_host((url.host_str().unwrap(), url.port().unwrap_or(5432)))
            .await
            .unwrap()
            .next()
            .unwrap();
        Some(Proxy::start(target).await)
    } else {
        None
    };
    let app_url = with_database(
        &admin_url,
        &database,
        database_proxy.as_ref().map(Proxy::address),
    );

    let mut env: HashMap<&str, String> = HashMap::from([
        ("HOOKGATE_DATABASE_URL", app_url),
        ("HOOKGATE_LISTEN", "127.0.0.1:0".into()),
        ("HOOKGATE_INTERLACE_SECRETS", options.interlace_secrets),
        ("HOOKGATE_DATABASE_TIMEOUT_MS", "1500".into()),
    ]);
    env.extend(options.env);
    let mut config = Config::from_lookup(|name| env.get(name).cloned()).unwrap();
    config.sources.extend(options.extra_sources);

    let app = App::build(&config, StartOptions::default())
        .await
        .expect("app starts");
    let address = format!("http://{}", app.address());
    let (shutdown, signal) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async move {
        let _ = signal.await;
    }));
    TestApp {
        address,
        pool: PgPool::connect(&direct_url).await.unwrap(),
        database_proxy,
        client: reqwest::Client::new(),
        database,
        admin_url,
        shutdown: Some(shutdown),
        server: Some(server),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_webhook(
        &self,
        source: &str,
        headers: &[(String, String)],
        body: impl Into<reqwest::Body>,
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

    /// Posts a fixture exactly as the platform would.
    pub async fn post_fixture(&self, fixture: &Fixture) -> reqwest::Response {
        let mut headers: Vec<(String, String)> = fixture.headers.clone().into_iter().collect();
        headers.push(("Content-Type".into(), "application/json".into()));
        self.post_webhook("interlace", &headers, fixture.body.clone())
            .await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn inbox_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM inbox_events")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    pub fn begin_shutdown(&mut self) -> JoinHandle<std::io::Result<()>> {
        let _ = self.shutdown.take().map(|s| s.send(()));
        self.server.take().expect("server running")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let admin_url = self.admin_url.clone();
        let database = self.database.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with its own
        // runtime removes the database so nothing is left behind.
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                        let _ = sqlx::query(&format!(
                            r#"DROP DATABASE IF EXISTS "{database}" WITH (FORCE)"#
                        ))
                        .execute(&mut admin)
                        .await;
                    }
                });
        })
        .join()
        .unwrap();
    }
}
