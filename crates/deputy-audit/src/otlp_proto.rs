//! OTLP/protobuf decoding: the `ExportTraceServiceRequest` body of OTLP/HTTP with
//! `Content-Type: application/x-protobuf`.

use std::borrow::Cow;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;

use crate::span::{AttrValue, Attribute, Span};
pub use measure::{OverLimit, WireLimits, check_limits};

mod measure;

/// Why a body is not an OTLP/protobuf `ExportTraceServiceRequest`.
#[derive(Debug, thiserror::Error)]
#[error("not an OTLP/protobuf ExportTraceServiceRequest: {0}")]
pub struct ProtoDecodeError(#[from] prost::DecodeError);

/// Decodes an OTLP/protobuf `ExportTraceServiceRequest` into its spans.
///
/// ```
/// use prost::Message;
/// use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
/// let body = ExportTraceServiceRequest { resource_spans: vec![] }.encode_to_vec();
/// assert!(deputy_audit::otlp_proto::decode(&body).unwrap().is_empty());
/// assert!(deputy_audit::otlp_proto::decode(b"\xff\xff").is_err());
/// ```
pub fn decode(body: &[u8]) -> Result<Vec<Span<'static>>, ProtoDecodeError> {
    let request = ExportTraceServiceRequest::decode(body)?;
    Ok(request
        .resource_spans
        .into_iter()
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .map(|span| Span {
            trace_id: Cow::Owned(hex(&span.trace_id)),
            span_id: Cow::Owned(hex(&span.span_id)),
            name: Cow::Owned(span.name),
            end_unix_nano: span.end_time_unix_nano,
            attributes: span.attributes.into_iter().map(attribute).collect(),
        })
        .collect())
}

fn attribute(kv: KeyValue) -> Attribute<'static> {
    Attribute {
        key: Cow::Owned(kv.key),
        value: kv.value.map_or(AttrValue::Empty, value),
    }
}

fn value(any: AnyValue) -> AttrValue<'static> {
    match any.value {
        Some(any_value::Value::StringValue(s)) => AttrValue::Str(Cow::Owned(s)),
        Some(any_value::Value::BoolValue(b)) => AttrValue::Bool(b),
        Some(any_value::Value::IntValue(i)) => AttrValue::Int(i),
        Some(any_value::Value::DoubleValue(d)) => AttrValue::Double(d),
        Some(any_value::Value::ArrayValue(a)) => {
            AttrValue::Array(a.values.into_iter().map(value).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => {
            AttrValue::KvList(kv.values.into_iter().map(attribute).collect())
        }
        Some(any_value::Value::BytesValue(bytes)) => match String::from_utf8(bytes) {
            Ok(text) => AttrValue::Bytes(Cow::Owned(text)),
            Err(e) => AttrValue::Bytes(Cow::Owned(hex(e.as_bytes()))),
        },
        Some(any_value::Value::StringValueStrindex(_)) | None => AttrValue::Empty,
    }
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as ProtoSpan};

    use super::*;

    fn kv(key: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    #[test]
    fn decodes_ids_as_hex_and_every_value_kind() {
        let span = ProtoSpan {
            trace_id: vec![0xab; 16],
            span_id: vec![0x01; 8],
            name: "deputy.resolve".into(),
            end_time_unix_nano: 7,
            attributes: vec![
                kv("s", any_value::Value::StringValue("x".into())),
                kv("i", any_value::Value::IntValue(3)),
                kv("b", any_value::Value::BytesValue(b"ghp_inside".to_vec())),
                kv("r", any_value::Value::BytesValue(vec![0xff, 0x00])),
                kv(
                    "a",
                    any_value::Value::ArrayValue(ArrayValue {
                        values: vec![AnyValue {
                            value: Some(any_value::Value::StringValue("y".into())),
                        }],
                    }),
                ),
                kv(
                    "k",
                    any_value::Value::KvlistValue(KeyValueList {
                        values: vec![kv("n", any_value::Value::BoolValue(true))],
                    }),
                ),
            ],
            ..Default::default()
        };
        let body = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec();
        let spans = decode(&body).unwrap();
        assert_eq!(spans[0].trace_id, "ab".repeat(16));
        assert_eq!(spans[0].span_id, "01".repeat(8));
        assert_eq!(spans[0].end_unix_nano, 7);
        assert_eq!(spans[0].str_attr("s"), Some("x"));
        assert_eq!(spans[0].attr("i"), Some(&AttrValue::Int(3)));
        assert_eq!(spans[0].attr("b").unwrap().texts(), vec!["ghp_inside"]);
        assert_eq!(spans[0].attr("r").unwrap().texts(), vec!["ff00"]);
        assert_eq!(spans[0].attr("a").unwrap().texts(), vec!["y"]);
        assert!(matches!(spans[0].attr("k"), Some(AttrValue::KvList(l)) if l.len() == 1));
    }
}
