//! The fast OTLP/JSON scanner: reads an `ExportTraceServiceRequest` byte by byte into the same
//! scratch [`Span`] that the `serde_json` decoder ([`super::decode_each`]) fills, without serde.
//!
//! It mirrors the serde decoder member for member (the same member names, `null` where the
//! serde decoder takes it, duplicates handled the same way, unknown members skipped), and
//! gives up ([`NotScanned`]) on anything the serde decoder would reject and on the few things
//! it leaves to `serde_json` (escaped keys, lone surrogates, `arrayValue` written as an array,
//! nesting deeper than 100). A caller then decodes the document with `serde_json`, which is
//! the reference: it yields the spans, or the error with its line and column.

use std::borrow::Cow;

use super::cursor::{Cursor, Number, Scan};
use super::{Level, lower_hex};
use crate::span::{AttrValue, Attribute, Span};

pub use super::cursor::NotScanned;

/// Scans one OTLP/JSON `ExportTraceServiceRequest`, calling `on_span` with each span as soon
/// as it is read (a scratch span, overwritten for the next one, as with
/// [`super::decode_each`]). When it gives up, `on_span` may already have seen some spans: the
/// caller undoes what it did with them and decodes the document with
/// [`super::decode_each`], which yields exactly the spans this scanner yields for every
/// document it accepts, and the error for every document it rejects.
///
/// ```
/// use deputy_audit::otlp_json::{decode_each, scan_each};
/// let text = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"},{"name":"b"}]}]}]}"#;
/// let mut names = Vec::new();
/// scan_each(text, |span| names.push(span.name.to_string())).unwrap();
/// assert_eq!(names, ["a", "b"]);
/// // Escaped member names are left to serde_json, which decodes them.
/// let escaped = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"n\u0061me":"c"}]}]}]}"#;
/// assert!(scan_each(escaped, |_| {}).is_err());
/// decode_each(escaped, |span| assert_eq!(span.name, "c")).unwrap();
/// ```
pub fn scan_each<'a>(text: &'a str, mut on_span: impl FnMut(&Span<'a>)) -> Result<(), NotScanned> {
    let mut cursor = Cursor::new(text);
    let mut scratch = Span {
        trace_id: Cow::Borrowed(""),
        span_id: Cow::Borrowed(""),
        name: Cow::Borrowed(""),
        end_unix_nano: 0,
        attributes: Vec::new(),
    };
    members(&mut cursor, &mut scratch, Level::Request, &mut on_span)?;
    cursor.end()
}

/// One object of the envelope: only the member leading to spans is read.
fn members<'a>(
    c: &mut Cursor<'a>,
    scratch: &mut Span<'a>,
    level: Level,
    on_span: &mut impl FnMut(&Span<'a>),
) -> Scan<()> {
    let (member, child) = level.child();
    object(c, &[member], |c, key| match key {
        Some(_) => elements(c, scratch, child, on_span),
        None => c.skip_value(),
    })
}

/// One array of the envelope (`null` is an empty one): objects of the next level, or spans.
fn elements<'a>(
    c: &mut Cursor<'a>,
    scratch: &mut Span<'a>,
    child: Option<Level>,
    on_span: &mut impl FnMut(&Span<'a>),
) -> Scan<()> {
    if c.literal("null") {
        return Ok(());
    }
    array(c, |c| match child {
        Some(level) => members(c, scratch, level, on_span),
        None => {
            span(c, scratch)?;
            on_span(scratch);
            Ok(())
        }
    })
}

/// A JSON object: `member` reads the value of each member, given the index of its name in
/// `keys` (`None` for any other name).
fn object<'a>(
    c: &mut Cursor<'a>,
    keys: &[&str],
    mut member: impl FnMut(&mut Cursor<'a>, Option<usize>) -> Scan<()>,
) -> Scan<()> {
    c.open(b'{')?;
    if c.close_if_empty(b'}') {
        return Ok(());
    }
    loop {
        let key = c.known_key(keys)?;
        member(c, key)?;
        if !c.next_or_close(b'}')? {
            return Ok(());
        }
    }
}

/// A JSON array: `element` reads each element.
fn array<'a>(c: &mut Cursor<'a>, mut element: impl FnMut(&mut Cursor<'a>) -> Scan<()>) -> Scan<()> {
    c.open(b'[')?;
    if c.close_if_empty(b']') {
        return Ok(());
    }
    loop {
        element(c)?;
        if !c.next_or_close(b']')? {
            return Ok(());
        }
    }
}

