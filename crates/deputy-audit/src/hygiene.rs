//! Token material and oversized values in span attributes.

use deputy_core::attr;
use deputy_core::audit::{SecretShape, looks_like_secret, looks_like_token_shape};

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

/// Whether `text` could hold anything [`looks_like_secret`] recognises. Cheaper than the full
/// check, and never says no when the full check would say yes:
///
/// - a GitHub token starts `gh` + one of `pousr` + `_`, or `github_pat_`;
/// - a JWT starts `eyJ`;
/// - an AWS access key id starts `AKIA` or `ASIA`;
/// - long base64, and every Slack (`xox?-`) or Linear (`lin_api_`) token, is a run of at
///   least 40 characters of `[A-Za-z0-9+/_-]`. Any such run covers
///   a byte whose index is 39 modulo 40, so only those bytes are looked at, and the run is
///   measured around a byte only when that byte could be part of one.
fn may_hold_secret(text: &str) -> bool {
    const RUN: usize = 40;
    let bytes = text.as_bytes();
    let mut probe = RUN - 1;
    while probe < bytes.len() {
        if is_base64ish(bytes[probe]) {
            let start = bytes[..probe]
                .iter()
                .rposition(|&b| !is_base64ish(b))
                .map_or(0, |i| i + 1);
            let end = bytes[probe..]
                .iter()
                .position(|&b| !is_base64ish(b))
                .map_or(bytes.len(), |i| probe + i);
            if end - start >= RUN {
                return true;
            }
            // The next run of 40 cannot start before `end`.
            probe = probe.max(end + RUN - 1);
        } else {
            probe += RUN;
        }
    }
    token_prefix(bytes)
}

