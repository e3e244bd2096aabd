//! The span model both OTLP decoders produce: just what the audit pipeline reads.

use std::borrow::Cow;

/// One span, decoded from OTLP/JSON (borrowing from the line where it can) or OTLP/protobuf.
///
/// ```
/// use deputy_audit::span::{AttrValue, Attribute, Span};
/// let span = Span {
///     trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
///     span_id: "00f067aa0ba902b7".into(),
///     name: "deputy.resolve".into(),
///     end_unix_nano: 1_795_000_000_000_000_000,
///     attributes: vec![Attribute { key: "task_id".into(), value: AttrValue::Str("t-1".into()) }],
/// };
/// assert_eq!(span.str_attr("task_id"), Some("t-1"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Span<'a> {
    /// The trace id, 32 lowercase hex digits (empty when the exporter sent none).
    pub trace_id: Cow<'a, str>,
    /// The span id, 16 lowercase hex digits.
    pub span_id: Cow<'a, str>,
    /// The span name (`deputy.resolve`, …).
    pub name: Cow<'a, str>,
    /// When the span ended, Unix nanoseconds.
    pub end_unix_nano: u64,
    /// The span's attributes, in the order the exporter sent them.
    pub attributes: Vec<Attribute<'a>>,
}

/// One span attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute<'a> {
    /// The attribute name (see `deputy_core::attr`).
    pub key: Cow<'a, str>,
    /// The value.
    pub value: AttrValue<'a>,
}

/// An OTLP `AnyValue`.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue<'a> {
    /// `stringValue`.
    Str(Cow<'a, str>),
    /// `intValue`.
    Int(i64),
    /// `boolValue`.
    Bool(bool),
    /// `doubleValue`.
    Double(f64),
    /// `bytesValue`: the base64 text of OTLP/JSON; from protobuf, the bytes as text when they
    /// are UTF-8 (so token material inside them is still seen), else lowercase hex.
    Bytes(Cow<'a, str>),
    /// `arrayValue`.
    Array(Vec<AttrValue<'a>>),
    /// `kvlistValue`.
    KvList(Vec<Attribute<'a>>),
    /// An empty `AnyValue`.
    Empty,
}

impl AttrValue<'_> {
    /// Every text inside the value (strings and bytes, nested ones too, and the names in nested
    /// key-value lists), for token scans.
    pub fn texts(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(value) = stack.pop() {
            match value {
                AttrValue::Str(s) | AttrValue::Bytes(s) => out.push(s.as_ref()),
                AttrValue::Array(values) => stack.extend(values.iter()),
                AttrValue::KvList(pairs) => {
                    for pair in pairs.iter() {
                        out.push(pair.key.as_ref());
                        stack.push(&pair.value);
                    }
                }
                AttrValue::Int(_)
                | AttrValue::Bool(_)
                | AttrValue::Double(_)
                | AttrValue::Empty => {}
            }
        }
        out
    }

    /// The size of the value's text in bytes (nested values summed); scalars count 8.
    pub fn size(&self) -> usize {
        match self {
            AttrValue::Str(s) | AttrValue::Bytes(s) => s.len(),
            AttrValue::Array(values) => values.iter().map(AttrValue::size).sum(),
            AttrValue::KvList(pairs) => pairs.iter().map(|p| p.key.len() + p.value.size()).sum(),
            AttrValue::Int(_) | AttrValue::Bool(_) | AttrValue::Double(_) | AttrValue::Empty => 8,
        }
    }
}

impl<'a> Span<'a> {
    /// The attribute named `key`, if present.
    pub fn attr(&self, key: &str) -> Option<&AttrValue<'a>> {
        self.attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| &a.value)
    }

    /// The string attribute named `key`, if present and a string.
    pub fn str_attr(&self, key: &str) -> Option<&str> {
        match self.attr(key) {
            Some(AttrValue::Str(s)) => Some(s.as_ref()),
            _ => None,
        }
    }
}
