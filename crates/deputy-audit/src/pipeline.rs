//! The pipeline: spans in, records and findings out, one bad line or span never costing the
//! others.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};

use deputy_core::audit::AuditRecord;
use serde::Serialize;

use crate::finding::{Finding, Rule};
use crate::hygiene::{self, OversizedAttribute};
use crate::invariants::InvariantChecker;
use crate::otlp_json::{self, JsonDecodeError};
use crate::record::{self, Resolution, SpanError};
use crate::span::Span;

/// Input that could not be read; the rest of the input is still processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// A line is not OTLP/JSON.
    #[error("line {line}, column {}: {}; the line was skipped, the other lines were read", .source.column, .source.message)]
    Line {
        /// 1-based input line.
        line: u64,
        /// The decoding error.
        source: JsonDecodeError,
    },
    /// A line is not UTF-8.
    #[error("line {line}: not UTF-8 ({reason}); the line was skipped")]
    NotUtf8 {
        /// 1-based input line.
        line: u64,
        /// Where the bad byte is.
        reason: String,
    },
    /// A `deputy.resolve` span lacks or garbles an attribute.
    #[error("{}{source}; the span was skipped", at(*line))]
    Span {
        /// 1-based input line, when the input has lines.
        line: Option<u64>,
        /// What is wrong.
        source: SpanError,
    },
    /// A span attribute is too large.
    #[error("{}{source}", at(*line))]
    Oversized {
        /// 1-based input line, when the input has lines.
        line: Option<u64>,
        /// Which attribute.
        source: OversizedAttribute,
    },
}

fn at(line: Option<u64>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}

/// What came out of some spans.
#[derive(Debug, Default)]
pub struct Batch {
    /// Records to write.
    pub records: Vec<AuditRecord>,
    /// Invariant findings.
    pub findings: Vec<Finding>,
    /// Input that was skipped.
    pub errors: Vec<IngestError>,
}

/// Counts over everything the pipeline has seen.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Input lines read (files and stdin).
    pub lines: u64,
    /// Spans decoded.
    pub spans: u64,
    /// `deputy.resolve` spans.
    pub resolves: u64,
    /// Records written.
    pub records: u64,
    /// Resolves without a token, by error kind (`unknown` when the span names none).
    pub unissued: BTreeMap<String, u64>,
    /// Records refused because a span carried token material.
    pub refused: u64,
    /// Lines or spans skipped as malformed.
    pub errors: u64,
    /// Findings by rule.
    pub findings: BTreeMap<Rule, u64>,
}

/// The audit pipeline's state: the invariant checker and the counts.
///
/// ```
/// let mut pipeline = deputy_audit::Pipeline::default();
/// let batch = pipeline.json_line(1, r#"{"resourceSpans":[]}"#);
/// assert!(batch.records.is_empty() && batch.errors.is_empty());
/// let batch = pipeline.json_line(2, r#"{"resourceSpans":[{"scopeSpans":"#);
/// assert!(batch.errors[0].to_string().starts_with("line 2, column"));
/// ```
#[derive(Debug, Default)]
pub struct Pipeline {
    checker: InvariantChecker,
    stats: Stats,
}

