//! OTLP/JSON decoding: one `ExportTraceServiceRequest` per line, as an OpenTelemetry
//! Collector's file exporter writes them and as OTLP/HTTP carries them with
//! `Content-Type: application/json`.
//!
//! Strings borrow from the input when they contain no escapes, so reading a line allocates
//! little more than the span and attribute vectors.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::span::{AttrValue, Attribute, Span};

/// Why a JSON document is not an OTLP/JSON `ExportTraceServiceRequest`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line} column {column} (not an OTLP/JSON ExportTraceServiceRequest)")]
pub struct JsonDecodeError {
    /// What serde_json found wrong.
    pub message: String,
    /// 1-based line within the document.
    pub line: usize,
    /// 1-based column within that line.
    pub column: usize,
}

impl From<serde_json::Error> for JsonDecodeError {
    fn from(e: serde_json::Error) -> Self {
        let text = e.to_string();
        let message = match text.rfind(" at line ") {
            Some(at) => text[..at].to_owned(),
            None => text,
        };
        JsonDecodeError {
            message,
            line: e.line(),
            column: e.column(),
        }
    }
}

/// Decodes one OTLP/JSON `ExportTraceServiceRequest` into its spans.
///
/// ```
/// let line = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736",
///   "spanId":"00f067aa0ba902b7","name":"deputy.resolve","endTimeUnixNano":"1795000000000000000",
///   "attributes":[{"key":"task_id","value":{"stringValue":"t-1"}}]}]}]}]}"#;
/// let spans = deputy_audit::otlp_json::decode(line).unwrap();
/// assert_eq!(spans[0].str_attr("task_id"), Some("t-1"));
/// assert_eq!(spans[0].end_unix_nano, 1_795_000_000_000_000_000);
/// ```
pub fn decode(text: &str) -> Result<Vec<Span<'_>>, JsonDecodeError> {
    let request: Request<'_> = serde_json::from_str(text)?;
    Ok(request
        .resource_spans
        .into_iter()
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .map(JsonSpan::into_span)
        .collect())
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow, default, rename = "resourceSpans")]
    resource_spans: Vec<ResourceSpans<'a>>,
}

#[derive(Deserialize)]
struct ResourceSpans<'a> {
    #[serde(borrow, default, rename = "scopeSpans")]
    scope_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Deserialize)]
struct ScopeSpans<'a> {
    #[serde(borrow, default)]
    spans: Vec<JsonSpan<'a>>,
}

#[derive(Deserialize)]
struct JsonSpan<'a> {
    #[serde(borrow, default, rename = "traceId")]
    trace_id: BStr<'a>,
    #[serde(borrow, default, rename = "spanId")]
    span_id: BStr<'a>,
    #[serde(borrow, default)]
    name: BStr<'a>,
    #[serde(default, rename = "endTimeUnixNano")]
    end_unix_nano: JsonU64,
    #[serde(borrow, default)]
    attributes: Vec<JsonKeyValue<'a>>,
}

impl<'a> JsonSpan<'a> {
    fn into_span(self) -> Span<'a> {
        Span {
            trace_id: lower_hex(self.trace_id.0),
            span_id: lower_hex(self.span_id.0),
            name: self.name.0,
            end_unix_nano: self.end_unix_nano.0,
            attributes: self
                .attributes
                .into_iter()
                .map(JsonKeyValue::into_attribute)
                .collect(),
        }
    }
}

fn lower_hex(id: Cow<'_, str>) -> Cow<'_, str> {
    if id.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(id.to_ascii_lowercase())
    } else {
        id
    }
}

#[derive(Deserialize)]
struct JsonKeyValue<'a> {
    #[serde(borrow)]
    key: BStr<'a>,
    #[serde(borrow, default)]
    value: JsonValue<'a>,
}

impl<'a> JsonKeyValue<'a> {
    fn into_attribute(self) -> Attribute<'a> {
        Attribute {
            key: self.key.0,
            value: self.value.0,
        }
    }
}

/// An `AnyValue` object (`{"stringValue": …}`, `{"intValue": …}`, …) decoded straight into
/// an [`AttrValue`]; unknown members are skipped, an empty object is [`AttrValue::Empty`].
struct JsonValue<'a>(AttrValue<'a>);

impl Default for JsonValue<'_> {
    fn default() -> Self {
        JsonValue(AttrValue::Empty)
    }
}

#[derive(Deserialize)]
struct JsonArray<'a> {
    #[serde(borrow, default)]
    values: Vec<JsonValue<'a>>,
}

