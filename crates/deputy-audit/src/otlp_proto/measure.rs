//! Measures an OTLP/protobuf `ExportTraceServiceRequest` on the wire, before it is decoded:
//! how many spans and attribute values it holds and about how many bytes decoding it would
//! allocate. Nothing is allocated; the walk stops at the first limit passed.
//!
//! An empty span is two bytes on the wire and a few hundred once decoded, so the body size
//! alone does not bound what decoding costs; this walk does.

use std::mem::size_of;

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};

/// How far a request may go before it is refused undecoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireLimits {
    /// Spans in the request.
    pub spans: usize,
    /// Attribute values: every `KeyValue` (of spans, events, links, scopes, resources) and
    /// every element of an array value, however deeply nested.
    pub attributes: usize,
    /// Bytes the decoded request would take (each message's in-memory size plus its strings).
    pub decoded_bytes: usize,
    /// Messages nested within messages.
    pub depth: u32,
}

/// Which limit a request passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OverLimit {
    /// More spans than [`WireLimits::spans`].
    #[error("the request holds more than {0} spans")]
    Spans(usize),
    /// More attribute values than [`WireLimits::attributes`].
    #[error("the request holds more than {0} attribute values")]
    Attributes(usize),
    /// More decoded bytes than [`WireLimits::decoded_bytes`].
    #[error("the request would take more than {0} bytes once decoded")]
    DecodedBytes(usize),
    /// Nested deeper than [`WireLimits::depth`].
    #[error("the request nests messages more than {0} deep")]
    Depth(u32),
}

/// Checks a protobuf body against `limits` without decoding it. A body that is not valid
/// protobuf passes as far as it is readable: decoding it then fails, having allocated no
/// more than the part that was measured.
///
/// ```
/// use deputy_audit::otlp_proto::{WireLimits, OverLimit, check_limits};
/// let limits = WireLimits { spans: 2, attributes: 10, decoded_bytes: 1 << 20, depth: 16 };
/// // resource_spans { scope_spans { spans: three empty spans } }
/// let body = [0x0a, 0x08, 0x12, 0x06, 0x12, 0x00, 0x12, 0x00, 0x12, 0x00];
/// assert_eq!(check_limits(&body, &limits), Err(OverLimit::Spans(2)));
/// assert_eq!(check_limits(&body[..8], &limits), Ok(()));
/// ```
pub fn check_limits(body: &[u8], limits: &WireLimits) -> Result<(), OverLimit> {
    let mut tally = Tally {
        limits,
        spans: 0,
        attributes: 0,
        bytes: 0,
    };
    tally.message(body, Kind::Request, 0)
}

/// The messages of an `ExportTraceServiceRequest` that decoding allocates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Request,
    ResourceSpans,
    Resource,
    EntityRef,
    ScopeSpans,
    Scope,
    Span,
    Event,
    Link,
    Status,
    KeyValue,
    AnyValue,
    ArrayValue,
    KvList,
}

impl Kind {
    /// The message a length-delimited `field` holds, if it is one (else a string or bytes).
    fn child(self, field: u64) -> Option<Kind> {
        Some(match (self, field) {
            (Kind::Request, 1) => Kind::ResourceSpans,
            (Kind::ResourceSpans, 1) => Kind::Resource,
            (Kind::ResourceSpans, 2) => Kind::ScopeSpans,
            (Kind::Resource, 1)
            | (Kind::Scope, 3)
            | (Kind::Span, 9)
            | (Kind::Event, 3)
            | (Kind::Link, 4)
            | (Kind::KvList, 1) => Kind::KeyValue,
            (Kind::Resource, 3) => Kind::EntityRef,
            (Kind::ScopeSpans, 1) => Kind::Scope,
            (Kind::ScopeSpans, 2) => Kind::Span,
            (Kind::Span, 11) => Kind::Event,
            (Kind::Span, 13) => Kind::Link,
            (Kind::Span, 15) => Kind::Status,
            (Kind::KeyValue, 2) | (Kind::ArrayValue, 1) => Kind::AnyValue,
            (Kind::AnyValue, 5) => Kind::ArrayValue,
            (Kind::AnyValue, 6) => Kind::KvList,
            _ => return None,
        })
    }

    /// The decoded message's size in memory, without what it points to.
    fn size(self) -> usize {
        match self {
            Kind::Request => 0,
            Kind::ResourceSpans => size_of::<ResourceSpans>(),
            Kind::Resource => size_of::<Resource>(),
            Kind::EntityRef => size_of::<EntityRef>(),
            Kind::ScopeSpans => size_of::<ScopeSpans>(),
            Kind::Scope => size_of::<InstrumentationScope>(),
            Kind::Span => size_of::<Span>(),
            Kind::Event => size_of::<span::Event>(),
            Kind::Link => size_of::<span::Link>(),
            Kind::Status => size_of::<Status>(),
            Kind::KeyValue => size_of::<KeyValue>(),
            Kind::AnyValue => size_of::<AnyValue>(),
            Kind::ArrayValue => size_of::<ArrayValue>(),
            Kind::KvList => size_of::<KeyValueList>(),
        }
    }
}

