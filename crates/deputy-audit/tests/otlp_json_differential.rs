//! The fast OTLP/JSON scanner against the `serde_json` decoder (the reference): whenever the
//! scanner accepts a document, both yield exactly the same spans; whenever `serde_json`
//! rejects one, the scanner does not accept it. Ordinary documents must take the fast path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use deputy_audit::otlp_json::{self, JsonDecodeError, NotScanned};
use deputy_audit::span::Span;

fn scanned(text: &str) -> Result<Vec<Span<'_>>, NotScanned> {
    let mut spans = Vec::new();
    otlp_json::scan_each(text, |span| spans.push(span.clone())).map(|()| spans)
}

fn decoded(text: &str) -> Result<Vec<Span<'_>>, JsonDecodeError> {
    let mut spans = Vec::new();
    otlp_json::decode_each(text, |span| spans.push(span.clone())).map(|()| spans)
}

/// What the scanner did with a document whose outcome agreed with `serde_json`.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Both accepted, with the same spans.
    Accepted,
    /// The scanner gave up and `serde_json` decoded it.
    LeftToSerdeDecoded,
    /// The scanner gave up and `serde_json` rejected it.
    Rejected,
}

/// Checks the two properties; panics naming the document when either fails. Spans are compared
/// by their `Debug` text, which also tells `-0.0` from `0.0`.
fn outcome(text: &str) -> Outcome {
    match (scanned(text), decoded(text)) {
        (Ok(fast), Ok(reference)) => {
            assert_eq!(
                format!("{fast:?}"),
                format!("{reference:?}"),
                "different spans for {text}"
            );
            Outcome::Accepted
        }
        (Ok(fast), Err(e)) => panic!("scanner accepted {text} ({fast:?}); serde_json: {e}"),
        (Err(_), Ok(_)) => Outcome::LeftToSerdeDecoded,
        (Err(_), Err(_)) => Outcome::Rejected,
    }
}

/// A request with one span whose members are `members` (JSON text).
fn with_span(members: &str) -> String {
    format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{{members}}}]}}]}}]}}"#)
}

/// A request with one span holding one attribute whose `value` is `value` (JSON text).
fn with_value(value: &str) -> String {
    with_span(&format!(
        r#""name":"n","attributes":[{{"key":"k","value":{value}}}]"#
    ))
}

