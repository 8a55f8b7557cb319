//! Traces (SPEC 7): one trace from a webhook to its notification. Each step (receive, store,
//! publish, project, notify) is a `tracing` span made a child of the `traceparent` the event
//! or notification carries, and passes its own on. With `HOOKGATE_OTLP_ENDPOINT` set, the
//! spans are exported over OTLP/HTTP by OpenTelemetry's batch processor, on a thread of its
//! own with a bounded queue (spans beyond it are dropped), so a slow or absent collector never
//! slows the pipeline. Sampling is decided by the trace id alone at
//! `HOOKGATE_TRACE_SAMPLE_RATIO`: a sender's sampled flag never forces it.

use crate::catalogue::TraceParent;
use opentelemetry::trace::{SamplingDecision, SpanKind, TraceContextExt, TraceId, TracerProvider};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{
    trace::{IdGenerator, RandomIdGenerator, Sampler, SdkTracerProvider, ShouldSample},
    Resource,
};
use std::{sync::OnceLock, time::Duration};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{registry::LookupSpan, Layer};

/// `HOOKGATE_OTLP_ENDPOINT` (unset: no export) and `HOOKGATE_TRACE_SAMPLE_RATIO`.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceExport {
    /// The collector's OTLP/HTTP base URL, e.g. `http://127.0.0.1:4318`.
    pub endpoint: Option<String>,
    pub sample_ratio: f64,
}

impl Default for TraceExport {
    fn default() -> Self {
        TraceExport {
            endpoint: None,
            sample_ratio: 1.0,
        }
    }
}

/// The process's ratio, set once at start; 1.0 until then (tests that start apps in-process).
static SAMPLE_RATIO: OnceLock<f64> = OnceLock::new();

/// How long one export may take; the batch processor's thread waits, nothing else does.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether this process samples `trace_id`: by the id alone, whatever a sender's flag said.
pub fn sampled(trace_id: TraceId) -> bool {
    let ratio = *SAMPLE_RATIO.get().unwrap_or(&1.0);
    let result = Sampler::TraceIdRatioBased(ratio).should_sample(
        None,
        trace_id,
        "",
        &SpanKind::Internal,
        &[],
        &[],
    );
    result.decision == SamplingDecision::RecordAndSample
}

/// Makes `span` a child of `parent`; to be called before the span is first entered.
pub fn follow(span: &tracing::Span, parent: Option<&TraceParent>) {
    if let Some(parent) = parent {
        // Fails only where no span is exported (no layer, or the span filtered out).
        let _ = span.set_parent(parent.context());
    }
}

/// The `traceparent` a step passes on from `span`: the span's own when spans are exported;
/// otherwise a new span id in `parent`'s trace, or in a new trace.
pub fn passed_on(span: &tracing::Span, parent: Option<&TraceParent>) -> TraceParent {
    if let Some(own) = TraceParent::of(span.context().span().span_context()) {
        return own;
    }
    let ids = RandomIdGenerator::default();
    let trace_id = parent.map_or_else(|| ids.new_trace_id(), TraceParent::trace_id);
    TraceParent::new(trace_id, ids.new_span_id(), sampled(trace_id))
}

/// Adds each carried context to `span` as a link: a batch step (store, publish) serves many
/// traces at once.
pub fn link_all<'a>(span: &tracing::Span, carried: impl IntoIterator<Item = &'a TraceParent>) {
    for parent in carried {
        span.add_link(parent.span_context().clone());
    }
}

/// The tracer provider that exports, flushed by [`Exporter::shutdown`].
pub struct Exporter(SdkTracerProvider);

impl Exporter {
    /// Exports what is queued and stops; waits on this thread, outside the runtime's.
    pub fn shutdown(self) {
        tokio::task::block_in_place(|| drop(self.0.shutdown()));
    }
}

/// Sets the sampling ratio and, with an endpoint, builds the layer that exports spans.
pub(super) fn configure<S>(export: &TraceExport) -> Option<(impl Layer<S>, Exporter)>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    let _ = SAMPLE_RATIO.set(export.sample_ratio);
    let endpoint = export.endpoint.as_deref()?;
    let url = if endpoint.ends_with("/v1/traces") {
        endpoint.to_owned()
    } else {
        format!("{}/v1/traces", endpoint.trim_end_matches('/'))
    };
    // The blocking HTTP client runs on the batch processor's thread; it is built (and later
    // dropped) where blocking is allowed.
    let built = tokio::task::block_in_place(|| {
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(url)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
    });
    let exporter = match built {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!("hookgate: traces are not exported: {error}");
            return None;
        }
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::TraceIdRatioBased(export.sample_ratio))
        .with_resource(Resource::builder().with_service_name("hookgate").build())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("hookgate"));
    Some((layer, Exporter(provider)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_span_exported_the_trace_goes_on_under_a_new_span_id() {
        let parent =
            TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").unwrap();
        let span = tracing::info_span!("step");
        follow(&span, Some(&parent));
        let next = passed_on(&span, Some(&parent));
        assert_eq!(next.trace_id(), parent.trace_id());
        assert_ne!(
            next.span_context().span_id(),
            parent.span_context().span_id()
        );
        assert!(
            next.is_sampled(),
            "at the default ratio 1.0, whatever the sender said"
        );
        let fresh = passed_on(&span, None);
        assert_ne!(fresh.trace_id(), parent.trace_id());
    }
}
