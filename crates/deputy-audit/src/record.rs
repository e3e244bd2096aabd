//! From a `deputy.resolve` span to an `abca.audit.v1` record.
//!
//! A record is written for every resolve: one that issued a token (the span has
//! `deputy.source`) gets `outcome: issued`; one that ended in an error (consent pending, access
//! denied, vault unavailable, …) gets `outcome` `denied`, `consent_pending` or `failed` and the
//! span's `deputy.error.kind`, so an auditor sees what was refused. A refusal lacks what was
//! never decided (source, and flow, rule and consent when no decision was made). A gateway
//! interceptor's `deputy.gateway.credential` span (a passthrough or Token Broker credential,
//! which no resolver issued) carries the same attributes and is read the same way.

use std::str::FromStr;

use deputy_core::actor::{AssertedChain, ObservedDelegation};
use deputy_core::attr;
use deputy_core::audit::{
    AuditRecord, ConsentOutcome, Correlation, CredentialSource, Outcome, SCHEMA, TokenFingerprint,
};
use deputy_core::{Integration, Operation, RepoRef, TaskId, TraceId, UserId};
use serde::Deserialize;
use serde::de::IntoDeserializer;

use crate::chain_json;
use crate::span::{AttrValue, Span};
use recent::Recent;
use spare::Spare;

/// What one span means to the audit pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Neither a `deputy.resolve` nor a `deputy.gateway.credential` span (vault calls,
    /// application spans, …).
    NotAResolve,
    /// A resolve that issued a token.
    Issued(Box<AuditRecord>),
    /// A resolve that ended without a token (its record's `outcome` is not `issued`).
    Unissued(Box<AuditRecord>),
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
    resolution_reusing(span, &mut Reuse::default())
}

/// What building records can reuse from earlier ones.
#[derive(Debug, Default)]
pub(crate) struct Reuse {
    /// Records written out already, whose allocations the next records reuse.
    #[expect(clippy::vec_box, reason = "the boxes are reused as they are")]
    pub(crate) records: Vec<Box<AuditRecord>>,
    /// User ids parsed recently.
    users: Recent<UserId>,
    /// Asserted chains parsed recently (by their JSON text).
    asserted: Recent<AssertedChain>,
    /// Observed delegations parsed recently (by their JSON text).
    observed: Recent<ObservedDelegation>,
}

