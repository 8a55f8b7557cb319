//! The app under test: started in-process on port 0 against a database of its own.

use super::{amqp, proxy::Proxy, TestOptions};
use hookgate::{
    app::{App, StartOptions},
    settings::Settings,
    supervisor::Supervisor,
};
use reqwest::Url;
use serde_json::Value;
use sqlx::{migrate::MigrateDatabase, PgPool, Postgres};
use std::time::Duration;
use std::{collections::HashMap, net::SocketAddr};
use tokio::{sync::oneshot, task::JoinHandle};

pub const API_TOKEN: &str = "test-api-token";

pub struct TestApp {
    pub address: String,
    /// The running app's supervisor, to run a task of the test's own under it.
    pub supervisor: Supervisor,
    /// A direct connection to the test's database, not through any proxy.
    pub pool: PgPool,
    pub database_proxy: Option<Proxy>,
    pub broker_proxy: Option<Proxy>,
    pub spare_broker_nodes: Vec<Proxy>,
    pub config: Settings,
    direct_url: String,
    pub(super) client: reqwest::Client,
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

/// An app with `vars` set in its environment.
pub async fn spawn_app_with_env(vars: &[(&'static str, &str)]) -> TestApp {
    spawn_app_with(TestOptions::with_env(vars)).await
}

pub async fn spawn_app_with(options: TestOptions) -> TestApp {
    // `TEST_LOG=1 cargo test ...` shows the apps' logs (filtered by RUST_LOG).
    if std::env::var_os("TEST_LOG").is_some() {
        hookgate::telemetry::init_logging(
            hookgate::telemetry::LogFormat::Text,
            hookgate::telemetry::Logging::Service,
            &Default::default(),
        );
    }
    let admin_url = admin_url();
    let database = format!("hookgate_test_{}", uuid::Uuid::new_v4().simple());
    let direct_url = with_database(&admin_url, &database, None);
    Postgres::create_database(&direct_url)
        .await
        .expect("test database server (run deploy/services.sh)");
    let database_proxy = match options.database_proxy {
        true => Some(Proxy::start(resolve(&admin_url, 5432).await).await),
        false => None,
    };
    let app_url = with_database(
        &admin_url,
        &database,
        database_proxy.as_ref().map(Proxy::address),
    );
    let broker_proxy = match options.broker_proxy {
        true => Some(Proxy::start(resolve(&amqp::url(), 5672).await).await),
        false => None,
    };
    let mut amqp_urls = vec![broker_proxy.as_ref().map_or_else(amqp::url, amqp_url_via)];
    let mut spare_broker_nodes = Vec::new();
    for _ in 0..options.spare_broker_nodes {
        let node = Proxy::start(resolve(&amqp::url(), 5672).await).await;
        amqp_urls.push(amqp_url_via(&node));
        spare_broker_nodes.push(node);
    }

    let mut env: HashMap<&str, String> = HashMap::from([
        ("HOOKGATE_DATABASE_URL", app_url),
        ("HOOKGATE_LISTEN", "127.0.0.1:0".into()),
        ("HOOKGATE_INTERLACE_SECRETS", options.interlace_secrets),
        ("HOOKGATE_DATABASE_TIMEOUT_MS", "1500".into()),
        ("HOOKGATE_AMQP_URL", amqp_urls.join(",")),
        (
            "HOOKGATE_AMQP_PREFIX",
            format!("hg_test_{}", uuid::Uuid::new_v4().simple()),
        ),
        ("HOOKGATE_SWEEP_INTERVAL_MS", "200".into()),
        ("HOOKGATE_API_TOKEN", API_TOKEN.into()),
        ("HOOKGATE_RETRY_TIERS", "200ms,400ms".into()),
    ]);
    env.extend(options.env);
    let mut config = Settings::from_lookup(|name| env.get(name).cloned()).unwrap();
    config.sources.extend(options.extra_sources);
    config.subscribers.extend(options.subscribers);

    let (address, shutdown, server, supervisor) = start(&config).await;
    TestApp {
        address,
        supervisor,
        pool: PgPool::connect(&direct_url).await.unwrap(),
        direct_url,
        database_proxy,
        broker_proxy,
        spare_broker_nodes,
        config,
        client: reqwest::Client::new(),
        shutdown: Some(shutdown),
        server: Some(server),
    }
}

/// The test broker's URL with `proxy` in place of its address.
fn amqp_url_via(proxy: &Proxy) -> String {
    let mut url = Url::parse(&amqp::url()).unwrap();
    url.set_ip_host(proxy.address().ip()).unwrap();
    url.set_port(Some(proxy.address().port())).unwrap();
    url.to_string()
}

async fn resolve(url: &str, default_port: u16) -> SocketAddr {
    let url = Url::parse(url).unwrap();
    let host = url.host_str().unwrap().to_owned();
    let mut found = tokio::net::lookup_host((host, url.port().unwrap_or(default_port)))
        .await
        .unwrap();
    found.next().unwrap()
}

type Server = JoinHandle<std::io::Result<()>>;

async fn start(config: &Settings) -> (String, oneshot::Sender<()>, Server, Supervisor) {
    start_with(config, StartOptions::default()).await
}

async fn start_with(
    config: &Settings,
    options: StartOptions,
) -> (String, oneshot::Sender<()>, Server, Supervisor) {
    let app = App::build(config, options).await.expect("app starts");
    let address = format!("http://{}", app.address());
    let supervisor = app.supervisor().clone();
    let (shutdown, signal) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async move {
        let _ = signal.await;
    }));
    (address, shutdown, server, supervisor)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Runs the `hookgate` binary against this app's database and broker prefix, as an
    /// operator would (never through the test's proxies).
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        self.cli_with_env(args, &[]).await
    }

