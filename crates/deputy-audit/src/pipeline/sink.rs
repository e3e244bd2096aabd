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

/// Writes records and findings as JSON lines to two writers and keeps the errors.
#[derive(Debug)]
pub struct JsonLinesSink<R, F> {
    /// Records go here.
    pub records: R,
    /// Findings go here.
    pub findings: F,
    /// Errors collected so far.
    pub errors: Vec<IngestError>,
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
        self.errors.push(error.clone());
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
