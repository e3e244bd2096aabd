//! `deputy audit`: the audit pipeline from the command line.
//!
//! - `serve --listen 127.0.0.1:4318`: an OTLP/HTTP receiver (protobuf or JSON, gzip or not)
//!   that an OpenTelemetry Collector forwards to;
//! - `ingest [FILE|-] --out FILE [--follow]`: OTLP/JSON lines (a collector file exporter's
//!   output) to `abca.audit.v1` records. Each record and finding is written and flushed as its
//!   line is read, and each skipped line is reported on stderr at once; with `--follow` the
//!   file is read as it grows, like `tail -F`, until the process is stopped;
//! - `report --in FILE --out FILE.html`: the HTML report of a records file.
//!
//! Exit codes of `ingest`: 0 clean, 2 invariant findings, 3 malformed input was skipped.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Subcommand;
use deputy_audit::pipeline::{IngestError, JsonLinesSink, Sink, run_lines};
use deputy_audit::receiver::{BearerToken, Config, router_with};
use deputy_audit::{Finding, Pipeline};
use deputy_core::audit::AuditRecord;
use secrecy::SecretString;

/// Exit code when invariant findings were reported.
const EXIT_FINDINGS: u8 = 2;
/// Exit code when malformed input was skipped.
const EXIT_SKIPPED: u8 = 3;

/// `deputy audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Receive OTLP/HTTP (`POST /v1/traces`, protobuf or JSON) and write records as they come.
    ///
    /// Beyond loopback, exporters must send `Authorization: Bearer <token>`: the token comes
    /// from `--token-file` or the `DEPUTY_AUDIT_TOKEN` environment variable, and the receiver
    /// refuses to start without one.
    Serve {
        /// Address to listen on; anything but loopback needs a bearer token.
        #[arg(long, default_value = "127.0.0.1:4318")]
        listen: SocketAddr,
        /// A file holding the bearer token exporters must send (else `DEPUTY_AUDIT_TOKEN`).
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Append records (JSON lines) to this file; stdout when absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Append findings (JSON lines) to this file; stderr when absent.
        #[arg(long)]
        findings: Option<PathBuf>,
    },
    /// Read OTLP/JSON lines from FILE (or `-` for stdin) and write records.
    Ingest {
        /// The input file, or `-` for stdin.
        #[arg(default_value = "-")]
        input: String,
        /// Where the records go (JSON lines); `-` for stdout.
        #[arg(long)]
        out: String,
        /// Where the findings go (JSON lines); stderr when absent.
        #[arg(long)]
        findings: Option<PathBuf>,
        /// Keep reading FILE as it grows (like `tail -F`: a truncated or rotated file is read
        /// from its start) until stopped.
        #[arg(long)]
        follow: bool,
    },
    /// Render the HTML report of a records file.
    Report {
        /// The records file (`abca.audit.v1` JSON lines).
        #[arg(long = "in")]
        input: PathBuf,
        /// The HTML file to write.
        #[arg(long)]
        out: PathBuf,
        /// Findings from `ingest` or `serve` (adds refused spans, which have no record).
        #[arg(long)]
        findings: Option<PathBuf>,
    },
}

/// Runs one `deputy audit` command.
pub async fn run(command: AuditCommand) -> Result<ExitCode, String> {
    match command {
        AuditCommand::Serve {
            listen,
            token_file,
            out,
            findings,
        } => serve(listen, token_file, out, findings).await,
        AuditCommand::Ingest {
            input,
            out,
            findings,
            follow,
        } => blocking(move || ingest(&input, &out, findings.as_deref(), follow)).await,
        AuditCommand::Report {
            input,
            out,
            findings,
        } => blocking(move || report(&input, &out, findings.as_deref())).await,
    }
}

async fn blocking(
    work: impl FnOnce() -> Result<ExitCode, String> + Send + 'static,
) -> Result<ExitCode, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("audit task failed: {e}"))?
}

type Writer = Box<dyn Write + Send>;

fn append(path: &Path, what: &str) -> Result<Writer, String> {
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .map(|f| Box::new(BufWriter::new(f)) as Writer)
        .map_err(|e| format!("cannot open {} for the {what}: {e}", path.display()))
}

fn findings_writer(path: Option<&Path>) -> Result<Writer, String> {
    match path {
        Some(path) => append(path, "findings"),
        None => Ok(Box::new(io::stderr())),
    }
}