    /// Runs a command with `overrides` on top of this app's environment.
    pub async fn cli_with_env(
        &self,
        args: &[&str],
        overrides: &[(&str, &str)],
    ) -> std::process::Output {
        self.command(args, overrides)
            .output()
            .await
            .expect("hookgate runs")
    }

    /// The hookgate binary with `args`, set up for this app's database, broker and prefix,
    /// with `overrides` on top.
    pub fn command(&self, args: &[&str], overrides: &[(&str, &str)]) -> tokio::process::Command {
        let tiers: Vec<&str> = self
            .config
            .broker
            .retry_tiers
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookgate"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOOKGATE_DATABASE_URL", &self.direct_url)
            .env("HOOKGATE_AMQP_URL", amqp::url())
            .env("HOOKGATE_AMQP_PREFIX", &self.config.broker.prefix)
            .env("HOOKGATE_RETRY_TIERS", tiers.join(","))
            .env("RUST_LOG", "warn");
        if !self.config.subscribers.is_empty() {
            command.env(
                "HOOKGATE_CONFIG",
                super::subscriber::config_file(&self.config),
            );
        }
        command.envs(overrides.iter().copied());
        command
    }

    /// Runs a command that must fail; what it said on stderr.
    pub async fn cli_refused(&self, args: &[&str]) -> String {
        let output = self.cli(args).await;
        assert!(!output.status.success(), "hookgate {args:?} succeeded");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// Runs a command that prints JSON and returns what it printed.
    pub async fn cli_json(&self, args: &[&str]) -> Value {
        let output = self.cli(args).await;
        assert!(
            output.status.success(),
            "hookgate {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "hookgate {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }

    /// A read-API request with the test token.
    pub async fn api(&self, path: &str) -> reqwest::Response {
        self.api_as(API_TOKEN, path).await
    }

    pub async fn api_as(&self, token: &str, path: &str) -> reqwest::Response {
        let request = self.client.get(self.url(path)).bearer_auth(token);
        request.send().await.expect("request sent")
    }

    pub async fn post_api(&self, path: &str, body: Value) -> reqwest::Response {
        self.post_api_as(API_TOKEN, path, body).await
    }

    pub async fn post_api_as(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        let request = self.client.post(self.url(path)).bearer_auth(token);
        request.json(&body).send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Stops this instance abruptly, as a crash would: nothing gets a chance to finish.
    pub fn kill(&mut self) {
        self.shutdown.take();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }

    /// Stops this instance as SIGTERM does: requests in flight finish, then the background
    /// tasks; what `App::run` returned.
    pub async fn stop(&mut self) -> std::io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let server = self.server.take().expect("the app is running");
        tokio::time::timeout(Duration::from_secs(120), server)
            .await
            .expect("the app stopped")
            .expect("the app did not panic")
    }

    /// Starts a new instance on the same database and broker prefix.
    pub async fn restart(&mut self) {
        self.restart_as(StartOptions::default()).await;
    }

    /// Starts a new instance on the same database and broker prefix with other roles.
    pub async fn restart_as(&mut self, options: StartOptions) {
        self.kill();
        let (address, shutdown, server, supervisor) = start_with(&self.config, options).await;
        self.address = address;
        self.supervisor = supervisor;
        self.shutdown = Some(shutdown);
        self.server = Some(server);
    }

    /// Starts another hookgate process on this app's database and broker prefix, as a second
    /// replica would run; it stops when dropped.
    pub async fn sibling(&self, options: StartOptions) -> Sibling {
        let (address, shutdown, server, _) = start_with(&self.config, options).await;
        Sibling {
            address,
            shutdown: Some(shutdown),
            server,
        }
    }

    /// Waits until `/healthz` reports the broker as `state` ("up" or "down").
    pub async fn wait_for_broker(&self, state: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ready: Value = self.get("/healthz").await.json().await.unwrap();
            if ready["broker"] == state {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "broker never became {state}: {ready}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn names(&self) -> hookgate::amqp::Names {
        hookgate::amqp::Topology::from_settings(&self.config).names
    }

    pub async fn metric(&self, line_start: &str) -> Option<f64> {
        let text = self.get("/metrics").await.text().await.unwrap();
        text.lines()
            .find(|line| line.starts_with(line_start))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
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
        if let Some(server) = self.server.take() {
            server.abort();
        }
        let database_url = self.direct_url.clone();
        let topology = hookgate::amqp::Topology::from_settings(&self.config);
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with its own
        // runtime removes the database so nothing is left behind.
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    amqp::remove(&topology.queues(), &topology.exchanges()).await;
                    let _ = Postgres::force_drop_database(&database_url).await;
                });
        })
        .join()
        .unwrap();
    }
}

/// A second process of the same app (see [`TestApp::sibling`]).
pub struct Sibling {
    pub address: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Server,
}

impl Drop for Sibling {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.server.abort();
    }
}
