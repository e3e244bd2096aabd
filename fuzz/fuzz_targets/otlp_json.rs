//! The OTLP/JSON reader and the audit pipeline behind it, on arbitrary lines.
//!
//! Properties: decoding is deterministic and lower-cases ids; the fast scanner, whenever it
//! accepts a document, yields exactly the spans the serde_json decoder yields, and never
//! accepts what serde_json rejects; the actor-chain readers give what serde_json gives; every
//! record is written with the bytes serde_json writes for it; the pipeline never writes a
//! record for a span with an oversized attribute or with anything that looks like a token;
//! every oversized span is reported.
#![no_main]

use deputy_audit::otlp_json;
use deputy_audit::span::Span;
use deputy_audit::{Pipeline, chain_json, record_json};
use deputy_core::actor::{AssertedChain, ObservedDelegation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    scanner_agrees_with_serde(text);
    chains_agree_with_serde(text);
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
    let mut written = Vec::new();
    for record in &batch.records {
        written.clear();
        record_json::write_record(&mut written, record);
        assert_eq!(written, serde_json::to_vec(record).unwrap());
    }
    deputy_fuzz::check_batch(&spans, &batch);
});

/// Spans compared by their `Debug` text (which also tells `-0.0` from `0.0`).
fn spans_of<E>(
    decode: impl FnOnce(&mut dyn FnMut(&Span<'_>)) -> Result<(), E>,
) -> Result<Vec<String>, E> {
    let mut spans = Vec::new();
    decode(&mut |span| spans.push(format!("{span:?}")))?;
    Ok(spans)
}

fn scanner_agrees_with_serde(text: &str) {
    let fast = spans_of(|f| otlp_json::scan_each(text, f));
    let reference = spans_of(|f| otlp_json::decode_each(text, f));
    match (fast, reference) {
        (Ok(fast), Ok(reference)) => assert_eq!(fast, reference),
        (Ok(_), Err(e)) => panic!("the scanner accepted what serde_json rejects: {e}"),
        (Err(_), _) => {}
    }
}

fn chains_agree_with_serde(text: &str) {
    let asserted = serde_json::from_str::<AssertedChain>(text).map_err(|e| e.to_string());
    assert_eq!(chain_json::asserted_chain(text, None), asserted);
    if let Ok(AssertedChain {
        user: Some(user), ..
    }) = &asserted
    {
        assert_eq!(chain_json::asserted_chain(text, Some(user)), asserted);
    }
    let observed = serde_json::from_str::<ObservedDelegation>(text).map_err(|e| e.to_string());
    assert_eq!(chain_json::observed_delegation(text), observed);
}
