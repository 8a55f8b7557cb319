//! `hookgate run`, `serve` and `work`: the service itself, until Ctrl-C or SIGTERM.

use crate::{
    app::{App, Roles, StartOptions},
    settings::Settings,
};

pub async fn serve(config: &Settings, roles: Roles, no_migrate: bool) -> anyhow::Result<()> {
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
