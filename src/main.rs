use anyhow::Context;
use clap::{Parser, Subcommand};
use hookgate::{
    app::{App, Roles, StartOptions},
    cli::sign::{self, SignInput},
    config::Config,
    db, telemetry,
};

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
    /// Print a signed request for a resource or envelope file.
    Sign {
        #[arg(long, default_value = "interlace")]
        source: String,
        #[arg(long)]
        file: String,
        /// Required when the file is a bare resource.
        #[arg(long)]
        event_type: Option<String>,
        #[arg(long)]
        event_id: Option<String>,
        /// Print `{"headers":{...},"body":"..."}` instead of the request text.
        #[arg(long)]
        json: bool,
    },
    /// Sign a resource or envelope file and POST it.
    Send {
        /// Defaults to this service's own webhook URL for the source.
        #[arg(long)]
        url: Option<String>,
        #[arg(long, default_value = "interlace")]
        source: String,
        #[arg(long)]
        file: String,
        #[arg(long)]
        event_type: Option<String>,
        #[arg(long)]
        event_id: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env().context("configuration")?;
    telemetry::init_logging(config.log_format);
    match cli.command {
        Command::Run { no_migrate } => serve(&config, Roles::ALL, no_migrate).await?,
        Command::Serve { no_migrate } => serve(&config, Roles::SERVE, no_migrate).await?,
        Command::Work { no_migrate } => serve(&config, Roles::WORK, no_migrate).await?,
        Command::Migrate => {
            let pool = db::pool(&config.database_url, config.database_timeout)?;
            db::migrate(&pool).await?;
            println!("migrations applied");
        }
        Command::Sign {
            source,
            file,
            event_type,
            event_id,
            json,
        } => {
            let request = sign::sign(
                &config,
                &SignInput {
                    source: &source,
                    file: &file,
                    event_type: event_type.as_deref(),
                    event_id: event_id.as_deref(),
                },
            )?;
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
                print!("{}", sign::render(&format!("/webhooks/{source}"), &request));
            }
        }
        Command::Send {
            url,
            source,
            file,
            event_type,
            event_id,
        } => {
            let request = sign::sign(
                &config,
                &SignInput {
                    source: &source,
                    file: &file,
                    event_type: event_type.as_deref(),
                    event_id: event_id.as_deref(),
                },
            )?;
            let url = url.unwrap_or_else(|| format!("http://{}/webhooks/{source}", config.listen));
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