impl Pipeline {
    /// A pipeline with a custom invariant checker (e.g. one that knows the IdP issuers).
    pub fn with_checker(checker: InvariantChecker) -> Self {
        Pipeline {
            checker,
            stats: Stats::default(),
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Processes one OTLP/JSON line (`line` is its 1-based number).
    pub fn json_line(&mut self, line: u64, text: &str) -> Batch {
        self.stats.lines += 1;
        if text.trim().is_empty() {
            return Batch::default();
        }
        match otlp_json::decode(text) {
            Ok(spans) => self.spans(&spans, Some(line)),
            Err(source) => {
                self.stats.errors += 1;
                Batch {
                    errors: vec![IngestError::Line { line, source }],
                    ..Batch::default()
                }
            }
        }
    }

    /// Processes decoded spans (from one line, or one OTLP/HTTP request when `line` is `None`).
    pub fn spans(&mut self, spans: &[Span<'_>], line: Option<u64>) -> Batch {
        let mut batch = Batch {
            records: Vec::with_capacity(spans.len()),
            ..Batch::default()
        };
        for span in spans {
            self.span(span, line, &mut batch);
        }
        for finding in &batch.findings {
            *self.stats.findings.entry(finding.rule).or_default() += 1;
        }
        self.stats.errors += batch.errors.len() as u64;
        batch
    }

    fn span(&mut self, span: &Span<'_>, line: Option<u64>, batch: &mut Batch) {
        self.stats.spans += 1;
        if let Some(source) = hygiene::oversized(span) {
            batch.errors.push(IngestError::Oversized { line, source });
            return;
        }
        let material = hygiene::token_material(span, line);
        let resolution = record::resolution(span);
        if matches!(
            resolution,
            Ok(Resolution::Issued(_) | Resolution::Unissued(_))
        ) {
            self.stats.resolves += 1;
        }
        if !material.is_empty() {
            if matches!(resolution, Ok(Resolution::Issued(_)) | Err(_)) {
                self.stats.refused += 1;
            }
            batch.findings.extend(material);
            return;
        }
        match resolution {
            Ok(Resolution::NotAResolve) => {}
            Ok(Resolution::Unissued(kind)) => {
                *self
                    .stats
                    .unissued
                    .entry(kind.unwrap_or_else(|| "unknown".to_owned()))
                    .or_default() += 1;
            }
            Ok(Resolution::Issued(record)) => {
                batch.findings.extend(self.checker.check(&record));
                self.stats.records += 1;
                batch.records.push(*record);
            }
            Err(source) => batch.errors.push(IngestError::Span { line, source }),
        }
    }
}

/// Where [`run_lines`] puts its output.
pub trait Sink {
    /// One record.
    fn record(&mut self, record: &AuditRecord) -> io::Result<()>;
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
}

impl<R: Write, F: Write> JsonLinesSink<R, F> {
    /// A sink writing to `records` and `findings`.
    pub fn new(records: R, findings: F) -> Self {
        JsonLinesSink {
            records,
            findings,
            errors: Vec::new(),
        }
    }
}

impl<R: Write, F: Write> Sink for JsonLinesSink<R, F> {
    fn record(&mut self, record: &AuditRecord) -> io::Result<()> {
        serde_json::to_writer(&mut self.records, record)?;
        self.records.write_all(b"\n")
    }

    fn finding(&mut self, finding: &Finding) -> io::Result<()> {
        serde_json::to_writer(&mut self.findings, finding)?;
        self.findings.write_all(b"\n")
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

/// Writes a batch to a sink.
pub fn write_batch(batch: &Batch, sink: &mut impl Sink) -> io::Result<()> {
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

/// Reads OTLP/JSON lines (a collector file exporter's output, a file or stdin) to the end.
/// Only I/O errors stop it; malformed lines are reported to the sink and skipped.
///
/// ```
/// use deputy_audit::pipeline::{run_lines, JsonLinesSink};
/// let input = "{\"resourceSpans\":[]}\nnot json\n";
/// let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
/// let mut pipeline = deputy_audit::Pipeline::default();
/// run_lines(&mut pipeline, input.as_bytes(), &mut sink).unwrap();
/// assert_eq!(sink.errors.len(), 1);
/// assert!(sink.errors[0].to_string().starts_with("line 2"));
/// ```
pub fn run_lines(
    pipeline: &mut Pipeline,
    mut reader: impl BufRead,
    sink: &mut impl Sink,
) -> io::Result<()> {
    let mut buffer = Vec::with_capacity(64 * 1024);
    let mut line = 0u64;
    loop {
        buffer.clear();
        if reader.read_until(b'\n', &mut buffer)? == 0 {
            return Ok(());
        }
        line += 1;
        let text = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let batch = match std::str::from_utf8(text) {
            Ok(text) => pipeline.json_line(line, text),
            Err(e) => {
                pipeline.stats.lines += 1;
                pipeline.stats.errors += 1;
                Batch {
                    errors: vec![IngestError::NotUtf8 {
                        line,
                        reason: format!("invalid byte at offset {}", e.valid_up_to()),
                    }],
                    ..Batch::default()
                }
            }
        };
        write_batch(&batch, sink)?;
    }
}