/// The environment variable that may hold the receiver's bearer token.
const TOKEN_ENV: &str = "DEPUTY_AUDIT_TOKEN";

/// The bearer token from `--token-file` or [`TOKEN_ENV`]; required beyond loopback.
fn serve_token(
    listen: SocketAddr,
    token_file: Option<&Path>,
) -> Result<Option<BearerToken>, String> {
    let token = match token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?,
        ),
        None => std::env::var(TOKEN_ENV)
            .ok()
            .filter(|t| !t.trim().is_empty()),
    };
    match token {
        Some(token) => BearerToken::new(SecretString::from(token))
            .map(Some)
            .map_err(|e| e.to_string()),
        None if listen.ip().is_loopback() => Ok(None),
        None => Err(format!(
            "refusing to listen on {listen} without a bearer token: beyond loopback every exporter must authenticate. \
             Pass --token-file FILE or set {TOKEN_ENV}, and have exporters send it \
             (OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>)"
        )),
    }
}

async fn serve(
    listen: SocketAddr,
    token_file: Option<PathBuf>,
    out: Option<PathBuf>,
    findings: Option<PathBuf>,
) -> Result<ExitCode, String> {
    let token = serve_token(listen, token_file.as_deref())?;
    let authenticated = token.is_some();
    let records: Writer = match &out {
        Some(path) => append(path, "records")?,
        None => Box::new(io::stdout()),
    };
    let sink = JsonLinesSink::new(records, findings_writer(findings.as_deref())?);
    let shared = Arc::new(Mutex::new((Pipeline::default(), sink)));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    eprintln!(
        "deputy audit: receiving OTLP/HTTP on http://{local}/v1/traces{} (Ctrl-C to stop)",
        if authenticated {
            ", bearer token required"
        } else {
            ""
        }
    );
    let config = Config {
        token,
        ..Config::default()
    };
    axum::serve(listener, router_with(shared.clone(), config))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("the audit receiver on {local} failed: {e}"))?;
    let stats = blocking_stats(shared).await?;
    eprintln!("deputy audit: {stats}");
    Ok(ExitCode::SUCCESS)
}

async fn blocking_stats(
    shared: Arc<Mutex<(Pipeline, JsonLinesSink<Writer, Writer>)>>,
) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        let mut guard = shared
            .lock()
            .map_err(|_| "the audit pipeline failed while writing".to_owned())?;
        guard
            .1
            .flush()
            .map_err(|e| format!("cannot flush the audit output: {e}"))?;
        serde_json::to_string(guard.0.stats()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| format!("audit task failed: {e}"))?
}

/// A sink for `ingest`: records and findings are flushed as each line's are written, so a
/// reader downstream sees them live, and each skipped line is reported on stderr at once.
struct LiveSink<'a> {
    inner: JsonLinesSink<Writer, Writer>,
    input: &'a str,
}

impl Sink for LiveSink<'_> {
    fn record(&mut self, record: &AuditRecord) -> io::Result<()> {
        self.inner.record(record)?;
        self.inner.records.flush()
    }

    fn record_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        self.inner.record_lines(lines)?;
        self.inner.records.flush()
    }

    fn finding(&mut self, finding: &Finding) -> io::Result<()> {
        self.inner.finding(finding)?;
        self.inner.findings.flush()
    }

    fn error(&mut self, error: &IngestError) -> io::Result<()> {
        eprintln!("deputy audit: {}: {error}", self.input);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn ingest(
    input: &str,
    out: &str,
    findings: Option<&Path>,
    follow: bool,
) -> Result<ExitCode, String> {
    let reader: Box<dyn BufRead> = if follow {
        if input == "-" {
            return Err("--follow needs a file to follow, not stdin".to_owned());
        }
        let file = crate::audit_follow::Follow::open(PathBuf::from(input))
            .map_err(|e| format!("cannot read {input}: {e}"))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    } else if input == "-" {
        Box::new(io::stdin().lock())
    } else {
        let file = File::open(input).map_err(|e| format!("cannot read {input}: {e}"))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    let records: Writer = if out == "-" {
        Box::new(BufWriter::new(io::stdout()))
    } else {
        File::create(out)
            .map(|f| Box::new(BufWriter::new(f)) as Writer)
            .map_err(|e| format!("cannot write the records to {out}: {e}"))?
    };
    let mut sink = LiveSink {
        inner: JsonLinesSink::new(records, findings_writer(findings)?),
        input,
    };
    let mut pipeline = Pipeline::default();
    run_lines(&mut pipeline, reader, &mut sink)
        .map_err(|e| format!("reading {input} or writing {out} failed: {e}"))?;
    sink.flush()
        .map_err(|e| format!("cannot flush the records to {out}: {e}"))?;
    let stats = pipeline.stats();
    eprintln!(
        "deputy audit: {} lines, {} spans, {} records, {} refused, {} skipped, {} findings",
        stats.lines,
        stats.spans,
        stats.records,
        stats.refused,
        stats.errors,
        stats.findings.values().sum::<u64>()
    );
    Ok(if stats.errors > 0 {
        ExitCode::from(EXIT_SKIPPED)
    } else if !stats.findings.is_empty() {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    })
}

fn read_lines<T>(
    path: &Path,
    what: &str,
    parse: impl Fn(&str) -> serde_json::Result<T>,
) -> Result<Vec<T>, String> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            parse(&line)
                .map_err(|e| format!("{} line {}: not {what}: {e}", path.display(), i + 1))?,
        );
    }
    Ok(out)
}

