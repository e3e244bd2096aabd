//! The OTLP/protobuf decoder and the audit pipeline behind it, on arbitrary bodies.
//!
//! Properties: ids come out as lower-case hex of the bytes sent; the pipeline never writes a
//! record for an oversized or token-carrying span.
#![no_main]

use deputy_audit::Pipeline;
use deputy_audit::otlp_proto;
use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(spans) = otlp_proto::decode(data) else {
        assert!(ExportTraceServiceRequest::decode(data).is_err());
        return;
    };
    let request = ExportTraceServiceRequest::decode(data).unwrap();
    let raw: Vec<_> = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    assert_eq!(raw.len(), spans.len());
    for (span, raw) in spans.iter().zip(raw) {
        assert_eq!(span.trace_id.len(), raw.trace_id.len() * 2);
        assert!(
            span.trace_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(span.span_id.len(), raw.span_id.len() * 2);
        assert_eq!(span.attributes.len(), raw.attributes.len());
    }
    let mut pipeline = Pipeline::default();
    let batch = pipeline.spans(&spans, None);
    deputy_fuzz::check_batch(&spans, &batch);
});
