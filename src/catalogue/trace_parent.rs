//! A W3C `traceparent` (SPEC 7): which trace an event belongs to and which span it came from.
//! A sender's header is unsigned, so it decides nothing but the trace id: it is read with
//! OpenTelemetry's own propagator, bounded, and never trusted for sampling.

use opentelemetry::{
    propagation::TextMapPropagator,
    trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState},
    Context,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::collections::HashMap;

/// The header's name, on HTTP requests and AMQP messages alike.
pub const TRACEPARENT: &str = "traceparent";

/// The longest header read: version 00 is 55 characters; a later version may add fields.
const MAX_LEN: usize = 128;

/// A valid span context, as the `traceparent` header carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent(SpanContext);

impl TraceParent {
    /// The header's value read, or `None` for anything the W3C format does not accept
    /// (all-zero ids included) or that is too long.
    pub fn parse(text: &str) -> Option<TraceParent> {
        if text.len() > MAX_LEN {
            return None;
        }
        let carrier = HashMap::from([(TRACEPARENT.to_owned(), text.to_owned())]);
        let context = TraceContextPropagator::new().extract(&carrier);
        let span = context.span().span_context().clone();
        span.is_valid().then_some(TraceParent(span))
    }

    /// A span of trace `trace_id`, sampled or not as this process decided.
    pub fn new(trace_id: TraceId, span_id: SpanId, sampled: bool) -> TraceParent {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        TraceParent(SpanContext::new(
            trace_id,
            span_id,
            flags,
            true,
            TraceState::default(),
        ))
    }

    /// A span context of this process's, once it is valid (`None` otherwise).
    pub fn of(span: &SpanContext) -> Option<TraceParent> {
        span.is_valid().then(|| {
            TraceParent(SpanContext::new(
                span.trace_id(),
                span.span_id(),
                span.trace_flags(),
                true,
                TraceState::default(),
            ))
        })
    }

    pub fn trace_id(&self) -> TraceId {
        self.0.trace_id()
    }

    pub fn is_sampled(&self) -> bool {
        self.0.is_sampled()
    }

    /// As a parent for a span of this process.
    pub fn context(&self) -> Context {
        Context::new().with_remote_span_context(self.0.clone())
    }

    pub fn span_context(&self) -> &SpanContext {
        &self.0
    }

    /// The header's value: `00-<trace id>-<span id>-<flags>`.
    pub fn header(&self) -> String {
        let mut carrier = HashMap::new();
        TraceContextPropagator::new().inject_context(&self.context(), &mut carrier);
        carrier.remove(TRACEPARENT).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_w3c_header_reads_back_as_written() {
        let parent = TraceParent::parse(SAMPLE).unwrap();
        assert_eq!(parent.header(), SAMPLE);
        assert!(parent.is_sampled());
        assert_eq!(
            parent.trace_id(),
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
        );
    }

    #[test]
    fn anything_else_is_not_a_traceparent() {
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "not a header",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
        }
        let long = format!(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-{}",
            "a".repeat(100)
        );
        assert_eq!(TraceParent::parse(&long), None);
    }

    proptest! {
        #[test]
        fn any_text_is_read_without_panicking_and_what_reads_writes_back(text in ".{0,80}") {
            if let Some(parent) = TraceParent::parse(&text) {
                prop_assert_eq!(TraceParent::parse(&parent.header()), Some(parent));
            }
        }
    }
}
