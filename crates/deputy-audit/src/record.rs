//! From a `deputy.resolve` span to an `abca.audit.v1` record.
//!
//! A record is written for every resolve that issued a token (the span has
//! `deputy.source`). Resolves that ended in an error (consent pending, access denied, …) are
//! counted by error kind but produce no record: the schema requires where the token came from.

use std::str::FromStr;

use deputy_core::actor::{AssertedChain, ObservedDelegation};
use deputy_core::attr;
use deputy_core::audit::{
    AuditRecord, ConsentOutcome, Correlation, CredentialSource, SCHEMA, TokenFingerprint,
};
use deputy_core::{Integration, Operation, RepoRef, TaskId, TraceId, UserId};
use serde::Deserialize;
use serde::de::IntoDeserializer;

use crate::span::{AttrValue, Span};

/// What one span means to the audit pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Not a `deputy.resolve` span (vault calls, application spans, …).
    NotAResolve,
    /// A resolve that issued a token.
    Issued(Box<AuditRecord>),
    /// A resolve that ended without a token; the error kind when the span names one.
    Unissued(Option<String>),
}

/// Why a `deputy.resolve` span cannot become a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    /// A required attribute is absent (or not a string).
    #[error(
        "span {span_id} (trace {trace_id}) lacks the string attribute `{key}` a deputy.resolve span carries"
    )]
    Missing {
        /// The trace.
        trace_id: String,
        /// The span.
        span_id: String,
        /// The attribute name.
        key: &'static str,
    },
    /// An attribute has a value deputy never writes.
    #[error("span {span_id} (trace {trace_id}): attribute `{key}` is invalid: {reason}")]
    Invalid {
        /// The trace.
        trace_id: String,
        /// The span.
        span_id: String,
        /// The attribute name.
        key: &'static str,
        /// What is wrong with it (never the value itself).
        reason: String,
    },
}

/// Maps a span to what it means for audit.
///
/// ```
/// use deputy_audit::record::{resolution, Resolution};
/// use deputy_audit::span::Span;
/// let span = Span { trace_id: "".into(), span_id: "".into(), name: "http.request".into(), end_unix_nano: 0, attributes: vec![] };
/// assert_eq!(resolution(&span).unwrap(), Resolution::NotAResolve);
/// ```
pub fn resolution(span: &Span<'_>) -> Result<Resolution, SpanError> {
    if span.name != attr::SPAN_RESOLVE {
        return Ok(Resolution::NotAResolve);
    }
    let Some(source) = span.str_attr(attr::SOURCE) else {
        return Ok(Resolution::Unissued(
            span.str_attr(attr::ERROR_KIND).map(str::to_owned),
        ));
    };
    let reader = Reader { span };
    let source = reader.parse(attr::SOURCE, source, |s| {
        CredentialSource::from_name(s).ok_or_else(|| "not a known credential source".to_owned())
    })?;
    let correlation = Correlation {
        task_id: reader.required(attr::TASK_ID, |s| TaskId::new(s).map_err(|e| e.to_string()))?,
        user_id: reader.optional(attr::USER_ID, |s| {
            UserId::parse(s).map_err(|e| e.to_string())
        })?,
        repo: reader.optional(attr::REPO, |s| {
            RepoRef::from_str(s).map_err(|e| e.to_string())
        })?,
        trace_id: TraceId::new(&span.trace_id).ok(),
        session_id: span.str_attr(attr::SESSION_ID).map(str::to_owned),
    };
    let record = AuditRecord {
        schema: SCHEMA.to_owned(),
        correlation,
        integration: reader.required(attr::INTEGRATION, |s| {
            Integration::from_str(s).map_err(|e| e.to_string())
        })?,
        operation: reader.required(attr::OPERATION, |s| {
            Operation::from_str(s).map_err(|e| e.to_string())
        })?,
        flow: reader.required(attr::FLOW, |s| Ok(s.to_owned()))?,
        provider: span.str_attr(attr::PROVIDER).map(str::to_owned),
        rule_id: reader.required(attr::RULE_ID, |s| Ok(s.to_owned()))?,
        source,
        fallback_reason: span.str_attr(attr::FALLBACK_REASON).map(str::to_owned),
        consent: reader.required(attr::CONSENT, |s| {
            ConsentOutcome::from_name(s).ok_or_else(|| "not a known consent outcome".to_owned())
        })?,
        token_fingerprint: reader.optional(attr::TOKEN_FINGERPRINT, fingerprint)?,
        asserted_chain: reader.optional(attr::ACTOR_CHAIN_ASSERTED, |s| {
            serde_json::from_str::<AssertedChain>(s).map_err(|e| e.to_string())
        })?,
        observed_delegation: reader.optional(attr::ACTOR_CHAIN_OBSERVED, |s| {
            serde_json::from_str::<ObservedDelegation>(s).map_err(|e| e.to_string())
        })?,
        resolved_at_ms: span.end_unix_nano / 1_000_000,
        expires_at: match span.attr(attr::TOKEN_EXPIRES_AT) {
            Some(AttrValue::Int(i)) => u64::try_from(*i).ok(),
            Some(AttrValue::Str(s)) => s.parse().ok(),
            _ => None,
        },
    };
    Ok(Resolution::Issued(Box::new(record)))
}

fn fingerprint(s: &str) -> Result<TokenFingerprint, String> {
    let well_formed = s.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if !well_formed {
        return Err("not `sha256:` followed by 32 lowercase hex digits".to_owned());
    }
    TokenFingerprint::deserialize(s.into_deserializer())
        .map_err(|e: serde::de::value::Error| e.to_string())
}

struct Reader<'s, 'a> {
    span: &'s Span<'a>,
}

impl Reader<'_, '_> {
    fn parse<T>(
        &self,
        key: &'static str,
        value: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, SpanError> {
        parse(value).map_err(|reason| SpanError::Invalid {
            trace_id: self.span.trace_id.to_string(),
            span_id: self.span.span_id.to_string(),
            key,
            reason,
        })
    }

    fn required<T>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, SpanError> {
        match self.span.str_attr(key) {
            Some(value) => self.parse(key, value, parse),
            None => Err(SpanError::Missing {
                trace_id: self.span.trace_id.to_string(),
                span_id: self.span.span_id.to_string(),
                key,
            }),
        }
    }

    fn optional<T>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, SpanError> {
        self.span
            .str_attr(key)
            .map(|value| self.parse(key, value, parse))
            .transpose()
    }
}