/// One span object into the scratch span.
fn span<'a>(c: &mut Cursor<'a>, span: &mut Span<'a>) -> Scan<()> {
    // The previous span's escaped strings are kept for this one's.
    for text in [&mut span.trace_id, &mut span.span_id, &mut span.name] {
        c.recycle(std::mem::take(text));
    }
    for Attribute { key, value } in span.attributes.drain(..) {
        c.recycle(key);
        discard(c, value);
    }
    span.end_unix_nano = 0;
    const KEYS: [&str; 5] = ["traceId", "spanId", "name", "endTimeUnixNano", "attributes"];
    object(c, &KEYS, |c, key| {
        match key {
            Some(0) => span.trace_id = lower_hex(c.string()?),
            Some(1) => span.span_id = lower_hex(c.string()?),
            Some(2) => span.name = c.string()?,
            Some(3) => {
                let value = integer(c)?;
                span.end_unix_nano = in_range(c, u64::try_from(value).ok())?;
            }
            Some(4) => attributes(c, &mut span.attributes)?,
            _ => c.skip_value()?,
        }
        Ok(())
    })
}

/// A `KeyValue` list appended to `out` (`null` is an empty one). Each attribute is read in
/// place, in the vector, rather than returned and moved there.
fn attributes<'a>(c: &mut Cursor<'a>, out: &mut Vec<Attribute<'a>>) -> Scan<()> {
    if c.literal("null") {
        return Ok(());
    }
    array(c, |c| {
        out.push(Attribute {
            key: Cow::Borrowed(""),
            value: AttrValue::Empty,
        });
        match out.last_mut() {
            Some(attribute) => key_value(c, attribute),
            None => c.fail(),
        }
    })
}

/// One `KeyValue` object into `attribute`; `key` is required, the last of repeated members
/// counts.
fn key_value<'a>(c: &mut Cursor<'a>, attribute: &mut Attribute<'a>) -> Scan<()> {
    let mut has_key = false;
    object(c, &["key", "value"], |c, key| {
        match key {
            Some(0) => {
                attribute.key = c.string()?;
                has_key = true;
            }
            Some(1) => any_value(c, &mut attribute.value)?,
            _ => c.skip_value()?,
        }
        Ok(())
    })?;
    if has_key { Ok(()) } else { c.fail() }
}

/// An `AnyValue` object into `out` (`null` and `{}` are empty).
fn any_value<'a>(c: &mut Cursor<'a>, out: &mut AttrValue<'a>) -> Scan<()> {
    // Read into a local and stored once: each store into `out` drops what it held.
    let mut value = AttrValue::Empty;
    if !c.literal("null") {
        object(c, &KINDS, |c, kind| any_value_member(c, kind, &mut value))?;
    }
    *out = value;
    Ok(())
}

/// Takes a value apart (its strings kept for later escaped strings), so it does not go
/// through the value type's drop glue: an out-of-line call per attribute when the scratch
/// span is cleared, otherwise one of the scanner's costliest lines.
fn discard<'a>(c: &mut Cursor<'a>, value: AttrValue<'a>) {
    match value {
        AttrValue::Str(text) | AttrValue::Bytes(text) => c.recycle(text),
        AttrValue::Array(values) => drop(values),
        AttrValue::KvList(pairs) => drop(pairs),
        // Nothing to free.
        scalar @ (AttrValue::Int(_)
        | AttrValue::Bool(_)
        | AttrValue::Double(_)
        | AttrValue::Empty) => {
            std::mem::forget(scalar);
        }
    }
}

/// The member names of an `AnyValue` object, one per kind.
const KINDS: [&str; 7] = [
    "stringValue",
    "intValue",
    "boolValue",
    "doubleValue",
    "bytesValue",
    "arrayValue",
    "kvlistValue",
];

/// One member of an `AnyValue` object (`kind` indexes [`KINDS`]); the last known one counts.
fn any_value_member<'a>(
    c: &mut Cursor<'a>,
    kind: Option<usize>,
    value: &mut AttrValue<'a>,
) -> Scan<()> {
    match kind {
        Some(0) => *value = AttrValue::Str(c.string()?),
        Some(1) => {
            let int = integer(c)?;
            *value = AttrValue::Int(in_range(c, i64::try_from(int).ok())?);
        }
        Some(2) => *value = AttrValue::Bool(boolean(c)?),
        Some(3) => *value = AttrValue::Double(double(c)?),
        Some(4) => *value = AttrValue::Bytes(c.string()?),
        Some(5) => *value = AttrValue::Array(array_value(c)?),
        Some(6) => *value = AttrValue::KvList(kvlist_value(c)?),
        _ => c.skip_value()?,
    }
    Ok(())
}

