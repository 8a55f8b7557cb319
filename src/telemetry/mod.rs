//! Logs and metrics.

mod metrics;
pub mod traces;
mod upkeep;

pub use metrics::{KnownLabels, Metrics};
pub use upkeep::Upkeep;

use std::io::IsTerminal;
use tracing::Level;
use tracing_subscriber::{filter::Targets, fmt, prelude::*, EnvFilter, Layer, Registry};

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

/// Installs the global subscriber: text or JSON log lines on stderr, filtered by `RUST_LOG`
/// when set, in colour only on a terminal; for the service, with `export`'s endpoint, also
/// hookgate's own spans exported over OTLP (the returned [`traces::Exporter`] flushes them).
pub fn init_logging(
    format: LogFormat,
    logging: Logging,
    export: &traces::TraceExport,
) -> Option<traces::Exporter> {
    let default_level = match logging {
        Logging::Service => "info",
        Logging::Command => "warn",
    };
    let mut filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(default_level))
        // lapin logs a returned message with its whole body, resource and personal data
        // included; hookgate counts and logs returns itself, without the body. The
        // OpenTelemetry crates' own lines can name the collector's URL, credentials included.
        .add_directive(directive("lapin::returned_messages=off"));
    for quiet in [
        "opentelemetry",
        "opentelemetry_sdk",
        "opentelemetry_otlp",
        "opentelemetry_http",
    ] {
        filter = filter.add_directive(directive(&format!("{quiet}=off")));
    }
    if logging == Logging::Command {
        filter = filter.add_directive(directive("lapin=off"));
    }
    let lines: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Text => fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    let mut layers = vec![lines];
    let mut exporter = None;
    if logging == Logging::Service {
        if let Some((spans, flush)) = traces::configure::<Registry>(export) {
            // Only hookgate's own spans: what the libraries' spans hold is not ours to send.
            let own = Targets::new().with_target("hookgate", Level::INFO);
            layers.push(spans.with_filter(own).boxed());
            exporter = Some(flush);
        }
    }
    // A second call (tests start several apps in one process) keeps the first subscriber.
    drop(tracing_subscriber::registry().with(layers).try_init());
    exporter
}

fn directive(text: &str) -> tracing_subscriber::filter::Directive {
    text.parse().expect("valid directive")
}