#[test]
fn ordinary_documents_take_the_fast_path_with_the_same_spans() {
    let ordinary = [
        r#"{"resourceSpans":[]}"#.to_owned(),
        r#"{}"#.to_owned(),
        r#"{"resourceSpans":null}"#.to_owned(),
        r#" {"resourceSpans" : [ { "resource" : { "attributes" : [ ] } , "scopeSpans" : [ { "scope" : { "name" : "x", "version": "1.0" } , "spans" : [ ] } ] } ] } "#.to_owned(),
        "\t\r\n{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"x\"}]}]}]}\n".to_owned(),
        with_span(
            r#""traceId":"4BF92F3577B34DA6A3CE929D0E0E4736","spanId":"00F067AA0BA902B7","parentSpanId":"","name":"deputy.resolve","kind":1,"startTimeUnixNano":"1795000000000000000","endTimeUnixNano":"1795000000000000001","attributes":[{"key":"s","value":{"stringValue":"plain"}}],"droppedAttributesCount":0,"events":[{"name":"e","attributes":[]}],"links":[],"status":{"code":1,"message":"ok"},"flags":257"#,
        ),
        with_span(r#""endTimeUnixNano":1795000000000000001"#),
        with_span(r#""endTimeUnixNano":"18446744073709551615""#),
        with_span(r#""endTimeUnixNano":18446744073709551615"#),
        with_span(r#""endTimeUnixNano":"007""#),
        with_span(r#""endTimeUnixNano":"+5""#),
        with_span(r#""endTimeUnixNano":0"#),
        with_span(r#""attributes":null"#),
        with_span(r#""name":"a","name":"b","attributes":[{"key":"x","value":{}}],"attributes":[{"key":"y","value":null}]"#),
        with_span(r#""name":"esc \" \\ \/ \b \f \n \r \t \u00e9 \u20AC \ud83d\ude00 \u0000 end""#),
        with_span(r#""name":"ünïcødé 日本 🎉""#),
        with_span(r#""unknown":"\ud800 lone surrogates are only skipped","name":"x""#),
        with_span(r#""unknown":[1,-2,3.5e-7,0,-0,1E+400,true,false,null,{"a":{"b":[[]]}},"s"]"#),
        with_value(r#"{"stringValue":"x"}"#),
        with_value(r#"{"stringValue":"esc\u0041ped\n"}"#),
        with_value(r#"{"intValue":"-42"}"#),
        with_value(r#"{"intValue":-9223372036854775808}"#),
        with_value(r#"{"intValue":9223372036854775807}"#),
        with_value(r#"{"intValue":"9223372036854775807"}"#),
        with_value(r#"{"boolValue":true}"#),
        with_value(r#"{"boolValue":false}"#),
        with_value(r#"{"doubleValue":1.5}"#),
        with_value(r#"{"doubleValue":-0.0}"#),
        with_value(r#"{"doubleValue":-0}"#),
        with_value(r#"{"doubleValue":7}"#),
        with_value(r#"{"doubleValue":0.1}"#),
        with_value(r#"{"doubleValue":5e-324}"#),
        with_value(r#"{"doubleValue":1e-400}"#),
        with_value(r#"{"doubleValue":1.7976931348623157e308}"#),
        with_value(r#"{"doubleValue":2.2250738585072011e-308}"#),
        with_value(r#"{"doubleValue":123456789012345678901234567890}"#),
        with_value(r#"{"doubleValue":-18446744073709551617}"#),
        with_value(r#"{"bytesValue":"AAEC/w=="}"#),
        with_value(r#"{"arrayValue":{"values":[{"stringValue":"x"},{"intValue":3},null,{}]}}"#),
        with_value(r#"{"arrayValue":{}}"#),
        with_value(r#"{"arrayValue":{"other":1,"values":[]}}"#),
        with_value(r#"{"kvlistValue":{"values":[{"key":"n","value":{"stringValue":"y"}}]}}"#),
        with_value(r#"{"kvlistValue":{"values":[{"key":"a"}],"values":[{"key":"b"}]}}"#),
        with_value(r#"{"kvlistValue":{"values":null}}"#),
        with_value(r#"{"stringValue":"a","intValue":"1"}"#),
        with_value(r#"{"stringValue":"a","unknown":{"x":[1]}}"#),
        with_value(r#"{}"#),
        with_value("null"),
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"}]}]}],"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"b"}]},{"spans":null}]}]}"#.to_owned(),
    ];
    for text in &ordinary {
        assert_eq!(outcome(text), Outcome::Accepted, "{text}");
    }
}

#[test]
fn malformed_documents_are_rejected_by_both() {
    let malformed = [
        String::new(),
        "   ".to_owned(),
        "null".to_owned(),
        "[]".to_owned(),
        "\u{feff}{\"resourceSpans\":[]}".to_owned(),
        r#"{"resourceSpans":[]} x"#.to_owned(),
        r#"{"resourceSpans":[]}{}"#.to_owned(),
        r#"{"resourceSpans":[],}"#.to_owned(),
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"x"},]}]}]}"#.to_owned(),
        r#"{"resourceSpans":{}}"#.to_owned(),
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":["x"]}]}]}"#.to_owned(),
        r#"{'resourceSpans':[]}"#.to_owned(),
        r#"{"resourceSpans":[{"resource":{"a":01}}]}"#.to_owned(),
        r#"{"resourceSpans":[{"resource":{"a":1.}}]}"#.to_owned(),
        r#"{"resourceSpans":[{"resource":{"a":-}}]}"#.to_owned(),
        r#"{"resourceSpans":[{"resource":{"a":tru}}]}"#.to_owned(),
        r#"{"resourceSpans":[{"resource":{"a":"\x"}}]}"#.to_owned(),
        r#"{"resourceSpans":[{"resource":{"a":"\u12G4"}}]}"#.to_owned(),
        r#"{"resourceSpans":[{"resource":{1:2}}]}"#.to_owned(),
        with_span("\"name\":\"raw\ttab\""),
        with_span("\"name\":\"raw\nnewline\""),
        with_span(r#""name":"\ud800""#),
        with_span(r#""name":"\udc00""#),
        with_span(r#""name":"\ud800\u0041""#),
        with_span(r#""name":7"#),
        with_span(r#""name":null"#),
        with_span(r#""traceId":null"#),
        with_span(r#""endTimeUnixNano":"soon""#),
        with_span(r#""endTimeUnixNano":-1"#),
        with_span(r#""endTimeUnixNano":"-1""#),
        with_span(r#""endTimeUnixNano":-0"#),
        with_span(r#""endTimeUnixNano":1.0"#),
        with_span(r#""endTimeUnixNano":1e3"#),
        with_span(r#""endTimeUnixNano":18446744073709551616"#),
        with_span(r#""endTimeUnixNano":"18446744073709551616""#),
        with_span(r#""endTimeUnixNano":" 5""#),
        with_span(r#""endTimeUnixNano":null"#),
        with_span(r#""attributes":{}"#),
        with_span(r#""attributes":[{"value":{"stringValue":"no key"}}]"#),
        with_span(r#""attributes":[{"key":null}]"#),
        with_value(r#"{"intValue":9223372036854775808}"#),
        with_value(r#"{"intValue":-9223372036854775809}"#),
        with_value(r#"{"intValue":"9223372036854775808"}"#),
        with_value(r#"{"intValue":-0}"#),
        with_value(r#"{"intValue":1.5}"#),
        with_value(r#"{"intValue":true}"#),
        with_value(r#"{"boolValue":"true"}"#),
        with_value(r#"{"boolValue":1}"#),
        with_value(r#"{"doubleValue":"1.5"}"#),
        with_value(r#"{"doubleValue":"NaN"}"#),
        with_value(r#"{"doubleValue":1e309}"#),
        with_value(r#"{"doubleValue":-1e400}"#),
        with_value(r#"{"stringValue":1}"#),
        with_value(r#"{"arrayValue":null}"#),
        with_value(r#"{"arrayValue":{"values":null}}"#),
        with_value(r#"{"arrayValue":{"values":[],"values":[]}}"#),
        with_value(r#"{"arrayValue":{"values":[1]}}"#),
        with_value(r#"{"kvlistValue":[]}"#),
        with_value(r#"{"kvlistValue":{"values":[{"value":{}}]}}"#),
        with_value(r#""just a string""#),
        with_value("[]"),
    ];
    for text in &malformed {
        assert_eq!(outcome(text), Outcome::Rejected, "{text}");
    }
}

#[test]
fn what_the_scanner_leaves_to_serde_json_is_decoded_there() {
    let left = [
        // Escaped member names.
        with_span(r#""n\u0061me":"x""#),
        r#"{"resource\u0053pans":[{"scopeSpans":[{"spans":[{"name":"x"}]}]}]}"#.to_owned(),
        // `arrayValue` in serde's sequence form of a struct.
        with_value(r#"{"arrayValue":[[{"stringValue":"x"}]]}"#),
        // Nesting deeper than the scanner follows, in a skipped member and in a value.
        with_span(&format!(
            r#""unknown":{}1{},"name":"deep""#,
            "[".repeat(120),
            "]".repeat(120)
        )),
        // (each `arrayValue` is three levels: the AnyValue, the ArrayValue, its `values`)
        with_value(&nested_arrays(33)),
    ];
    for text in &left {
        assert_eq!(outcome(text), Outcome::LeftToSerdeDecoded, "{text}");
    }
    // Deeper than serde_json's own limit of 128: rejected by both.
    assert_eq!(outcome(&with_value(&nested_arrays(45))), Outcome::Rejected);
    // Shallow enough for the scanner: the same spans.
    assert_eq!(outcome(&with_value(&nested_arrays(25))), Outcome::Accepted);
}

/// An `AnyValue` that is `depth` nested `arrayValue`s around a string.
fn nested_arrays(depth: usize) -> String {
    let mut value = r#"{"stringValue":"core"}"#.to_owned();
    for _ in 0..depth {
        value = format!(r#"{{"arrayValue":{{"values":[{value}]}}}}"#);
    }
    value
}

#[test]
fn huge_attributes_and_many_spans_are_scanned_alike() {
    let big = "x".repeat(200_000);
    let escaped = "\\\"\\u00e9".repeat(20_000);
    let mut members =
        format!(r#""name":"big","attributes":[{{"key":"big","value":{{"stringValue":"{big}"}}}},"#);
    members.push_str(&format!(
        r#"{{"key":"escaped","value":{{"stringValue":"{escaped}"}}}}]"#
    ));
    assert_eq!(outcome(&with_span(&members)), Outcome::Accepted);
    let spans: Vec<String> = (0..2_000)
        .map(|i| format!(r#"{{"spanId":"{i:016X}","name":"s{i}","attributes":[{{"key":"i","value":{{"intValue":{i}}}}}]}}"#))
        .collect();
    let text = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
        spans.join(",")
    );
    assert_eq!(outcome(&text), Outcome::Accepted);
    assert_eq!(scanned(&text).unwrap()[1999].span_id, "00000000000007cf");
}
