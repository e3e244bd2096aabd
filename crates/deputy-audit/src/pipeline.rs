//! The pipeline: spans in, records and findings out, one bad line or span never costing the
//! others.

use std::collections::BTreeMap;
use std::io::{self, BufRead};

use deputy_core::audit::AuditRecord;
use serde::Serialize;

use crate::finding::{Finding, Rule};
use crate::hygiene::{self, OversizedAttribute};
use crate::invariants::InvariantChecker;
use crate::otlp_json::{self, JsonDecodeError};
use crate::record::{self, Resolution, SpanError};
use crate::record_json;
use crate::span::Span;
pub use lines::MAX_LINE_BYTES;
use lines::{LineRead, read_bounded_line};

pub use sink::{JsonLinesSink, MAX_KEPT_ERRORS, Sink, write_batch};

mod lines;
mod sink;

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
    /// A line is longer than [`MAX_LINE_BYTES`]; it was read past without being kept.
    #[error(
        "line {line}: longer than {MAX_LINE_BYTES} bytes; the line was skipped (split the collector's batches)"
    )]
    TooLong {
        /// 1-based input line.
        line: u64,
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
    /// Records to write (boxed: a record is large, and is moved only as a pointer). Empty in
    /// a batch made with [`Batch::serialising`], which holds its records in `record_lines`.
    pub records: Vec<Box<AuditRecord>>,
    /// Records already serialised, in a batch made with [`Batch::serialising`]: one JSON
    /// line per record (the bytes [`JsonLinesSink`] writes for it, `\n` included), in the
    /// order the records were built.
    pub record_lines: Vec<u8>,
    /// Invariant findings.
    pub findings: Vec<Finding>,
    /// Input that was skipped.
    pub errors: Vec<IngestError>,
    /// Whether records are serialised into `record_lines` as they are built.
    serialising: bool,
}

impl Batch {
    /// A batch whose records are serialised into [`Batch::record_lines`] as soon as each
    /// is built (while it is still in cache; its allocations go to the next record) instead
    /// of being kept in [`Batch::records`]. A malformed document is still undone whole: the
    /// lines its records added are truncated away.
    ///
    /// ```
    /// use deputy_audit::pipeline::Batch;
    /// let mut pipeline = deputy_audit::Pipeline::default();
    /// let mut batch = Batch::serialising();
    /// pipeline.json_line_into(1, r#"{"resourceSpans":[]}"#, &mut batch);
    /// assert!(batch.records.is_empty() && batch.record_lines.is_empty());
    /// ```
    pub fn serialising() -> Self {
        Batch {
            serialising: true,
            ..Batch::default()
        }
    }

    /// Empties the batch, keeping its capacity.
    pub fn clear(&mut self) {
        self.records.clear();
        self.record_lines.clear();
        self.findings.clear();
        self.errors.clear();
    }
}

/// The most error kinds [`Stats::unissued`] tells apart.
pub const MAX_UNISSUED_KINDS: usize = 64;

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
    /// Resolves without a token, by error kind (`unknown` when the span names none). The
    /// kind comes from the span, so at most [`MAX_UNISSUED_KINDS`] kinds are told apart; the
    /// later ones are counted under `other`.
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
    /// What building records reuses from earlier ones.
    reuse: record::Reuse,
}

