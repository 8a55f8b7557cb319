//! Logs and metrics.

mod metrics;
mod upkeep;

pub use metrics::{KnownLabels, Metrics};
pub use upkeep::Upkeep;

use std::io::IsTerminal;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// `HOOKGATE_LOG_FORMAT`: how log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Who logs: the service, or a command run by a person or a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logging {
    /// `run`, `serve`, `work`: their work at INFO.
    Service,
    /// Everything else: warnings and errors only. lapin's own error lines are off, since the
    /// command says what went wrong itself, in one line, without lapin's debug dump.
    Command,
}

/// Installs the global log subscriber: text or JSON lines on stderr, filtered by `RUST_LOG`
/// when set, in colour only on a terminal.
pub fn init_logging(format: LogFormat, logging: Logging) {
    let default_level = match logging {
        Logging::Service => "info",
        Logging::Command => "warn",
    };
    let mut filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(default_level))
        // lapin logs a returned message with its whole body, resource and personal data
        // included; hookgate counts and logs returns itself, without the body.
        .add_directive(
            "lapin::returned_messages=off"
                .parse()
                .expect("valid directive"),
        );
    if logging == Logging::Command {
        filter = filter.add_directive("lapin=off".parse().expect("valid directive"));
    }
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr),
            )
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
