use clap::Parser;
use hookgate::{cli, settings::Settings, supervisor, telemetry};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let config = match Settings::from_env() {
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