struct Tally<'l> {
    limits: &'l WireLimits,
    spans: usize,
    attributes: usize,
    bytes: usize,
}

impl Tally<'_> {
    fn message(&mut self, mut buf: &[u8], kind: Kind, depth: u32) -> Result<(), OverLimit> {
        if depth > self.limits.depth {
            return Err(OverLimit::Depth(self.limits.depth));
        }
        while !buf.is_empty() {
            let Some(key) = varint(&mut buf) else {
                return Ok(());
            };
            let (field, wire) = (key >> 3, key & 7);
            let skip = match wire {
                0 => {
                    if varint(&mut buf).is_none() {
                        return Ok(());
                    }
                    0
                }
                1 => 8,
                5 => 4,
                2 => {
                    let Some(len) = varint(&mut buf).and_then(|l| usize::try_from(l).ok()) else {
                        return Ok(());
                    };
                    let Some((content, rest)) = buf.split_at_checked(len) else {
                        return Ok(());
                    };
                    buf = rest;
                    match kind.child(field) {
                        Some(child) => {
                            self.count(child, kind)?;
                            self.message(content, child, depth + 1)?;
                        }
                        // A string or bytes: its content plus, when repeated, its header.
                        None => self.add_bytes(len + size_of::<String>())?,
                    }
                    0
                }
                // Groups (3, 4) and unknown wire types: decoding fails here.
                _ => return Ok(()),
            };
            match buf.get(skip..) {
                Some(rest) => buf = rest,
                None => return Ok(()),
            }
        }
        Ok(())
    }

    fn count(&mut self, kind: Kind, parent: Kind) -> Result<(), OverLimit> {
        match kind {
            Kind::Span => {
                self.spans += 1;
                if self.spans > self.limits.spans {
                    return Err(OverLimit::Spans(self.limits.spans));
                }
            }
            // An attribute's own value is part of it; an array's elements are values of their own.
            Kind::KeyValue | Kind::AnyValue
                if kind == Kind::KeyValue || parent == Kind::ArrayValue =>
            {
                self.attributes += 1;
                if self.attributes > self.limits.attributes {
                    return Err(OverLimit::Attributes(self.limits.attributes));
                }
            }
            _ => {}
        }
        // A repeated message also costs its slot in the vector, and vectors grow by doubling.
        self.add_bytes(kind.size() * 2)
    }

    fn add_bytes(&mut self, n: usize) -> Result<(), OverLimit> {
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes > self.limits.decoded_bytes {
            return Err(OverLimit::DecodedBytes(self.limits.decoded_bytes));
        }
        Ok(())
    }
}

/// Reads a base-128 varint, advancing `buf`; `None` when it is cut short or too long.
fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &byte) in buf.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *buf = &buf[i + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDE: WireLimits = WireLimits {
        spans: usize::MAX,
        attributes: usize::MAX,
        decoded_bytes: usize::MAX,
        depth: 64,
    };

    #[test]
    fn nested_array_values_count_as_attributes_and_depth() {
        // KeyValue{value: AnyValue{array_value: {values: [AnyValue{}]}}} inside a span.
        let any = [0x0a, 0x00];
        let array = [&[0x2a, any.len() as u8][..], &any].concat();
        let kv = [&[0x12, array.len() as u8][..], &array].concat();
        let span = [&[0x4a, kv.len() as u8][..], &kv].concat();
        let scope = [&[0x12, span.len() as u8][..], &span].concat();
        let body = [
            &[0x0a, scope.len() as u8 + 2, 0x12, scope.len() as u8][..],
            &scope,
        ]
        .concat();
        assert_eq!(check_limits(&body, &WIDE), Ok(()));
        let one = WireLimits {
            attributes: 1,
            ..WIDE
        };
        assert_eq!(check_limits(&body, &one), Err(OverLimit::Attributes(1)));
        let shallow = WireLimits { depth: 5, ..WIDE };
        assert_eq!(check_limits(&body, &shallow), Err(OverLimit::Depth(5)));
    }

    #[test]
    fn truncated_or_odd_wire_data_stops_the_walk_without_panicking() {
        for body in [
            &[0xff][..],
            &[0x0a, 0x7f],
            &[0x0b],
            &[0x09, 1, 2],
            &[0x80; 12],
        ] {
            assert_eq!(check_limits(body, &WIDE), Ok(()));
        }
    }
}
