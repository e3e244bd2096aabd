//! `deputy-audit`: the audit pipeline that reads deputy's spans and writes `abca.audit.v1`
//! records ([`deputy_core::audit::AuditRecord`]), checking the audit invariants.
//!
//! Span attribute names come from [`deputy_core::attr`] only. The OTLP readers, the invariant
//! checks and the HTML report arrive with the audit issue; this crate holds no code until then.
