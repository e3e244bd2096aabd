//! Spans are processed as they are decoded, yet a document that turns out malformed leaves no
//! trace: no records, no findings, no counts, no remembered fingerprints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fingerprint, line, resolve_span, span};
use deputy_audit::pipeline::{Batch, JsonLinesSink, run_lines};
use deputy_audit::{Finding, Pipeline};
use deputy_core::attr;
use deputy_core::audit::AuditRecord;

#[test]
fn a_line_that_breaks_after_good_spans_leaves_no_trace() {
    // Spans are processed as they are decoded; a fault later in the line undoes them all.
    let full = line(vec![
        span(
            1,
            attr::SPAN_RESOLVE,
            &resolve_span("t-early", Some("dev+alice"), "read", &fingerprint(1)),
        ),
        span(
            2,
            attr::SPAN_RESOLVE,
            &resolve_span("t-broken", Some("dev+alice"), "read", &fingerprint(2)),
        ),
    ]);
    let broken = &full[..full.len() - 40];
    // The same token for another task and user on the next line: had the broken line's first
    // span been remembered, this would be a shared fingerprint.
    let next = line(vec![span(
        3,
        attr::SPAN_RESOLVE,
        &resolve_span("t-next", Some("dev+bob"), "write", &fingerprint(1)),
    )]);
    let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
    let mut pipeline = Pipeline::default();
    let input = format!("{broken}\n{next}\n");
    run_lines(&mut pipeline, input.as_bytes(), &mut sink).unwrap();
    let records: Vec<AuditRecord> = String::from_utf8(sink.records)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let tasks: Vec<&str> = records
        .iter()
        .map(|r| r.correlation.task_id.as_str())
        .collect();
    assert_eq!(tasks, ["t-next"]);
    let findings: Vec<Finding> = String::from_utf8(sink.findings)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(sink.errors.len(), 1);
    assert!(
        sink.errors[0].to_string().starts_with("line 1, column "),
        "{}",
        sink.errors[0]
    );
    let stats = pipeline.stats();
    assert_eq!(
        (stats.lines, stats.spans, stats.resolves, stats.records),
        (2, 1, 1, 1)
    );
    assert_eq!(stats.errors, 1);
}

#[test]
fn an_http_body_that_breaks_is_refused_whole_and_the_batch_keeps_what_it_had() {
    let good = line(vec![span(
        1,
        attr::SPAN_RESOLVE,
        &resolve_span("t-kept", Some("dev+alice"), "read", &fingerprint(1)),
    )]);
    let full = line(vec![span(
        2,
        attr::SPAN_RESOLVE,
        &resolve_span("t-dropped", Some("dev+alice"), "read", &fingerprint(2)),
    )]);
    let mut pipeline = Pipeline::default();
    let mut batch = Batch::default();
    pipeline.json_document(&good, None, &mut batch).unwrap();
    let error = pipeline
        .json_document(&full[..full.len() - 10], None, &mut batch)
        .unwrap_err();
    assert!(error.to_string().contains("EOF while parsing"), "{error}");
    let tasks: Vec<&str> = batch
        .records
        .iter()
        .map(|r| r.correlation.task_id.as_str())
        .collect();
    assert_eq!(tasks, ["t-kept"]);
    assert_eq!((pipeline.stats().spans, pipeline.stats().records), (1, 1));
}

#[test]
fn a_serialising_batch_keeps_the_lines_of_good_documents_and_drops_those_of_a_broken_one() {
    let good = line(vec![
        span(
            1,
            attr::SPAN_RESOLVE,
            &resolve_span("t-kept", Some("dev+alice"), "read", &fingerprint(1)),
        ),
        span(
            2,
            attr::SPAN_RESOLVE,
            &resolve_span("t-also-kept", Some("dev+bob"), "write", &fingerprint(2)),
        ),
    ]);
    let full = line(vec![
        span(
            3,
            attr::SPAN_RESOLVE,
            &resolve_span("t-dropped", Some("dev+alice"), "read", &fingerprint(3)),
        ),
        span(
            4,
            attr::SPAN_RESOLVE,
            &resolve_span("t-dropped-too", Some("dev+alice"), "read", &fingerprint(4)),
        ),
    ]);
    let broken = &full[..full.len() - 10];
    let mut serialising = Batch::serialising();
    let mut pipeline = Pipeline::default();
    pipeline
        .json_document(&good, None, &mut serialising)
        .unwrap();
    assert!(
        pipeline
            .json_document(broken, None, &mut serialising)
            .is_err()
    );
    assert!(serialising.records.is_empty());
    // The same bytes a sink writes for the records a collecting batch keeps.
    let mut collecting = Batch::default();
    let mut reference = Pipeline::default();
    reference
        .json_document(&good, None, &mut collecting)
        .unwrap();
    assert!(
        reference
            .json_document(broken, None, &mut collecting)
            .is_err()
    );
    assert_eq!(collecting.records.len(), 2);
    let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
    deputy_audit::pipeline::write_batch(&collecting, &mut sink).unwrap();
    assert_eq!(
        String::from_utf8(serialising.record_lines.clone()).unwrap(),
        String::from_utf8(sink.records).unwrap()
    );
    assert_eq!(pipeline.stats(), reference.stats());
    // And a sink given the serialising batch writes those bytes.
    let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
    deputy_audit::pipeline::write_batch(&serialising, &mut sink).unwrap();
    assert_eq!(sink.records, serialising.record_lines);
}
