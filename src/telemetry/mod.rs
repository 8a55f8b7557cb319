//! Logs and metrics.

mod metrics;

pub use metrics::{KnownLabels, Metrics};

use crate::settings::LogFormat;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// Installs the global log subscriber: `RUST_LOG` filters (default `info`), text or JSON lines.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info"))
        // lapin logs a returned message with its whole body, resource and personal data
        // included; hookgate counts and logs returns itself, without the body.
        .add_directive(
            "lapin::returned_messages=off"
                .parse()
                .expect("valid directive"),
        );
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Text => registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    // A second call (tests start several apps in one process) keeps the first subscriber.
    drop(result);
}