/// Like [`resolution`], building the record in one of the spare records when there is one,
/// and taking user ids parsed recently from the cache.
pub(crate) fn resolution_reusing(
    span: &Span<'_>,
    reuse: &mut Reuse,
) -> Result<Resolution, SpanError> {
    if span.name != attr::SPAN_RESOLVE && span.name != attr::SPAN_GATEWAY_CREDENTIAL {
        return Ok(Resolution::NotAResolve);
    }
    let attrs = ResolveAttrs::collect(span);
    let reader = Reader {
        span,
        attrs: &attrs,
    };
    let source = reader.optional(Slot::Source, |s| {
        CredentialSource::from_name(s).ok_or_else(|| "not a known credential source".to_owned())
    })?;
    // What a decision names is required of an issued token, optional for a refusal.
    let issued = source.is_some();
    let outcome = match (issued, attrs.str(Slot::ErrorKind)) {
        (true, _) => Outcome::Issued,
        (false, Some(kind)) => Outcome::from_error_kind(kind),
        (false, None) if attrs.str(Slot::Consent) == Some("pending") => Outcome::ConsentPending,
        (false, None) => Outcome::Failed,
    };
    let mut spare = Spare(reuse.records.pop());
    // Each attribute is checked in the record's member order, so the first error reported
    // stays the same.
    let task_id = reader.required(Slot::TaskId, |s| TaskId::new(s).map_err(|e| e.to_string()))?;
    // A user or repository the spare record names already is kept: parsing the same text
    // gives the same value.
    let user_id = reader.optional(Slot::UserId, |s| {
        match spare.take(|r| r.correlation.user_id.take().filter(|old| old.as_str() == s)) {
            Some(same) => Ok(same),
            None => reuse
                .users
                .parse(s, UserId::parse)
                .map_err(|e| e.to_string()),
        }
    })?;
    let correlation = Correlation {
        task_id,
        repo: reader.optional(Slot::Repo, |s| {
            match spare.take(|r| r.correlation.repo.take().filter(|old| old.as_str() == s)) {
                Some(same) => Ok(same),
                None => RepoRef::from_str(s).map_err(|e| e.to_string()),
            }
        })?,
        trace_id: TraceId::new(&span.trace_id).ok(),
        session_id: spare.optional_text(
            |r| r.correlation.session_id.as_mut(),
            attrs.str(Slot::SessionId),
        ),
        user_id,
    };
    let record = AuditRecord {
        schema: spare.text(|r| Some(&mut r.schema), SCHEMA),
        integration: reader.required(Slot::Integration, |s| {
            Integration::from_str(s).map_err(|e| e.to_string())
        })?,
        operation: reader.required(Slot::Operation, |s| {
            Operation::from_str(s).map_err(|e| e.to_string())
        })?,
        flow: reader.required_if(issued, Slot::Flow, |s| {
            Ok(spare.text(|r| r.flow.as_mut(), s))
        })?,
        provider: spare.optional_text(|r| r.provider.as_mut(), attrs.str(Slot::Provider)),
        rule_id: reader.required_if(issued, Slot::RuleId, |s| {
            Ok(spare.text(|r| r.rule_id.as_mut(), s))
        })?,
        source,
        fallback_reason: spare.optional_text(
            |r| r.fallback_reason.as_mut(),
            attrs.str(Slot::FallbackReason),
        ),
        consent: reader.required_if(issued, Slot::Consent, |s| {
            ConsentOutcome::from_name(s).ok_or_else(|| "not a known consent outcome".to_owned())
        })?,
        token_fingerprint: reader.optional(Slot::TokenFingerprint, fingerprint)?,
        // The chain usually names the span's user: that id is cloned, not parsed again.
        // The same chain documents recur (one per user and agent): parsed once, then cloned.
        asserted_chain: reader.optional(Slot::ActorChainAsserted, |s| {
            let old = spare.take(|r| r.asserted_chain.take());
            reuse
                .asserted
                .parse_into(s, old, spare::refill_asserted, |s, old| {
                    chain_json::asserted_chain_reusing(s, correlation.user_id.as_ref(), old)
                })
        })?,
        observed_delegation: reader.optional(Slot::ActorChainObserved, |s| {
            let old = spare.take(|r| r.observed_delegation.take());
            reuse
                .observed
                .parse_into(s, old, spare::refill_observed, |s, old| {
                    chain_json::observed_delegation_reusing(s, old.map(|o| o.subject))
                })
        })?,
        resolved_at_ms: span.end_unix_nano / 1_000_000,
        expires_at: match attrs.get(Slot::TokenExpiresAt) {
            Some(AttrValue::Int(i)) => u64::try_from(*i).ok(),
            Some(AttrValue::Str(s)) => s.parse().ok(),
            _ => None,
        },
        outcome,
        error_kind: if issued {
            None
        } else {
            spare.optional_text(|r| r.error_kind.as_mut(), attrs.str(Slot::ErrorKind))
        },
        correlation,
    };
    let record = spare.boxed(record);
    Ok(if issued {
        Resolution::Issued(record)
    } else {
        Resolution::Unissued(record)
    })
}

mod recent;
mod spare;

/// The attributes a record is made of, each at its index in [`ResolveAttrs`].
#[derive(Clone, Copy)]
enum Slot {
    Source,
    ErrorKind,
    TaskId,
    UserId,
    Repo,
    SessionId,
    Integration,
    Operation,
    Flow,
    Provider,
    RuleId,
    FallbackReason,
    Consent,
    TokenFingerprint,
    ActorChainAsserted,
    ActorChainObserved,
    TokenExpiresAt,
}

impl Slot {
    const COUNT: usize = Slot::TokenExpiresAt as usize + 1;

