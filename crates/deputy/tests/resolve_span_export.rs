//! With deputy's OTLP layer installed the resolver exports `deputy.resolve` itself (ADR 0010).
//! The exported span must carry exactly the attributes the `tracing` span records, be
//! exported once, sit under the caller's span, and parent the vault calls of a cache miss.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use deputy::ResolveError;
use deputy::repo_auth::{AuthorizeFuture, RepoAuthorizer};
use deputy_core::RepoRef;
use deputy_core::policy::PolicyTable;
use deputy_core::{Operation, attr};
use deputy_tests::spans::SpanLog;
use opentelemetry::trace::SpanId;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

/// Keeps every exported span.
#[derive(Debug, Clone, Default)]
struct Exported(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Exported {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}

impl Exported {
    fn named(&self, name: &str) -> Vec<SpanData> {
        let spans = self.0.lock().unwrap();
        spans.iter().filter(|s| s.name == name).cloned().collect()
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.as_str().to_owned(),
        other => other.to_string(),
    }
}

fn attributes(span: &SpanData) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for KeyValue { key, value, .. } in &span.attributes {
        let previous = out.insert(key.as_str().to_owned(), text(value));
        assert!(previous.is_none(), "{key} exported twice");
    }
    out
}

fn api_key_policy() -> PolicyTable {
    let mut text = PolicyTable::built_in_source().to_owned();
    text.push_str("\n[[rule]]\nid = \"openai-key\"\nintegrations = [\"openai\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"api_key\"\nprovider = \"openai\"\n");
    PolicyTable::from_toml("export.toml", &text).unwrap()
}

#[tokio::test]
async fn the_exported_resolve_span_matches_the_tracing_span_and_parents_its_vault_calls() {
    let exported = Exported::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exported.clone())
        .build();
    let log = SpanLog::default();
    let subscriber = tracing_subscriber::registry()
        .with(log.layer())
        .with(deputy::otel::layer(&provider));
    let _guard = tracing::subscriber::set_default(subscriber);

    let vault = common::vault().await;
    let resolver = common::builder_allowing_repos(&vault)
        .policy(api_key_policy())
        .build()
        .unwrap();
    let alice = common::interactive(&vault, "alice", "export-1");
    let repo: RepoRef = "octo-org/infra".parse().unwrap();
    let task_span = tracing::info_span!("agent.task");
    let mut tokens = Vec::new();
    // Never exported either: the user's JWT and the consent URL (it carries the session).
    let mut secrets = Vec::new();
    if let deputy::vault::WatBinding::Jwt(jwt) = alice.wat().binding() {
        secrets.push(jwt.token().expose().to_owned());
    }
    async {
        let headless = common::headless("export-2");
        for _ in 0..2 {
            // A miss (two vault calls), then a hit.
            let token = resolver
                .resolve_jira_token(&headless, Operation::Read)
                .await;
            tokens.push(token.unwrap().token.expose().to_owned());
        }
        let obo = resolver.resolve_aws_native_token(&alice, Operation::Read);
        tokens.push(obo.await.unwrap().token.expose().to_owned());
        let openai = "openai".parse().unwrap();
        let custom = resolver.resolve_token(&headless, &openai, Operation::Read);
        tokens.push(custom.await.unwrap().token.expose().to_owned());
        let consent = resolver.resolve_github_token(&alice, Operation::Read, &repo);
        match consent.await {
            Err(ResolveError::ConsentRequired(consent, _)) => {
                secrets.push(consent.authorization_url.clone());
            }
            other => panic!("expected a consent request, got {other:?}"),
        }
        let bob = common::webhook("bob", "export-3");
        let denied = resolver.resolve_aws_native_token(&bob, Operation::Write);
        assert!(denied.await.is_err());
    }
    .instrument(task_span.clone())
    .await;
    drop(task_span);
    vault.shutdown().await;

    let traced = log.named(attr::SPAN_RESOLVE);
    let resolves = exported.named(attr::SPAN_RESOLVE);
    assert_eq!(traced.len(), 6, "six resolves in the tracing log");
    assert_eq!(resolves.len(), 6, "each resolve exported exactly once");
    for (fields, span) in traced.iter().zip(&resolves) {
        assert_eq!(
            &attributes(span),
            fields,
            "exported attributes = tracing fields"
        );
    }
    assert_eq!(traced[0][attr::CACHE], "miss");
    assert_eq!(traced[1][attr::CACHE], "hit");
    assert!(traced[2].contains_key(attr::ACTOR_CHAIN_OBSERVED));
    assert_eq!(traced[3][attr::INTEGRATION], "openai");
    assert_eq!(traced[4][attr::CONSENT], "pending");
    assert_eq!(traced[4][attr::REPO], "octo-org/infra");
    assert!(traced[5].contains_key(attr::ERROR_KIND));

    // Under the caller's span, in its trace.
    let task = exported.named("agent.task");
    assert_eq!(task.len(), 1);
    let task = &task[0];
    for span in &resolves {
        assert_eq!(span.parent_span_id, task.span_context.span_id());
        assert_eq!(span.span_context.trace_id(), task.span_context.trace_id());
    }
    // The miss's vault calls are the miss's children; the hit made none.
    let calls = exported.named(attr::SPAN_VAULT_CALL);
    let children = |parent: SpanId| calls.iter().filter(|c| c.parent_span_id == parent).count();
    assert_eq!(
        children(resolves[0].span_context.span_id()),
        2,
        "WAT + token"
    );
    assert_eq!(
        children(resolves[1].span_context.span_id()),
        0,
        "a hit calls nothing"
    );
    assert_eq!(
        children(task.span_context.span_id()),
        0,
        "no vault call escaped its resolve"
    );
    // A failure is an event on the span, as the tracing warning would have been.
    for failed in &resolves[4..] {
        let events = &failed.events.events;
        assert_eq!(events.len(), 1);
        assert!(events[0].name.starts_with("credential resolve failed ("));
    }
    // Fingerprints, never tokens: in no attribute, event name or event attribute.
    assert_eq!(secrets.len(), 2, "the JWT and the consent URL are checked");
    for span in exported.0.lock().unwrap().iter() {
        let mut texts: Vec<String> = span.attributes.iter().map(|kv| text(&kv.value)).collect();
        for event in &span.events.events {
            texts.push(event.name.to_string());
            texts.extend(event.attributes.iter().map(|kv| text(&kv.value)));
        }
        for secret in tokens.iter().chain(&secrets) {
            assert!(
                !texts.iter().any(|t| t.contains(secret.as_str())),
                "a secret was exported in {}",
                span.name
            );
        }
    }
}