/// An `ArrayValue` object: `{"values": [AnyValue, …]}`; `values` at most once, not `null`.
fn array_value<'a>(c: &mut Cursor<'a>) -> Scan<Vec<AttrValue<'a>>> {
    let mut values = Vec::new();
    let mut seen = false;
    object(c, &["values"], |c, key| match key {
        Some(_) if seen => c.fail(),
        Some(_) => {
            seen = true;
            array(c, |c| {
                values.push(AttrValue::Empty);
                match values.last_mut() {
                    Some(value) => any_value(c, value),
                    None => c.fail(),
                }
            })
        }
        None => c.skip_value(),
    })?;
    Ok(values)
}

/// A `KeyValueList` object: `{"values": [KeyValue, …]}`; repeated `values` append.
fn kvlist_value<'a>(c: &mut Cursor<'a>) -> Scan<Vec<Attribute<'a>>> {
    let mut values = Vec::new();
    object(c, &["values"], |c, key| match key {
        Some(_) => attributes(c, &mut values),
        None => c.skip_value(),
    })?;
    Ok(values)
}

/// A 64-bit integer, as a decimal string (any text `i128` parses) or as a JSON integer.
fn integer(c: &mut Cursor<'_>) -> Scan<i128> {
    if c.peek() == Some(b'"') {
        let text = c.string()?;
        return in_range(c, decimal(&text));
    }
    let Number { text, integer } = c.number()?;
    // serde_json reads `-0` and integers beyond 64 bits as floats, which are refused.
    if !integer || text == "-0" {
        return c.fail();
    }
    let value = decimal(text);
    let fits = value.is_some_and(|v| i64::try_from(v).is_ok() || u64::try_from(v).is_ok());
    in_range(c, value.filter(|_| fits))
}

/// `text.parse::<i128>()`, with the usual case (up to 19 plain digits, which always fit in
/// a `u64`) read without 128-bit arithmetic.
fn decimal(text: &str) -> Option<i128> {
    let bytes = text.as_bytes();
    if (1..=19).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_digit) {
        // The leading digits one by one, then eight at a time.
        let (head, words) = bytes.split_at(bytes.len() % 8);
        let value = head.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
        let value = words.chunks_exact(8).fold(value, |v, chunk| {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            v * 100_000_000 + eight_digits(u64::from_le_bytes(word))
        });
        return Some(i128::from(value));
    }
    text.parse::<i128>().ok()
}

/// The value of eight ASCII digits loaded little-endian (the first digit the most
/// significant): pairs, then fours, then all eight combined with one multiplication each.
fn eight_digits(word: u64) -> u64 {
    let word = (word & 0x0f0f_0f0f_0f0f_0f0f).wrapping_mul(2561) >> 8;
    let word = (word & 0x00ff_00ff_00ff_00ff).wrapping_mul(6_553_601) >> 16;
    (word & 0x0000_ffff_0000_ffff).wrapping_mul(42_949_672_960_001) >> 32
}

/// A JSON number as `f64`, converted by `serde_json` itself so the value is the same bits.
fn double(c: &mut Cursor<'_>) -> Scan<f64> {
    let number = c.number()?;
    in_range(c, serde_json::from_str::<f64>(number.text).ok())
}

fn boolean(c: &mut Cursor<'_>) -> Scan<bool> {
    if c.literal("true") {
        Ok(true)
    } else if c.literal("false") {
        Ok(false)
    } else {
        c.fail()
    }
}

fn in_range<T>(c: &Cursor<'_>, value: Option<T>) -> Scan<T> {
    match value {
        Some(v) => Ok(v),
        None => c.fail(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_read_eight_digits_at_a_time_are_what_parse_gives() {
        let mut texts: Vec<String> = [
            "0", "7", "00000000", "12345678", "99999999", "+5", "-3", "1a",
        ]
        .map(String::from)
        .to_vec();
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for len in 1..=21 {
            for _ in 0..200 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let digits: String = (0..len)
                    .map(|i| char::from(b'0' + ((x >> (i % 60)) % 10) as u8))
                    .collect();
                texts.push(digits);
            }
            texts.push("9".repeat(len));
            texts.push(format!("1{}", "0".repeat(len - 1)));
        }
        texts.push(u64::MAX.to_string());
        for text in &texts {
            assert_eq!(decimal(text), text.parse::<i128>().ok(), "{text}");
        }
    }
}
