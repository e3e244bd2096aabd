//! What one OTLP/HTTP request may cost the receiver, and how many may be decoded at once.
//! The reasons for each number are in `docs/adr/0012-audit-receiver-limits.md`.

use std::time::Duration;

use crate::otlp_proto::WireLimits;

/// The receiver's limits. Every request is checked against them before anything is decoded;
/// one that passes a limit is refused whole with `413 Payload Too Large` and a message that
/// names the limit.
///
/// ```
/// use deputy_audit::receiver::Limits;
/// let limits = Limits { max_spans: 1_000, ..Limits::default() };
/// assert_eq!(limits.max_body_bytes, 16 * 1024 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest body, both as sent and once gunzipped.
    pub max_body_bytes: usize,
    /// Most spans in one request.
    pub max_spans: usize,
    /// Most attribute values in one request: every `KeyValue` and every array element,
    /// however deeply nested.
    pub max_attributes: usize,
    /// Most bytes one decoded protobuf request may take in memory (estimated on the wire).
    pub max_decoded_bytes: usize,
    /// Most JSON values (`{`, `[` and `,` outside strings) in one JSON request.
    pub max_json_values: usize,
    /// Deepest nesting of protobuf messages.
    pub max_depth: u32,
    /// Requests read, gunzipped and decoded at the same time; the others wait for a turn.
    pub max_concurrent: usize,
    /// How long a request waits for a turn before `503 Service Unavailable` (with
    /// `Retry-After`, which OTLP exporters honour).
    pub queue_wait: Duration,
    /// How long reading one body may take before `408 Request Timeout`.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            max_spans: 16_384,
            max_attributes: 262_144,
            max_decoded_bytes: 64 * 1024 * 1024,
            max_json_values: 1 << 20,
            max_depth: 32,
            max_concurrent: 2,
            queue_wait: Duration::from_secs(5),
            body_timeout: Duration::from_secs(30),
        }
    }
}

impl Limits {
    /// The part of the limits the protobuf wire walk checks.
    pub(super) fn wire(&self) -> WireLimits {
        WireLimits {
            spans: self.max_spans,
            attributes: self.max_attributes,
            decoded_bytes: self.max_decoded_bytes,
            depth: self.max_depth,
        }
    }
}