fn report(input: &Path, out: &Path, findings: Option<&Path>) -> Result<ExitCode, String> {
    let records: Vec<AuditRecord> = read_lines(input, "an abca.audit.v1 record", |l| {
        serde_json::from_str(l)
    })?;
    let extra: Vec<Finding> = match findings {
        Some(path) => read_lines(path, "a deputy audit finding", |l| serde_json::from_str(l))?,
        None => Vec::new(),
    };
    let html = deputy_audit::report::render(&records, &extra);
    std::fs::write(out, html).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!(
        "deputy audit: report of {} records written to {}",
        records.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: &str = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"deputy.resolve","endTimeUnixNano":"1795000000000000000","attributes":[{"key":"task_id","value":{"stringValue":"t-cli"}},{"key":"deputy.integration","value":{"stringValue":"jira"}},{"key":"deputy.operation","value":{"stringValue":"write"}},{"key":"deputy.flow","value":{"stringValue":"m2m"}},{"key":"deputy.rule_id","value":{"stringValue":"jira-headless-write"}},{"key":"deputy.source","value":{"stringValue":"secrets-manager-fallback"}},{"key":"deputy.consent","value":{"stringValue":"not_required"}},{"key":"deputy.actor_chain.asserted","value":{"stringValue":"{\"agent\":\"deputy-agent\"}"}}]}]}]}]}"#;

    #[test]
    fn ingest_exit_codes_and_report_round_trip() {
        let dir = std::env::temp_dir().join(format!("deputy-audit-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("spans.jsonl");
        let records = dir.join("records.jsonl");
        let findings = dir.join("findings.jsonl");
        let html = dir.join("report.html");

        std::fs::write(&input, format!("{SPAN}\n")).unwrap();
        let code = ingest(
            input.to_str().unwrap(),
            records.to_str().unwrap(),
            Some(&findings),
            false,
        );
        assert_eq!(code.unwrap(), ExitCode::from(EXIT_FINDINGS));
        let written = std::fs::read_to_string(&records).unwrap();
        assert_eq!(written.lines().count(), 1);
        assert!(written.contains("\"task_id\":\"t-cli\""));
        let found = std::fs::read_to_string(&findings).unwrap();
        assert!(found.contains("write_without_user") && found.contains("secrets_manager_fallback"));

        assert_eq!(
            report(&records, &html, Some(&findings)).unwrap(),
            ExitCode::SUCCESS
        );
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(page.contains(r#"data-task-id="t-cli""#));

        std::fs::write(&input, format!("{SPAN}\n{{\"resourceSpans\":7}}\n")).unwrap();
        let code = ingest(
            input.to_str().unwrap(),
            records.to_str().unwrap(),
            Some(&findings),
            false,
        );
        assert_eq!(code.unwrap(), ExitCode::from(EXIT_SKIPPED));
        assert_eq!(
            std::fs::read_to_string(&records).unwrap().lines().count(),
            1
        );

        let missing = report(&dir.join("absent.jsonl"), &html, None).unwrap_err();
        assert!(missing.contains("absent.jsonl"), "{missing}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
