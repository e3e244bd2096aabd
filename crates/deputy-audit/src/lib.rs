//! `deputy-audit`: the audit pipeline that reads deputy's spans and writes `abca.audit.v1`
//! records ([`deputy_core::audit::AuditRecord`]), checking the audit invariants.
//!
//! Inputs are OTLP/JSON lines (an OpenTelemetry Collector's file exporter, a file, stdin) and
//! OTLP/HTTP ([`receiver::router`], protobuf or JSON, gzip or not). Each `deputy.resolve` span
//! that issued a token becomes one record, joined to its trace by the span's own trace id.
//! Every record is checked ([`invariants::InvariantChecker`]): service writes without a
//! user-rooted chain, Secrets Manager fallback issuance, `act` chains that disagree with the
//! asserted chain, and one user's token seen for another user. A span with anything that
//! looks like token material is never written; it becomes a [`finding::Rule::TokenMaterial`]
//! finding naming the attribute. [`report::render`] turns records into an HTML page.
//!
//! Span attribute names come from [`deputy_core::attr`] only. This crate reads spans; it does
//! not link the resolver.
//!
//! ```
//! use deputy_audit::pipeline::{run_lines, JsonLinesSink};
//! let line = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"deputy.resolve","endTimeUnixNano":"1795000000000000000","attributes":[
//!   {"key":"task_id","value":{"stringValue":"t-1"}},{"key":"deputy.integration","value":{"stringValue":"linear"}},
//!   {"key":"deputy.operation","value":{"stringValue":"read"}},{"key":"deputy.flow","value":{"stringValue":"m2m"}},
//!   {"key":"deputy.rule_id","value":{"stringValue":"service-read"}},{"key":"deputy.source","value":{"stringValue":"vault"}},
//!   {"key":"deputy.consent","value":{"stringValue":"not_required"}},
//!   {"key":"deputy.actor_chain.asserted","value":{"stringValue":"{\"agent\":\"deputy-agent\"}"}}]}]}]}]}"#;
//! let line = line.replace('\n', ""); // one request per line
//! let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
//! run_lines(&mut deputy_audit::Pipeline::default(), line.as_bytes(), &mut sink).unwrap();
//! let record: serde_json::Value = serde_json::from_slice(&sink.records).unwrap();
//! assert_eq!(record["schema"], "abca.audit.v1");
//! assert_eq!(record["correlation"]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
//! ```

pub mod chain_json;
pub mod finding;
pub mod hygiene;
pub mod invariants;
pub mod otlp_json;
pub mod otlp_proto;
pub mod pipeline;
pub mod receiver;
pub mod record;
pub mod record_json;
pub mod report;
pub mod span;

pub use finding::{Finding, Rule};
pub use pipeline::{Pipeline, Stats};
