//! Where the pipeline's output goes: the [`Sink`] trait and JSON lines.

use std::io::{self, Write};

use deputy_core::audit::AuditRecord;
use serde::Serialize;

use super::{Batch, IngestError};
use crate::finding::Finding;
use crate::record_json;

/// Where [`run_lines`] puts its output.
pub trait Sink {
    /// One record.
    fn record(&mut self, record: &AuditRecord) -> io::Result<()>;
    /// Records serialised already ([`Batch::record_lines`]): one JSON line per record, each
    /// ending in `\n`, the bytes [`JsonLinesSink`] writes for the record in
    /// [`Sink::record`].
    fn record_lines(&mut self, lines: &[u8]) -> io::Result<()>;
    /// One finding.
    fn finding(&mut self, finding: &Finding) -> io::Result<()>;
    /// One skipped line or span.
    fn error(&mut self, error: &IngestError) -> io::Result<()>;
    /// Makes everything written so far durable (called after each receiver request).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The most errors a [`JsonLinesSink`] keeps; later ones are only counted.
pub const MAX_KEPT_ERRORS: usize = 1024;

/// Writes records and findings as JSON lines to two writers and keeps the first
/// [`MAX_KEPT_ERRORS`] errors (a receiver that runs for months must not keep every malformed
/// request it was sent); the others are counted in [`JsonLinesSink::errors_not_kept`].
///
/// ```
/// use deputy_audit::pipeline::{JsonLinesSink, MAX_KEPT_ERRORS, run_lines};
/// let input = "not json\n".repeat(MAX_KEPT_ERRORS + 5);
/// let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
/// run_lines(&mut deputy_audit::Pipeline::default(), input.as_bytes(), &mut sink).unwrap();
/// assert_eq!((sink.errors.len(), sink.errors_not_kept), (MAX_KEPT_ERRORS, 5));
/// ```
#[derive(Debug)]
pub struct JsonLinesSink<R, F> {
    /// Records go here.
    pub records: R,
    /// Findings go here.
    pub findings: F,
    /// The first [`MAX_KEPT_ERRORS`] errors.
    pub errors: Vec<IngestError>,
    /// Errors counted but not kept, after the first [`MAX_KEPT_ERRORS`].
    pub errors_not_kept: u64,
    /// One record or finding is serialised here, then written with one call.
    line: Vec<u8>,
}

impl<R: Write, F: Write> JsonLinesSink<R, F> {
    /// A sink writing to `records` and `findings`.
    pub fn new(records: R, findings: F) -> Self {
        JsonLinesSink {
            records,
            findings,
            errors: Vec::new(),
            errors_not_kept: 0,
            line: Vec::with_capacity(1024),
        }
    }
}

impl<R: Write, F: Write> Sink for JsonLinesSink<R, F> {
    fn record(&mut self, record: &AuditRecord) -> io::Result<()> {
        self.line.clear();
        record_json::write_record(&mut self.line, record);
        self.line.push(b'\n');
        self.records.write_all(&self.line)
    }

    fn record_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        self.records.write_all(lines)
    }

    fn finding(&mut self, finding: &Finding) -> io::Result<()> {
        write_json_line(&mut self.line, &mut self.findings, finding)
    }

    fn error(&mut self, error: &IngestError) -> io::Result<()> {
        if self.errors.len() < MAX_KEPT_ERRORS {
            self.errors.push(error.clone());
        } else {
            self.errors_not_kept += 1;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.records.flush()?;
        self.findings.flush()
    }
}

fn write_json_line(
    buffer: &mut Vec<u8>,
    out: &mut impl Write,
    value: &impl Serialize,
) -> io::Result<()> {
    buffer.clear();
    serde_json::to_writer(&mut *buffer, value)?;
    buffer.push(b'\n');
    out.write_all(buffer)
}

/// Writes a batch to a sink.
pub fn write_batch(batch: &Batch, sink: &mut impl Sink) -> io::Result<()> {
    if !batch.record_lines.is_empty() {
        sink.record_lines(&batch.record_lines)?;
    }
    for record in &batch.records {
        sink.record(record)?;
    }
    for finding in &batch.findings {
        sink.finding(finding)?;
    }
    for error in &batch.errors {
        sink.error(error)?;
    }
    Ok(())
}
