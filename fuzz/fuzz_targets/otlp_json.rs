//! The OTLP/JSON reader and the audit pipeline behind it, on arbitrary lines.
//!
//! Properties: decoding is deterministic and lower-cases ids; the pipeline never writes a
//! record for a span with an oversized attribute or with anything that looks like a token;
//! every oversized span is reported.
#![no_main]

use deputy_audit::Pipeline;
use deputy_audit::otlp_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = otlp_json::decode(text);
    let mut pipeline = Pipeline::default();
    let batch = pipeline.json_line(1, text);
    let spans = match decoded {
        Ok(spans) => spans,
        Err(e) => {
            assert_eq!(e, otlp_json::decode(text).err().unwrap());
            assert!(text.trim().is_empty() || batch.errors.len() == 1);
            assert!(batch.records.is_empty());
            return;
        }
    };
    for span in &spans {
        assert!(!span.trace_id.bytes().any(|b| b.is_ascii_uppercase()));
        assert!(!span.span_id.bytes().any(|b| b.is_ascii_uppercase()));
    }
    deputy_fuzz::check_batch(&spans, &batch);
});
