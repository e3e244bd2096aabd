//! The fast OTLP/JSON scanner on mutated documents (a deterministic in-test fuzzer; the
//! libFuzzer target `fuzz/fuzz_targets/otlp_json.rs` checks the same properties), and the
//! pipeline's fallback to `serde_json` after the scanner has already handed it spans.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fingerprint, line, resolve_span, span};
use deputy_audit::otlp_json;
use deputy_audit::pipeline::Batch;
use deputy_audit::span::Span;
use deputy_audit::{Pipeline, Stats};
use deputy_core::attr;

/// xorshift64*: a fixed sequence, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Pieces of JSON and OTLP that make mutations reach interesting states.
const PIECES: &[&str] = &[
    "\"",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    " ",
    "\n",
    "null",
    "true",
    "false",
    "-0",
    "0",
    "1e400",
    "1.5",
    "-",
    "\\u",
    "\\ud83d\\ude00",
    "\\ud800",
    "\\u0041",
    "é",
    "\"values\":",
    "\"key\":",
    "\"value\":",
    "\"intValue\":",
    "\"doubleValue\":",
    "\"arrayValue\":",
    "\"kvlistValue\":",
    "\"stringValue\":",
    "\"name\":",
    "\"attributes\":",
    "\"endTimeUnixNano\":",
    "\"18446744073709551616\"",
    "9223372036854775808",
    "\u{feff}",
    "\t",
    "\u{1}",
];

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 => {
                let end = (at + 1 + rng.below(8)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                bytes.splice(at..at, piece.bytes());
            }
            2 if at < bytes.len() => bytes[at] = PIECES[rng.below(PIECES.len())].as_bytes()[0],
            _ => {
                let end = (at + rng.below(24)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, copy);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn collect<E>(
    decode: impl FnOnce(&mut dyn FnMut(&Span<'_>)) -> Result<(), E>,
) -> Result<String, E> {
    let mut spans = Vec::new();
    decode(&mut |span| spans.push(format!("{span:?}")))?;
    Ok(spans.join("\n"))
}

#[test]
fn mutated_documents_never_make_the_two_decoders_disagree() {
    let seeds = [
        line(vec![
            span(
                1,
                attr::SPAN_RESOLVE,
                &resolve_span("t-1", Some("dev+alice"), "write", &fingerprint(1)),
            ),
            span(2, attr::SPAN_VAULT_CALL, &[]),
        ]),
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a\u00e9\n","endTimeUnixNano":7,"attributes":[{"key":"a","value":{"arrayValue":{"values":[{"intValue":"-1"},{"doubleValue":-0.0},{"boolValue":true},null]}}},{"key":"k","value":{"kvlistValue":{"values":[{"key":"x","value":{"bytesValue":"AA=="}}]}}}]}]}]}]}"#.to_owned(),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut left, mut rejected) = (0, 0, 0);
    for i in 0..30_000 {
        let text = mutate(&mut rng, &seeds[i % seeds.len()]);
        let fast = collect(|f| otlp_json::scan_each(&text, f));
        let reference = collect(|f| otlp_json::decode_each(&text, f));
        match (fast, reference) {
            (Ok(fast), Ok(reference)) => {
                assert_eq!(fast, reference, "different spans for {text}");
                accepted += 1;
            }
            (Ok(_), Err(e)) => panic!("scanner accepted what serde_json rejects ({e}): {text}"),
            (Err(_), Ok(_)) => left += 1,
            (Err(_), Err(_)) => rejected += 1,
        }
    }
    // The mutations reach all three outcomes (so the properties were exercised).
    assert!(
        accepted > 1_000 && rejected > 1_000 && left > 0,
        "{accepted} {left} {rejected}"
    );
}

#[test]
fn a_document_the_scanner_gives_up_on_late_is_read_once_by_serde_json() {
    let good = line(vec![
        span(
            1,
            attr::SPAN_RESOLVE,
            &resolve_span("t-1", Some("dev+alice"), "read", &fingerprint(1)),
        ),
        span(
            2,
            attr::SPAN_RESOLVE,
            &resolve_span("t-2", Some("dev+bob"), "read", &fingerprint(2)),
        ),
    ]);
    // The last member name escaped: valid JSON the scanner leaves to serde_json, after it has
    // already handed the pipeline the first span.
    let at = good.rfind("\"name\"").unwrap();
    let escaped = format!("{}\"n\\u0061me\"{}", &good[..at], &good[at + 6..]);
    assert!(otlp_json::scan_each(&escaped, |_| {}).is_err());

    let run = |text: &str| -> (Batch, Stats) {
        let mut pipeline = Pipeline::default();
        let batch = pipeline.json_line(1, text);
        (batch, pipeline.stats().clone())
    };
    let (expected, expected_stats) = run(&good);
    let (batch, stats) = run(&escaped);
    assert_eq!(batch.records, expected.records);
    assert_eq!(batch.records.len(), 2);
    assert!(batch.findings.is_empty() && batch.errors.is_empty());
    assert_eq!(stats, expected_stats);
    assert_eq!(stats.spans, 2);
    assert_eq!(stats.records, 2);
}
