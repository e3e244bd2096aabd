//! Token material and oversized values in span attributes.

use deputy_core::audit::looks_like_secret;

use crate::finding::{Finding, Rule, SpanRef};
use crate::span::{AttrValue, Span};

/// The largest attribute value (text bytes, nested values summed) the pipeline accepts.
/// deputy's own attributes are far smaller; the limit keeps one bad span from holding memory.
pub const MAX_ATTRIBUTE_BYTES: usize = 16 * 1024;

/// A span attribute over [`MAX_ATTRIBUTE_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "span {span_id} (trace {trace_id}): attribute `{key}` is {size} bytes, over the {MAX_ATTRIBUTE_BYTES}-byte limit; the span was skipped (drop or truncate it in the collector)"
)]
pub struct OversizedAttribute {
    /// The trace.
    pub trace_id: String,
    /// The span.
    pub span_id: String,
    /// The attribute name.
    pub key: String,
    /// Its size in bytes.
    pub size: usize,
}

/// The first attribute over [`MAX_ATTRIBUTE_BYTES`], if any.
pub fn oversized(span: &Span<'_>) -> Option<OversizedAttribute> {
    span.attributes.iter().find_map(|a| {
        let size = a.value.size() + a.key.len();
        (size > MAX_ATTRIBUTE_BYTES).then(|| OversizedAttribute {
            trace_id: span.trace_id.to_string(),
            span_id: span.span_id.to_string(),
            key: if scan(&a.key).is_some() {
                "(an attribute name that itself looks like a token)".to_owned()
            } else {
                a.key.chars().take(128).collect()
            },
            size,
        })
    })
}

/// Whether `text` could hold anything [`looks_like_secret`] recognises: a GitHub prefix needs
/// `gh`, a JWT needs `eyJ`, and long base64 needs a run of 40 base64 characters. Cheaper than
/// the full check, and never says no when the full check would say yes.
fn may_hold_secret(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < 40 {
        // Too short for a long base64 run: only the prefixes can match.
        return bytes
            .windows(2)
            .any(|w| w == b"gh" || (w == b"ey" && text.contains("eyJ")));
    }
    let mut run = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_') {
            run += 1;
            if run >= 40 {
                return true;
            }
        } else {
            run = 0;
        }
        match b {
            b'g' if bytes.get(i + 1) == Some(&b'h') => return true,
            b'e' if bytes.get(i + 1..i + 3) == Some(b"yJ") => return true,
            _ => {}
        }
    }
    false
}

fn scan(text: &str) -> Option<deputy_core::audit::SecretShape> {
    if may_hold_secret(text) {
        looks_like_secret(text)
    } else {
        None
    }
}

/// One [`Rule::TokenMaterial`] finding per attribute (name or value) that looks like a token.
/// The finding names the attribute and the shape, never the value.
///
/// ```
/// use deputy_audit::hygiene::token_material;
/// use deputy_audit::span::{AttrValue, Attribute, Span};
/// let span = Span { trace_id: "t".into(), span_id: "s".into(), name: "deputy.resolve".into(), end_unix_nano: 0,
///     attributes: vec![Attribute { key: "note".into(), value: AttrValue::Str("Bearer ghp_0123456789abcdefABCDEF".into()) }] };
/// let findings = token_material(&span, Some(3));
/// assert_eq!(findings[0].attribute.as_deref(), Some("note"));
/// assert!(!serde_json::to_string(&findings).unwrap().contains("ghp_"));
/// ```
pub fn token_material(span: &Span<'_>, line: Option<u64>) -> Vec<Finding> {
    let mut found = Vec::new();
    for attribute in &span.attributes {
        let key_shape = scan(&attribute.key);
        let shape = key_shape.or_else(|| match &attribute.value {
            AttrValue::Str(text) | AttrValue::Bytes(text) => scan(text),
            AttrValue::Int(_) | AttrValue::Bool(_) | AttrValue::Double(_) | AttrValue::Empty => {
                None
            }
            nested => nested.texts().into_iter().find_map(scan),
        });
        let Some(shape) = shape else { continue };
        let name: String = if scan(&span.name).is_some() {
            "(a span name that itself looks like a token)".to_owned()
        } else {
            span.name.chars().take(128).collect()
        };
        let key = if key_shape.is_some() {
            "(an attribute name that itself looks like a token)".to_owned()
        } else {
            attribute.key.to_string()
        };
        found.push(Finding {
            rule: Rule::TokenMaterial,
            message: format!(
                "attribute `{key}` of span {name} holds what looks like a {shape:?} token; the record was not written (fix the emitter and rotate the token)"
            ),
            record: None,
            span: Some(SpanRef {
                trace_id: span.trace_id.to_string(),
                span_id: span.span_id.to_string(),
                name,
                line,
            }),
            attribute: Some(key),
            shape: Some(shape),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefilter_never_hides_what_the_full_check_finds() {
        let samples = [
            "ghp_0123456789abcdefABCDEF",
            "x github_pat_11ABCDEFG0abcdefghijklmnop",
            "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln",
            "dGhpcyBpcyBhIHNlY3JldCB0b2tlbiB2YWx1ZSAxMjM0NQ==",
            "k=aB3aB3aB3aB3aB3aB3aB3aB3aB3aB3aB3aB3aB3aB3",
            "sha256:0123456789abcdef0123456789abcdef",
            "{\"user\":\"dev+alice\",\"agent\":\"deputy-agent\"}",
            "octo-org/infra",
            "",
        ];
        for sample in samples {
            if looks_like_secret(sample).is_some() {
                assert!(may_hold_secret(sample), "{sample}");
            }
            assert_eq!(scan(sample), looks_like_secret(sample), "{sample}");
        }
        assert!(!may_hold_secret("sha256:0123456789abcdef0123456789abcdef"));
    }
}