#[derive(Deserialize)]
struct JsonKvList<'a> {
    #[serde(borrow, default)]
    values: Vec<JsonKeyValue<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonValue<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = JsonValue<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OTLP AnyValue object")
            }
            fn visit_map<M: de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut value = AttrValue::Empty;
                while let Some(key) = map.next_key::<BStr<'de>>()? {
                    value = match key.0.as_ref() {
                        "stringValue" => AttrValue::Str(map.next_value::<BStr<'de>>()?.0),
                        "intValue" => AttrValue::Int(map.next_value::<JsonI64>()?.0),
                        "boolValue" => AttrValue::Bool(map.next_value()?),
                        "doubleValue" => AttrValue::Double(map.next_value()?),
                        "bytesValue" => AttrValue::Bytes(map.next_value::<BStr<'de>>()?.0),
                        "arrayValue" => AttrValue::Array(
                            map.next_value::<JsonArray<'de>>()?
                                .values
                                .into_iter()
                                .map(|v| v.0)
                                .collect(),
                        ),
                        "kvlistValue" => AttrValue::KvList(
                            map.next_value::<JsonKvList<'de>>()?
                                .values
                                .into_iter()
                                .map(JsonKeyValue::into_attribute)
                                .collect(),
                        ),
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                            value
                        }
                    };
                }
                Ok(JsonValue(value))
            }
        }
        deserializer.deserialize_map(V(std::marker::PhantomData))
    }
}

/// A string that borrows from the input unless it had escapes.
#[derive(Default)]
struct BStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for BStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(BStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// OTLP/JSON writes 64-bit integers as decimal strings; numbers are accepted too.
#[derive(Default)]
struct JsonU64(u64);

impl<'de> Deserialize<'de> for JsonU64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(IntVisitor)
            .and_then(|i| u64::try_from(i).map_err(|_| de::Error::custom("negative timestamp")))
            .map(JsonU64)
    }
}

struct JsonI64(i64);

impl<'de> Deserialize<'de> for JsonI64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(IntVisitor)
            .and_then(|i| i64::try_from(i).map_err(|_| de::Error::custom("integer out of range")))
            .map(JsonI64)
    }
}

struct IntVisitor;

impl Visitor<'_> for IntVisitor {
    type Value = i128;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a decimal string")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i128, E> {
        Ok(i128::from(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i128, E> {
        Ok(i128::from(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<i128, E> {
        v.parse::<i128>()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_value_kind_and_borrows_plain_strings() {
        let line = r#"{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"scope":{"name":"x"},"spans":[
            {"traceId":"4BF92F3577B34DA6A3CE929D0E0E4736","spanId":"00f067aa0ba902b7","name":"deputy.resolve",
             "endTimeUnixNano":1795000000000000001,
             "attributes":[
               {"key":"s","value":{"stringValue":"plain"}},
               {"key":"e","value":{"stringValue":"esc\"aped"}},
               {"key":"i","value":{"intValue":"-42"}},
               {"key":"b","value":{"boolValue":true}},
               {"key":"d","value":{"doubleValue":1.5}},
               {"key":"a","value":{"arrayValue":{"values":[{"stringValue":"x"},{"intValue":3}]}}},
               {"key":"k","value":{"kvlistValue":{"values":[{"key":"n","value":{"stringValue":"y"}}]}}},
               {"key":"z","value":{}}]}]}]}]}"#;
        let spans = decode(line).unwrap();
        let span = &spans[0];
        assert_eq!(span.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(span.end_unix_nano, 1_795_000_000_000_000_001);
        assert!(matches!(
            span.attr("s"),
            Some(AttrValue::Str(Cow::Borrowed("plain")))
        ));
        assert_eq!(span.str_attr("e"), Some("esc\"aped"));
        assert_eq!(span.attr("i"), Some(&AttrValue::Int(-42)));
        assert_eq!(span.attr("b"), Some(&AttrValue::Bool(true)));
        assert_eq!(span.attr("d"), Some(&AttrValue::Double(1.5)));
        assert_eq!(span.attr("a").unwrap().texts(), vec!["x"]);
        assert_eq!(span.attr("k").unwrap().texts(), vec!["y"]);
        assert_eq!(span.attr("z"), Some(&AttrValue::Empty));
    }

    #[test]
    fn wrong_types_and_truncation_are_errors_with_a_position() {
        let wrong = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":7}]}]}]}"#;
        let message = decode(wrong).unwrap_err().to_string();
        assert!(
            message.contains("invalid type: integer `7`, expected a string"),
            "{message}"
        );
        assert!(message.contains("column"), "{message}");
        let truncated = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"x""#;
        let message = decode(truncated).unwrap_err().to_string();
        assert!(message.contains("EOF while parsing"), "{message}");
        let bad_int =
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"endTimeUnixNano":"soon"}]}]}]}"#;
        assert!(
            decode(bad_int)
                .unwrap_err()
                .to_string()
                .contains("decimal string")
        );
    }
}
