use clap::Parser;
use hookgate::{cli, settings::Settings, supervisor, telemetry};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The connection flags (which clap also fills from their variables) over the environment.
    let overrides = cli.connections.overrides();
    let lookup = |name: &str| {
        overrides
            .iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, value)| value.clone())
            .or_else(|| std::env::var(name).ok())
    };
    let config = match Settings::from_lookup(lookup) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("hookgate: configuration: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init_logging(config.log_format, cli.command.logging());
    supervisor::install_panic_hook();
    match cli::run(cli.command, &config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hookgate: {}", cli::explain(&error, &config).await);
            ExitCode::FAILURE
        }
    }
}
