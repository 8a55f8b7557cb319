use anyhow::Context;
use clap::Parser;
use hookgate::{cli, settings::Settings, supervisor, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    let config = Settings::from_env().context("configuration")?;
    telemetry::init_logging(config.log_format);
    supervisor::install_panic_hook();
    cli::run(cli.command, &config).await
}