    fn of(key: &str) -> Option<Slot> {
        Some(match key {
            attr::SOURCE => Slot::Source,
            attr::ERROR_KIND => Slot::ErrorKind,
            attr::TASK_ID => Slot::TaskId,
            attr::USER_ID => Slot::UserId,
            attr::REPO => Slot::Repo,
            attr::SESSION_ID => Slot::SessionId,
            attr::INTEGRATION => Slot::Integration,
            attr::OPERATION => Slot::Operation,
            attr::FLOW => Slot::Flow,
            attr::PROVIDER => Slot::Provider,
            attr::RULE_ID => Slot::RuleId,
            attr::FALLBACK_REASON => Slot::FallbackReason,
            attr::CONSENT => Slot::Consent,
            attr::TOKEN_FINGERPRINT => Slot::TokenFingerprint,
            attr::ACTOR_CHAIN_ASSERTED => Slot::ActorChainAsserted,
            attr::ACTOR_CHAIN_OBSERVED => Slot::ActorChainObserved,
            attr::TOKEN_EXPIRES_AT => Slot::TokenExpiresAt,
            _ => return None,
        })
    }

    fn key(self) -> &'static str {
        match self {
            Slot::Source => attr::SOURCE,
            Slot::ErrorKind => attr::ERROR_KIND,
            Slot::TaskId => attr::TASK_ID,
            Slot::UserId => attr::USER_ID,
            Slot::Repo => attr::REPO,
            Slot::SessionId => attr::SESSION_ID,
            Slot::Integration => attr::INTEGRATION,
            Slot::Operation => attr::OPERATION,
            Slot::Flow => attr::FLOW,
            Slot::Provider => attr::PROVIDER,
            Slot::RuleId => attr::RULE_ID,
            Slot::FallbackReason => attr::FALLBACK_REASON,
            Slot::Consent => attr::CONSENT,
            Slot::TokenFingerprint => attr::TOKEN_FINGERPRINT,
            Slot::ActorChainAsserted => attr::ACTOR_CHAIN_ASSERTED,
            Slot::ActorChainObserved => attr::ACTOR_CHAIN_OBSERVED,
            Slot::TokenExpiresAt => attr::TOKEN_EXPIRES_AT,
        }
    }
}

/// The record's attributes, found in one pass over the span (the first of each name counts,
/// as with [`Span::attr`]).
struct ResolveAttrs<'s, 'a> {
    values: [Option<&'s AttrValue<'a>>; Slot::COUNT],
}

impl<'s, 'a> ResolveAttrs<'s, 'a> {
    fn collect(span: &'s Span<'a>) -> Self {
        let mut values = [None; Slot::COUNT];
        for attribute in &span.attributes {
            if let Some(slot) = Slot::of(&attribute.key) {
                values[slot as usize].get_or_insert(&attribute.value);
            }
        }
        ResolveAttrs { values }
    }

    fn get(&self, slot: Slot) -> Option<&'s AttrValue<'a>> {
        self.values[slot as usize]
    }

    fn str(&self, slot: Slot) -> Option<&'s str> {
        match self.get(slot) {
            Some(AttrValue::Str(s)) => Some(s.as_ref()),
            _ => None,
        }
    }
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

struct Reader<'r, 's, 'a> {
    span: &'s Span<'a>,
    attrs: &'r ResolveAttrs<'s, 'a>,
}

impl Reader<'_, '_, '_> {
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
        slot: Slot,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, SpanError> {
        match self.attrs.str(slot) {
            Some(value) => self.parse(slot.key(), value, parse),
            None => Err(SpanError::Missing {
                trace_id: self.span.trace_id.to_string(),
                span_id: self.span.span_id.to_string(),
                key: slot.key(),
            }),
        }
    }

    /// [`Reader::required`] when `required`, else [`Reader::optional`].
    fn required_if<T>(
        &self,
        required: bool,
        slot: Slot,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, SpanError> {
        if required {
            self.required(slot, parse).map(Some)
        } else {
            self.optional(slot, parse)
        }
    }

    fn optional<T>(
        &self,
        slot: Slot,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, SpanError> {
        self.attrs
            .str(slot)
            .map(|value| self.parse(slot.key(), value, parse))
            .transpose()
    }
}
