use clap::Parser;
use hookgate::{cli, supervisor, telemetry};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let settings = cli.connections.settings(|name| std::env::var(name).ok());
    if let cli::args::Command::Config {
        command: cli::args::ConfigCommand::Check { json },
    } = cli.command
    {
        return cli::config::check(settings.as_ref(), json);
    }
    let config = match settings {
        Ok(config) => config,
        Err(error) => {
            eprintln!("hookgate: configuration: {error}");
            return ExitCode::from(2);
        }
    };
    let exporter =
        telemetry::init_logging(config.log_format, cli.command.logging(), &config.traces);
    for warning in &config.warnings {
        tracing::warn!("configuration: {warning}");
    }
    supervisor::install_panic_hook();
    let outcome = match cli::run(cli.command, &config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hookgate: {}", cli::explain(&error, &config).await);
            ExitCode::FAILURE
        }
    };
    if let Some(exporter) = exporter {
        exporter.shutdown();
    }
    outcome
}
