use anyhow::Context;
use clap::{ArgGroup, Args, Parser, Subcommand};
use hookgate::{
    app::{App, Roles, StartOptions},
    bench::load::LoadPlan,
    cli::{
        self,
        bench::BenchArgs,
        ops::{self, ReplayArgs},
        sign::{self, SignInput},
    },
    config::Config,
    ops::dlq::Selector,
    store, telemetry,
};
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "hookgate",
    version,
    about = "Signed payment-platform webhooks, verified, stored and relayed"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every role in one process: the local default.
    Run {
        #[arg(long)]
        no_migrate: bool,
    },
    /// The receiver and the event relay.
    Serve {
        #[arg(long)]
        no_migrate: bool,
    },
    /// The read-model worker, the notification relay and the HTTP notifiers.
    Work {
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Inspect, replay or purge the dead-letter queue.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Re-publish archived events that are not processed yet to the read-model queue.
    Replay {
        /// Received at or after (ISO-8601 or Unix milliseconds).
        #[arg(long)]
        since: Option<String>,
        /// Received before.
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        family: Option<String>,
        #[arg(long = "event-id")]
        event_ids: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Clear the projections and re-project every processed event in order of occurrence,
    /// without notifying again.
    Rebuild {
        #[arg(long)]
        family: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Recompute every object's state from the archive and compare it with the read model;
    /// exits non-zero when they differ. `--repair` puts each difference right.
    Verify {
        #[arg(long)]
        family: Option<String>,
        #[arg(long)]
        repair: bool,
        #[arg(long)]
        json: bool,
    },
    /// Inbox totals, outbox backlogs, queue depths and the last processed event.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Signed load generator: accept rate and latency, and with --verify the end-to-end rate.
    Bench {
        /// Defaults to this service's webhook URL for the source.
        #[arg(long)]
        url: Option<String>,
        #[arg(long, default_value = "interlace")]
        source: String,
        /// Defaults to the source's first configured secret.
        #[arg(long)]
        secret: Option<String>,
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Requests per second; without it, as fast as the receiver answers.
        #[arg(long)]
        rate: Option<f64>,
        /// Seconds to run.
        #[arg(long)]
        duration: Option<f64>,
        /// Slots to send (an out-of-order slot sends two requests).
        #[arg(long)]
        count: Option<u64>,
        /// Share of requests re-sending an earlier event (0 to 1).
        #[arg(long, default_value_t = 0.0)]
        duplicates: f64,
        /// Share of slots sending a closed-before-pending pair (0 to 1).
        #[arg(long, default_value_t = 0.0)]
        out_of_order: f64,
        /// Wait until the read model holds every accepted event and report end to end.
        #[arg(long)]
        verify: bool,
        /// Seconds --verify waits at most.
        #[arg(long, default_value_t = 300)]
        verify_timeout: u64,
        #[arg(long)]
        json: bool,
    },
    /// Print a signed request for a resource or envelope file.
    Sign {
        #[command(flatten)]
        event: EventFile,
        /// Print `{"headers":{...},"body":"..."}` instead of the request text.
        #[arg(long)]
        json: bool,
    },
    /// Sign a resource or envelope file and POST it.
    Send {
        /// Defaults to this service's own webhook URL for the source.
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        event: EventFile,
    },
}

/// The event `sign` and `send` make: a file, and what to call it.
#[derive(Args)]
struct EventFile {
    #[arg(long, default_value = "interlace")]
    source: String,
    #[arg(long)]
    file: String,
    /// Required when the file is a bare resource.
    #[arg(long)]
    event_type: Option<String>,
    #[arg(long)]
    event_id: Option<String>,
}

impl EventFile {
    fn sign(&self, config: &Config) -> anyhow::Result<hookgate::signing::SignedRequest> {
        Ok(sign::sign(
            config,
            &SignInput {
                source: &self.source,
                file: &self.file,
                event_type: self.event_type.as_deref(),
                event_id: self.event_id.as_deref(),
            },
        )?)
    }
}

#[derive(Subcommand)]
enum DlqCommand {
    /// Dead letters: a table on a terminal, JSON otherwise.
    List {
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One dead letter with its headers, body and error.
    Show { event_id: String },
    /// Send dead letters back to the queue they failed in.
    Replay {
        #[command(flatten)]
        which: Which,
        /// Count what would be replayed and change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete every dead letter.
    Purge {
        /// Confirms that the dead letters are to be deleted for good.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args)]
#[command(group(ArgGroup::new("which").required(true).args(["event_ids", "event_type", "all"])))]
struct Which {
    #[arg(long = "event-id")]
    event_ids: Vec<String>,
    #[arg(long)]
    event_type: Option<String>,
    #[arg(long)]
    all: bool,
}

impl Which {
    fn selector(self) -> Selector {
        match (self.all, self.event_type) {
            (true, _) => Selector::All,
            (false, Some(event_type)) => Selector::EventType(event_type),
            (false, None) => Selector::EventIds(self.event_ids),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env().context("configuration")?;
    telemetry::init_logging(config.log_format);
    hookgate::supervisor::install_panic_hook();
    match cli.command {
        Command::Run { no_migrate } => serve(&config, Roles::ALL, no_migrate).await?,
        Command::Serve { no_migrate } => serve(&config, Roles::SERVE, no_migrate).await?,
        Command::Work { no_migrate } => serve(&config, Roles::WORK, no_migrate).await?,
        Command::Dlq { command } => match command {
            DlqCommand::List { limit, json } => ops::dlq_list(&config, limit, json).await?,
            DlqCommand::Show { event_id } => ops::dlq_show(&config, &event_id).await?,
            DlqCommand::Replay {
                which,
                dry_run,
                json,
            } => ops::dlq_replay(&config, which.selector(), dry_run, json).await?,
            DlqCommand::Purge { yes } => ops::dlq_purge(&config, yes).await?,
        },
        Command::Replay {
            since,
            until,
            family,
            event_ids,
            json,
        } => {
            let args = ReplayArgs {
                since,
                until,
                family,
                event_ids,
            };
            ops::replay(&config, args, json).await?
        }
        Command::Rebuild { family, json } => ops::rebuild(&config, family, json).await?,
        Command::Verify {
            family,
            repair,
            json,
        } => ops::verify(&config, family, repair, json).await?,
        Command::Status { json } => ops::status(&config, json).await?,
        Command::Bench {
            url,
            source,
            secret,
            connections,
            rate,
            duration,
            count,
            duplicates,
            out_of_order,
            verify,
            verify_timeout,
            json,
        } => {
            let duration = match (duration, count) {
                (None, None) => Some(Duration::from_secs(10)),
                (d, _) => d.map(Duration::from_secs_f64),
            };
            let plan = LoadPlan {
                url: String::new(),
                secret: secret.unwrap_or_default(),
                connections,
                rate,
                duration,
                count,
                duplicates,
                out_of_order,
            };
            let args = BenchArgs {
                url,
                source,
                plan,
                verify,
                verify_timeout: Duration::from_secs(verify_timeout),
                json,
            };
            cli::bench::bench(&config, args).await?
        }
        Command::Migrate => {
            let pool = store::pool(&config.database_url, config.database_timeout)?;
            store::migrate(&pool).await?;
            println!("migrations applied");
        }
        Command::Sign { event, json } => {
            let request = event.sign(&config)?;
            if json {
                let headers: serde_json::Map<String, serde_json::Value> = request
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({"headers": headers, "body": request.body})
                );
            } else {
                print!(
                    "{}",
                    sign::render(&format!("/webhooks/{}", event.source), &request)
                );
            }
        }
        Command::Send { url, event } => {
            let request = event.sign(&config)?;
            let url = url
                .unwrap_or_else(|| format!("http://{}/webhooks/{}", config.listen, event.source));
            let mut post = reqwest::Client::new().post(&url).body(request.body);
            for (name, value) in &request.headers {
                post = post.header(name, value);
            }
            let response = post.send().await.with_context(|| format!("POST {url}"))?;
            let status = response.status();
            println!("{} {}", status.as_u16(), response.text().await?);
            anyhow::ensure!(status.is_success(), "the receiver refused the webhook");
        }
    }
    Ok(())
}

async fn serve(config: &Config, roles: Roles, no_migrate: bool) -> anyhow::Result<()> {
    let options = StartOptions {
        migrate: !no_migrate,
        roles,
    };
    App::build(config, options)
        .await?
        .run(shutdown_signal())
        .await?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
