//! OTLP/JSON decoding: one `ExportTraceServiceRequest` per line, as an OpenTelemetry
//! Collector's file exporter writes them and as OTLP/HTTP carries them with
//! `Content-Type: application/json`.
//!
//! Strings borrow from the input when they contain no escapes, so reading a line allocates
//! little more than the span and attribute vectors.
//!
//! Two decoders fill the same scratch span: [`scan_each`], a hand-written scanner (the fast
//! path), and [`decode_each`], built on `serde_json` (the reference). The scanner gives up on
//! anything it does not accept; the document then goes to `serde_json`, which decodes it or
//! reports the error with its line and column. For every document the scanner accepts, both
//! yield the same spans (tested, and fuzzed by `fuzz/fuzz_targets/otlp_json.rs`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};

use crate::span::Span;
use values::{AttributesSeed, BStr, JsonU64};

pub use count::count_values;
pub use scan::{NotScanned, scan_each};

mod count;
pub(crate) mod cursor;
mod scan;
mod values;

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
    let mut spans = Vec::new();
    if scan_each(text, |span| spans.push(span.clone())).is_err() {
        spans.clear();
        decode_each(text, |span| spans.push(span.clone()))?;
    }
    Ok(spans)
}

/// Decodes one OTLP/JSON `ExportTraceServiceRequest` with `serde_json` (the reference
/// decoder, and the one whose errors are reported; [`scan_each`] is the fast one), calling
/// `on_span` with each span as soon as it is read. The span is a scratch value that is overwritten for the next one (its
/// attribute vector keeps its capacity), so reading allocates nothing per span unless a
/// string has escapes. When the document turns out malformed, `on_span` has already seen
/// the spans before the fault: the caller undoes what it did with them.
///
/// ```
/// let mut names = Vec::new();
/// let text = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"},{"name":"b"}]}]}]}"#;
/// deputy_audit::otlp_json::decode_each(text, |span| names.push(span.name.to_string())).unwrap();
/// assert_eq!(names, ["a", "b"]);
/// let broken = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"c"},"#;
/// assert!(deputy_audit::otlp_json::decode_each(broken, |_| {}).is_err());
/// ```
pub fn decode_each<'a>(
    text: &'a str,
    mut on_span: impl FnMut(&Span<'a>),
) -> Result<(), JsonDecodeError> {
    let mut scratch = Span {
        trace_id: Cow::Borrowed(""),
        span_id: Cow::Borrowed(""),
        name: Cow::Borrowed(""),
        end_unix_nano: 0,
        attributes: Vec::new(),
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    Members {
        reader: SpanReader {
            scratch: &mut scratch,
            on_span: &mut on_span,
        },
        level: Level::Request,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(())
}

/// Where in an `ExportTraceServiceRequest` a JSON object sits.
#[derive(Clone, Copy)]
enum Level {
    /// The request: `{"resourceSpans": [...]}`.
    Request,
    /// A `ResourceSpans`: `{"scopeSpans": [...]}`.
    Resource,
    /// A `ScopeSpans`: `{"spans": [...]}`.
    Scope,
}

impl Level {
    /// The member holding the next level's array, and that level (`None`: spans).
    fn child(self) -> (&'static str, Option<Level>) {
        match self {
            Level::Request => ("resourceSpans", Some(Level::Resource)),
            Level::Resource => ("scopeSpans", Some(Level::Scope)),
            Level::Scope => ("spans", None),
        }
    }
}

/// The scratch span and the callback, handed down the envelope.
struct SpanReader<'s, 'a, F> {
    scratch: &'s mut Span<'a>,
    on_span: &'s mut F,
}

impl<'a, F: FnMut(&Span<'a>)> SpanReader<'_, 'a, F> {
    fn reborrow(&mut self) -> SpanReader<'_, 'a, F> {
        SpanReader {
            scratch: &mut *self.scratch,
            on_span: &mut *self.on_span,
        }
    }
}

/// Walks one object of the envelope, skipping everything but the array that leads to spans
/// (no request/resource/scope structs are built).
struct Members<'s, 'a, F> {
    reader: SpanReader<'s, 'a, F>,
    level: Level,
}

impl<'de, F: FnMut(&Span<'de>)> DeserializeSeed<'de> for Members<'_, 'de, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, F: FnMut(&Span<'de>)> Visitor<'de> for Members<'_, 'de, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an OTLP/JSON object")
    }
    fn visit_map<M: de::MapAccess<'de>>(mut self, mut map: M) -> Result<(), M::Error> {
        let (member, child) = self.level.child();
        while let Some(key) = map.next_key::<BStr<'de>>()? {
            if key.0 != member {
                map.next_value::<de::IgnoredAny>()?;
                continue;
            }
            map.next_value_seed(Elements {
                reader: self.reader.reborrow(),
                child,
            })?;
        }
        Ok(())
    }
}

