//! Properties shared by the fuzz targets in `fuzz_targets/`.

use deputy_audit::hygiene;
use deputy_audit::pipeline::{Batch, IngestError};
use deputy_audit::span::{AttrValue, Attribute, Span};
use deputy_core::audit::looks_like_secret;

/// What the audit pipeline may write for `spans`: no record for a span with an oversized
/// attribute or with anything that looks like a token, every oversized span reported, and
/// token material always found by the hygiene scan (whose cheap pre-check must never miss).
pub fn check_batch(spans: &[Span<'_>], batch: &Batch) {
    let oversized = spans
        .iter()
        .filter(|s| hygiene::oversized(s).is_some())
        .count();
    let writable = spans
        .iter()
        .filter(|s| hygiene::oversized(s).is_none() && !carries_secret(s))
        .count();
    assert!(
        batch.records.len() <= writable,
        "{} records from {writable} clean spans",
        batch.records.len()
    );
    let reported = batch
        .errors
        .iter()
        .filter(|e| matches!(e, IngestError::Oversized { .. }))
        .count();
    assert_eq!(reported, oversized);
    for span in spans.iter().filter(|s| hygiene::oversized(s).is_none()) {
        if carries_secret(span) {
            assert!(
                !hygiene::token_material(span, None).is_empty(),
                "token material not found"
            );
        }
    }
}

/// Whether any attribute name or text in the span, nested names and texts included, looks
/// like a token.
pub fn carries_secret(span: &Span<'_>) -> bool {
    let mut stack: Vec<&Attribute<'_>> = span.attributes.iter().collect();
    while let Some(attribute) = stack.pop() {
        if looks_like_secret(&attribute.key).is_some() {
            return true;
        }
        let mut values = vec![&attribute.value];
        while let Some(value) = values.pop() {
            match value {
                AttrValue::Str(text) | AttrValue::Bytes(text) => {
                    if looks_like_secret(text).is_some() {
                        return true;
                    }
                }
                AttrValue::Array(items) => values.extend(items),
                AttrValue::KvList(pairs) => stack.extend(pairs),
                AttrValue::Int(_)
                | AttrValue::Bool(_)
                | AttrValue::Double(_)
                | AttrValue::Empty => {}
            }
        }
    }
    false
}