#[tokio::test]
async fn a_resolve_its_caller_drops_is_still_exported_with_the_request() {
    let exported = Exported::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exported.clone())
        .build();
    let log = SpanLog::default();
    let subscriber = tracing_subscriber::registry()
        .with(log.layer())
        .with(deputy::otel::layer(&provider));
    let _guard = tracing::subscriber::set_default(subscriber);
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();

    let waiting = common::builder(&vault)
        .repo_authorizer(Arc::new(NeverAnswers), std::time::Duration::from_secs(60))
        .build()
        .unwrap();

    // Dropped while the vault call is under way (the span has started for its children),
    // and dropped while the repository check waits, before anything was fetched.
    let zero = std::time::Duration::ZERO;
    let headless = common::headless("dropped-1");
    let resolve = resolver.resolve_linear_token(&headless, Operation::Read);
    assert!(tokio::time::timeout(zero, resolve).await.is_err());
    let alice = common::interactive(&vault, "alice", "dropped-2");
    let repo: RepoRef = "octo-org/infra".parse().unwrap();
    let resolve = waiting.resolve_github_token(&alice, Operation::Write, &repo);
    assert!(tokio::time::timeout(zero, resolve).await.is_err());
    vault.shutdown().await;

    let traced = log.named(attr::SPAN_RESOLVE);
    let resolves = exported.named(attr::SPAN_RESOLVE);
    assert_eq!(
        resolves.len(),
        2,
        "each exported once, though neither ended"
    );
    for (fields, span) in traced.iter().zip(&resolves) {
        assert_eq!(&attributes(span), fields);
        assert!(!fields.contains_key(attr::CACHE), "no outcome was recorded");
    }
    assert_eq!(traced[0][attr::TASK_ID], "dropped-1");
    assert_eq!(traced[1][attr::TASK_ID], "dropped-2");
}

/// A repository authorizer that never answers.
struct NeverAnswers;

impl RepoAuthorizer for NeverAnswers {
    fn authorize<'a>(&'a self, _: &'a str, _: &'a RepoRef, _: Operation) -> AuthorizeFuture<'a> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test]
async fn a_caller_that_uses_opentelemetry_directly_is_the_parent() {
    use opentelemetry::trace::{Span as _, Tracer, TracerProvider as _};
    let exported = Exported::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exported.clone())
        .build();
    let subscriber = tracing_subscriber::registry().with(deputy::otel::layer(&provider));
    let _guard = tracing::subscriber::set_default(subscriber);
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();

    let caller = provider.tracer("agent").start("agent.step");
    let caller_id = caller.span_context().span_id();
    let cx = opentelemetry::trace::TraceContextExt::current_with_span(caller);
    let task = common::headless("native-1");
    let resolve = resolver.resolve_linear_token(&task, Operation::Read);
    opentelemetry::context::FutureExt::with_context(resolve, cx)
        .await
        .unwrap();
    vault.shutdown().await;

    let resolves = exported.named(attr::SPAN_RESOLVE);
    assert_eq!(resolves.len(), 1);
    assert_eq!(resolves[0].parent_span_id, caller_id);
}