/// One array of the envelope: objects of the next level, or spans. `null` is an empty array.
struct Elements<'s, 'a, F> {
    reader: SpanReader<'s, 'a, F>,
    child: Option<Level>,
}

impl<'de, F: FnMut(&Span<'de>)> DeserializeSeed<'de> for Elements<'_, 'de, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, F: FnMut(&Span<'de>)> Visitor<'de> for Elements<'_, 'de, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
    fn visit_seq<S: de::SeqAccess<'de>>(mut self, mut seq: S) -> Result<(), S::Error> {
        match self.child {
            Some(level) => {
                while let Some(()) = seq.next_element_seed(Members {
                    reader: self.reader.reborrow(),
                    level,
                })? {}
            }
            None => {
                while let Some(()) = seq.next_element_seed(SpanSeed {
                    span: &mut *self.reader.scratch,
                })? {
                    (self.reader.on_span)(self.reader.scratch);
                }
            }
        }
        Ok(())
    }
}

/// Reads a span object into the scratch span; members deputy does not read are skipped.
struct SpanSeed<'s, 'a> {
    span: &'s mut Span<'a>,
}

impl<'de> DeserializeSeed<'de> for SpanSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SpanSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an OTLP span object")
    }
    fn visit_map<M: de::MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let span = self.span;
        span.trace_id = Cow::Borrowed("");
        span.span_id = Cow::Borrowed("");
        span.name = Cow::Borrowed("");
        span.end_unix_nano = 0;
        span.attributes.clear();
        while let Some(key) = map.next_key::<BStr<'de>>()? {
            match key.0.as_ref() {
                "traceId" => span.trace_id = lower_hex(map.next_value::<BStr<'de>>()?.0),
                "spanId" => span.span_id = lower_hex(map.next_value::<BStr<'de>>()?.0),
                "name" => span.name = map.next_value::<BStr<'de>>()?.0,
                "endTimeUnixNano" => span.end_unix_nano = map.next_value::<JsonU64>()?.0,
                "attributes" => map.next_value_seed(AttributesSeed {
                    out: &mut span.attributes,
                })?,
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

fn lower_hex(id: Cow<'_, str>) -> Cow<'_, str> {
    if has_upper_case(id.as_bytes()) {
        Cow::Owned(id.to_ascii_lowercase())
    } else {
        id
    }
}

/// Whether any byte is an ASCII upper-case letter; eight bytes at a time.
fn has_upper_case(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let found = chunks.any(|chunk| {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // Per byte below 0x80: its high bit after adding 0x3f is set from `A` (0x41) up, and
        // after adding 0x25 from `[` (0x5b) up; bytes from 0x80 never count.
        let from_a = (word & !HIGHS) + ONES * 0x3f;
        let past_z = (word & !HIGHS) + ONES * 0x25;
        from_a & !past_z & !word & HIGHS != 0
    });
    found || chunks.remainder().iter().any(u8::is_ascii_uppercase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::AttrValue;

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
        assert_eq!(span.attr("k").unwrap().texts(), vec!["n", "y"]);
        assert_eq!(span.attr("z"), Some(&AttrValue::Empty));
    }

    #[test]
    fn upper_case_is_found_in_every_byte_of_a_word() {
        for len in 0..24 {
            for at in 0..len {
                for byte in 0u8..=255 {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = byte;
                    assert_eq!(
                        has_upper_case(&bytes),
                        byte.is_ascii_uppercase(),
                        "{len} {at} {byte}"
                    );
                }
            }
        }
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