fn is_base64ish(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// Whether a JWT's `eyJ`, a GitHub token prefix (`ghp_`, `gho_`, `ghs_`, `ghu_`, `ghr_`,
/// `github_pat_`) or the `AKI`/`ASI` of an AWS access key id occurs. Each of them holds a `J`,
/// a `_` or an `I` at a fixed place, bytes that are rare in ordinary values: eight bytes at a
/// time, only those bytes are looked at further, by matching the prefix that would end there.
fn token_prefix(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    // The high bit of each byte that is zero (and possibly of bytes above a zero byte, which
    // the caller checks anyway).
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let ends_a_prefix = |i: usize| match bytes[i] {
        b'J' => i >= 2 && &bytes[i - 2..i] == b"ey",
        b'I' => i >= 2 && matches!(bytes[i - 2..i], [b'A', b'K' | b'S']),
        _ => {
            (i >= 3
                && matches!(
                    bytes[i - 3..i],
                    [b'g', b'h', b'p' | b'o' | b's' | b'u' | b'r']
                ))
                || (i >= 6 && bytes[i - 6..].starts_with(b"github_pat_"))
        }
    };
    let word_at = |at: usize| {
        // A whole word where there is one (a fixed-size copy: no call), zero-padded at the end.
        let mut word = [0u8; 8];
        match bytes.get(at..at + 8) {
            Some(chunk) => word.copy_from_slice(chunk),
            None => {
                let tail = bytes.get(at..).unwrap_or_default();
                word[..tail.len()].copy_from_slice(tail);
            }
        }
        u64::from_le_bytes(word)
    };
    let mut at = 0;
    while at < bytes.len() {
        let word = word_at(at);
        let mut candidates = zero_bytes(word ^ (ONES * u64::from(b'J')))
            | zero_bytes(word ^ (ONES * u64::from(b'_')))
            | zero_bytes(word ^ (ONES * u64::from(b'I')));
        while candidates != 0 {
            let i = at + (candidates.trailing_zeros() / 8) as usize;
            if i < bytes.len() && matches!(bytes[i], b'J' | b'_' | b'I') && ends_a_prefix(i) {
                return true;
            }
            candidates &= candidates - 1;
        }
        at += 8;
    }
    false
}

/// Whether `key` is one of deputy's own attribute names ([`attr::ALL`]): none of them looks
/// like a token (tested), so their scan result is known without scanning.
fn is_deputy_attribute(key: &str) -> bool {
    matches!(
        key,
        attr::TASK_ID
            | attr::USER_ID
            | attr::REPO
            | attr::TRACE_ID
            | attr::SESSION_ID
            | attr::INTEGRATION
            | attr::OPERATION
            | attr::TRIGGER
            | attr::FLOW
            | attr::RULE_ID
            | attr::PROVIDER
            | attr::SOURCE
            | attr::CACHE
            | attr::TOKEN_FINGERPRINT
            | attr::TOKEN_EXPIRES_AT
            | attr::FALLBACK_REASON
            | attr::CONSENT
            | attr::ACTOR_CHAIN_ASSERTED
            | attr::ACTOR_CHAIN_OBSERVED
            | attr::ERROR_KIND
            | attr::ERROR_DETAIL
            | attr::VAULT_OPERATION
            | attr::VAULT_REQUEST_ID
            | attr::MCP_METHOD
            | attr::MCP_TOOL
            | attr::GATEWAY_TARGET
            | attr::GATEWAY_MODE
            | attr::CONSENT_CALLBACK
    )
}

/// Whether `key` is one of deputy's attributes whose values are identifiers or enumerations
/// (a repository, a task, a rule, a chain of ids, …): such a value may be a long mixed-case
/// word (`AcmeCorp/Kubernetes-Cluster-Provisioning-V2`), so it is checked for token shapes
/// only ([`looks_like_token_shape`]), not for long base64. Free text (`deputy.error.detail`,
/// `deputy.fallback_reason`) and every other attribute get the full check.
fn is_id_attribute(key: &str) -> bool {
    is_deputy_attribute(key) && !matches!(key, attr::ERROR_DETAIL | attr::FALLBACK_REASON)
}

/// The shape of token material in the value of attribute `key`, if any.
fn scan_value(key: &str, text: &str) -> Option<SecretShape> {
    if is_id_attribute(key) {
        if may_hold_secret(text) {
            looks_like_token_shape(text)
        } else {
            None
        }
    } else {
        scan(text)
    }
}

fn scan_key(key: &str) -> Option<SecretShape> {
    if is_deputy_attribute(key) {
        None
    } else {
        scan(key)
    }
}

fn scan(text: &str) -> Option<SecretShape> {
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
        let key_shape = scan_key(&attribute.key);
        let shape = key_shape.or_else(|| match &attribute.value {
            AttrValue::Str(text) | AttrValue::Bytes(text) => scan_value(&attribute.key, text),
            AttrValue::Int(_) | AttrValue::Bool(_) | AttrValue::Double(_) | AttrValue::Empty => {
                None
            }
            nested => nested
                .texts()
                .into_iter()
                .find_map(|text| scan_value(&attribute.key, text)),
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
            "AKIAIOSFODNN7EXAMPLE",
            "key=ASIAIOSFODNN7EXAMPLE.",
            "xoxb-1234567890123-1234567890123-TestOnlyNotRealAbCdEfGh",
            "lin_api_TestOnlyNotARealKeyAbCdEfGh0123456789abcd",
            "acme/ghp_TestOnlyNotARealToken0123",
            "",
        ];
        for sample in samples {
            if looks_like_secret(sample).is_some() {
                assert!(may_hold_secret(sample), "{sample}");
            }
            assert_eq!(scan(sample), looks_like_secret(sample), "{sample}");
        }
        assert!(!may_hold_secret("sha256:0123456789abcdef0123456789abcdef"));
        assert!(!may_hold_secret("github-interactive-write"));
    }

    #[test]
    fn deputy_attribute_names_are_known_and_never_look_like_tokens() {
        for key in attr::ALL {
            assert!(is_deputy_attribute(key), "{key}");
            assert_eq!(looks_like_secret(key), None, "{key}");
        }
        assert!(!is_deputy_attribute("ghp_0123456789abcdefABCDEF"));
        assert!(scan_key("ghp_0123456789abcdefABCDEF").is_some());
    }

    #[test]
    fn the_prefilter_finds_runs_and_prefixes_at_every_offset() {
        let run = "aB3".repeat(14); // 42 base64 characters, all three classes
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
        let gh = "ghs_0123456789abcdefXYZ";
        for secret in [
            run.as_str(),
            &run[..40],
            jwt,
            gh,
            "github_pat_11ABCDEFG0abcdefghijklmnop",
        ] {
            for pad in 0..90 {
                for filler in [" ", "a", ".", "+"] {
                    let text = format!("{}{secret} {}", filler.repeat(pad), filler.repeat(pad % 7));
                    if looks_like_secret(&text).is_some() {
                        assert!(may_hold_secret(&text), "{text}");
                    }
                    assert_eq!(scan(&text), looks_like_secret(&text), "{text}");
                }
            }
        }
        // 39 characters and a break, 39 more: no run of 40.
        let short = format!("{} {}", "aB3".repeat(13), "aB3".repeat(13));
        assert!(!may_hold_secret(&short));
    }

    #[test]
    fn the_prefix_check_finds_each_prefix_wherever_it_ends() {
        let naive = |text: &str| {
            [
                "eyJ",
                "ghp_",
                "gho_",
                "ghs_",
                "ghu_",
                "ghr_",
                "github_pat_",
                "AKI",
                "ASI",
            ]
            .iter()
            .any(|p| text.contains(p))
        };
        let prefixes = [
            "eyJ",
            "ghp_",
            "ghr_",
            "github_pat_",
            "gha_",
            "eyj",
            "github-pat_",
            "AKIA",
            "ASIA",
            "AXI",
        ];
        for prefix in prefixes {
            for pad in 0..20 {
                for filler in ["J", "_", "e", "g", "x", "ey", "gh", "I", "A", "AK"] {
                    for text in [
                        format!("{}{prefix}", filler.repeat(pad)),
                        format!("{}{prefix}{}", filler.repeat(pad), filler.repeat(pad % 9)),
                        format!("{}{}", filler.repeat(pad), &prefix[..prefix.len() - 1]),
                    ] {
                        assert_eq!(token_prefix(text.as_bytes()), naive(&text), "{text}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_token_used_as_a_name_inside_a_nested_list_is_found() {
        use crate::span::{AttrValue, Attribute, Span};
        let nested = AttrValue::KvList(vec![Attribute {
            key: "ghp_TestOnlyNestedNameNotARealToken00000".into(),
            value: AttrValue::Int(1),
        }]);
        let span = Span {
            trace_id: "t".into(),
            span_id: "s".into(),
            name: "deputy.resolve".into(),
            end_unix_nano: 0,
            attributes: vec![Attribute {
                key: "labels".into(),
                value: AttrValue::Array(vec![nested]),
            }],
        };
        let findings = token_material(&span, None);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].attribute.as_deref(), Some("labels"));
        assert!(!serde_json::to_string(&findings).unwrap().contains("ghp_"));
    }
}
