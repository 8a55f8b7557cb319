use anyhow::Context;
use clap::Parser;
use hookgate::{cli, config::Config, supervisor, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    let config = Config::from_env().context("configuration")?;
    telemetry::init_logging(config.log_format);
    supervisor::install_panic_hook();
    cli::run(cli.command, &config).await
}