impl Pipeline {
    /// A pipeline with a custom invariant checker (e.g. one that knows the IdP issuers).
    pub fn with_checker(checker: InvariantChecker) -> Self {
        Pipeline {
            checker,
            stats: Stats::default(),
            reuse: record::Reuse::default(),
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Processes one OTLP/JSON line (`line` is its 1-based number).
    pub fn json_line(&mut self, line: u64, text: &str) -> Batch {
        let mut batch = Batch::default();
        self.json_line_into(line, text, &mut batch);
        batch
    }

    /// Like [`Pipeline::json_line`], appending to `batch` (so its vectors can be reused).
    pub fn json_line_into(&mut self, line: u64, text: &str, batch: &mut Batch) {
        self.stats.lines += 1;
        if text.trim().is_empty() {
            return;
        }
        if let Err(source) = self.json_document(text, Some(line), batch) {
            self.stats.errors += 1;
            batch.errors.push(IngestError::Line { line, source });
        }
    }

    /// Processes one OTLP/JSON `ExportTraceServiceRequest` (a line, or an OTLP/HTTP body when
    /// `line` is `None`), appending to `batch`. Each span is processed as it is decoded; when
    /// the document turns out malformed, everything it did is undone (records, findings,
    /// counts, fingerprints seen) and the error is returned.
    ///
    /// ```
    /// use deputy_audit::pipeline::Batch;
    /// let mut pipeline = deputy_audit::Pipeline::default();
    /// let mut batch = Batch::default();
    /// let broken = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"x"},"#;
    /// assert!(pipeline.json_document(broken, None, &mut batch).is_err());
    /// assert_eq!(pipeline.stats().spans, 0);
    /// ```
    pub fn json_document(
        &mut self,
        text: &str,
        line: Option<u64>,
        batch: &mut Batch,
    ) -> Result<(), JsonDecodeError> {
        let mark = Mark {
            records: batch.records.len(),
            record_lines: batch.record_lines.len(),
            findings: batch.findings.len(),
            errors: batch.errors.len(),
            stats: self.stats.clone(),
        };
        self.checker.begin();
        // The fast scanner first; when it gives up, undo what its spans did and let serde_json
        // (the reference decoder) read the document or report the error.
        if otlp_json::scan_each(text, |span| self.span(span, line, batch)).is_ok() {
            self.checker.commit();
            self.count(batch, mark.findings, mark.errors);
            return Ok(());
        }
        self.undo(&mark, batch);
        self.checker.begin();
        match otlp_json::decode_each(text, |span| self.span(span, line, batch)) {
            Ok(()) => {
                self.checker.commit();
                self.count(batch, mark.findings, mark.errors);
                Ok(())
            }
            Err(source) => {
                self.undo(&mark, batch);
                Err(source)
            }
        }
    }

    /// Undoes everything since `mark` (records, findings, errors, counts, fingerprints seen).
    fn undo(&mut self, mark: &Mark, batch: &mut Batch) {
        self.checker.rollback();
        self.stats.clone_from(&mark.stats);
        batch.records.truncate(mark.records);
        batch.record_lines.truncate(mark.record_lines);
        batch.findings.truncate(mark.findings);
        batch.errors.truncate(mark.errors);
    }

    /// Processes decoded spans (from one line, or one OTLP/HTTP request when `line` is `None`).
    pub fn spans(&mut self, spans: &[Span<'_>], line: Option<u64>) -> Batch {
        let mut batch = Batch::default();
        self.spans_into(spans, line, &mut batch);
        batch
    }

    /// Like [`Pipeline::spans`], appending to `batch`.
    pub fn spans_into(&mut self, spans: &[Span<'_>], line: Option<u64>, batch: &mut Batch) {
        let (findings, errors) = (batch.findings.len(), batch.errors.len());
        for span in spans {
            self.span(span, line, batch);
        }
        self.count(batch, findings, errors);
    }

    /// Counts the findings and errors `batch` gained after the first `findings` and `errors`.
    fn count(&mut self, batch: &Batch, findings: usize, errors: usize) {
        for finding in &batch.findings[findings..] {
            *self.stats.findings.entry(finding.rule).or_default() += 1;
        }
        self.stats.errors += (batch.errors.len() - errors) as u64;
    }

    fn span(&mut self, span: &Span<'_>, line: Option<u64>, batch: &mut Batch) {
        self.stats.spans += 1;
        if let Some(source) = hygiene::oversized(span) {
            batch.errors.push(IngestError::Oversized { line, source });
            return;
        }
        let material = hygiene::token_material(span, line);
        let resolution = record::resolution_reusing(span, &mut self.reuse);
        if matches!(
            resolution,
            Ok(Resolution::Issued(_) | Resolution::Unissued(_))
        ) {
            self.stats.resolves += 1;
        }
        if !material.is_empty() {
            if !matches!(resolution, Ok(Resolution::NotAResolve)) {
                self.stats.refused += 1;
            }
            batch.findings.extend(material);
            return;
        }
        match resolution {
            Ok(Resolution::NotAResolve) => {}
            Ok(Resolution::Unissued(record)) => {
                let unissued = &mut self.stats.unissued;
                let kind = record.error_kind.as_deref().unwrap_or("unknown");
                let kind = if unissued.len() >= MAX_UNISSUED_KINDS && !unissued.contains_key(kind) {
                    "other"
                } else {
                    kind
                };
                *unissued.entry(kind.to_owned()).or_default() += 1;
                // Recorded, so an auditor sees what was refused; the invariants are about
                // issued tokens, so a refusal is never a finding.
                self.emit(record, batch);
            }
            Ok(Resolution::Issued(record)) => {
                batch.findings.extend(self.checker.check(&record));
                self.emit(record, batch);
            }
            Err(source) => batch.errors.push(IngestError::Span { line, source }),
        }
    }

    /// Writes `record` into `batch` and counts it.
    fn emit(&mut self, record: Box<AuditRecord>, batch: &mut Batch) {
        self.stats.records += 1;
        if batch.serialising {
            // Written while still in cache; its allocations build the next record.
            record_json::write_record(&mut batch.record_lines, &record);
            batch.record_lines.push(b'\n');
            self.reuse.records.push(record);
        } else {
            batch.records.push(record);
        }
    }
}

/// What a batch and the counts were before a document was read.
struct Mark {
    records: usize,
    record_lines: usize,
    findings: usize,
    errors: usize,
    stats: Stats,
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
    let mut batch = Batch::serialising();
    let mut line = 0u64;
    loop {
        buffer.clear();
        let read = match read_bounded_line(&mut reader, &mut buffer)? {
            None => return Ok(()),
            Some(read) => read,
        };
        line += 1;
        if read == LineRead::TooLong {
            pipeline.stats.lines += 1;
            pipeline.stats.errors += 1;
            batch.clear();
            batch.errors.push(IngestError::TooLong { line });
            write_batch(&batch, sink)?;
            continue;
        }
        let text = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        batch.clear();
        match std::str::from_utf8(text) {
            Ok(text) => pipeline.json_line_into(line, text, &mut batch),
            Err(e) => {
                pipeline.stats.lines += 1;
                pipeline.stats.errors += 1;
                batch.errors.push(IngestError::NotUtf8 {
                    line,
                    reason: format!("invalid byte at offset {}", e.valid_up_to()),
                });
            }
        }
        write_batch(&batch, sink)?;
    }
}
