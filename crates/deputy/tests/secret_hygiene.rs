//! The canary: run every flow, then search everything deputy wrote (logs, span fields, error
//! messages, `Debug` output) for every secret it handled. Also checks the span's attributes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use deputy::ResolveError;
use deputy_core::attr;
use deputy_core::policy::PolicyTable;
use deputy_core::{Integration, Operation, RepoRef};
use deputy_tests::captured::Captured;
use deputy_tests::spans::SpanLog;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

fn api_key_policy() -> PolicyTable {
    let mut text = PolicyTable::built_in_source().to_owned();
    text.push_str("\n[[rule]]\nid = \"openai-key\"\nintegrations = [\"openai\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"api_key\"\nprovider = \"openai\"\n");
    PolicyTable::from_toml("canary.toml", &text).unwrap()
}

#[tokio::test]
async fn no_secret_reaches_logs_spans_errors_or_debug() {
    let captured = Captured::default();
    let writer = captured.clone();
    let log = SpanLog::default();
    let subscriber = tracing_subscriber::registry()
        .with(log.layer())
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
                .with_ansi(false),
        )
        .with(tracing_subscriber::filter::LevelFilter::TRACE);
    let _guard = tracing::subscriber::set_default(subscriber);

    let vault = common::vault().await;
    let resolver = common::builder_allowing_repos(&vault)
        .policy(api_key_policy())
        .build()
        .unwrap();
    let mut secrets: Vec<String> = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    let repo: RepoRef = "octo-org/infra".parse().unwrap();

    let alice = common::interactive(&vault, "alice", "canary-1");
    if let deputy::vault::WatBinding::Jwt(jwt) = alice.wat().binding() {
        secrets.push(jwt.token().expose().to_owned());
    }
    let m2m = resolver
        .resolve_jira_token(&common::headless("canary-2"), Operation::Read)
        .await
        .unwrap();
    let key = resolver
        .resolve_token(
            &common::headless("canary-3"),
            &"openai".parse().unwrap(),
            Operation::Read,
        )
        .await
        .unwrap();
    assert_eq!(
        key.token.expose(),
        "sk-dev-local-openai-key",
        "the known canary value"
    );
    let obo = resolver
        .resolve_aws_native_token(&alice, Operation::Read)
        .await
        .unwrap();
    let err = resolver
        .resolve_github_token(&alice, Operation::Read, &repo)
        .await
        .unwrap_err();
    let ResolveError::ConsentRequired(consent, _) = &err else {
        panic!("{err}")
    };
    secrets.push(consent.authorization_url.clone());
    shown.push(format!("{err} {err:?}"));
    common::approve_and_bind(&resolver, &alice, &Integration::Github, consent).await;
    let three_lo = resolver
        .resolve_github_token(&alice, Operation::Read, &repo)
        .await
        .unwrap();
    let denied = resolver
        .resolve_aws_native_token(&common::webhook("bob", "canary-4"), Operation::Write)
        .await
        .unwrap_err();
    shown.push(format!("{denied} {denied:?}"));
    for resolved in [&m2m, &key, &obo, &three_lo] {
        secrets.push(resolved.token.expose().to_owned());
        shown.push(format!("{resolved:?}"));
    }
    shown.push(format!("{resolver:?}"));
    vault.shutdown().await;

    let text = captured.text();
    let spans = log.closed();
    let haystack = format!("{text}\n{spans:?}\n{}", shown.join("\n"));
    assert!(text.contains("deputy.resolve"), "the capture saw the spans");
    for secret in &secrets {
        assert!(!secret.is_empty());
        assert!(
            !haystack.contains(secret.as_str()),
            "a secret leaked: {}…",
            &secret[..secret.len().min(12)]
        );
    }
    // deputy's own output (span fields, errors, Debug) must not even look like token material.
    let own = format!("{spans:?}\n{}", shown.join("\n"));
    let suspicious: Vec<&str> = own
        .lines()
        .filter(|l| deputy_core::audit::looks_like_secret(l).is_some())
        .collect();
    assert!(
        suspicious.is_empty(),
        "token-shaped text in output: {suspicious:#?}"
    );

    let resolves: Vec<&BTreeMap<String, String>> = spans
        .iter()
        .filter(|(n, _)| n == attr::SPAN_RESOLVE)
        .map(|(_, f)| f)
        .collect();
    assert_eq!(resolves.len(), 6);
    let obo_span = resolves
        .iter()
        .find(|f| f.get(attr::FLOW).map(String::as_str) == Some("on_behalf_of"))
        .unwrap();
    assert_eq!(obo_span[attr::TASK_ID], "canary-1");
    assert_eq!(obo_span[attr::USER_ID], "dev+alice");
    assert_eq!(obo_span[attr::SOURCE], "vault");
    assert_eq!(
        obo_span[attr::TOKEN_FINGERPRINT],
        obo.fingerprint().as_str()
    );
    assert!(
        obo_span[attr::ACTOR_CHAIN_OBSERVED].contains("\"aws-native\""),
        "{obo_span:?}"
    );
    assert!(
        obo_span[attr::ACTOR_CHAIN_ASSERTED].contains("\"orchestrator\""),
        "{obo_span:?}"
    );
    let consent_span = resolves
        .iter()
        .find(|f| f.get(attr::ERROR_KIND).map(String::as_str) == Some("consent_required"))
        .unwrap();
    assert_eq!(consent_span[attr::CONSENT], "pending");
    assert_eq!(consent_span[attr::REPO], "octo-org/infra");
    let granted = resolves
        .iter()
        .find(|f| f.get(attr::CONSENT).map(String::as_str) == Some("granted"))
        .unwrap();
    assert_eq!(granted[attr::RULE_ID], "github-interactive-read");
    let vault_calls: Vec<&BTreeMap<String, String>> = spans
        .iter()
        .filter(|(n, _)| n == attr::SPAN_VAULT_CALL)
        .map(|(_, f)| f)
        .collect();
    assert!(
        vault_calls
            .iter()
            .any(|f| f[attr::VAULT_OPERATION] == "GetResourceOauth2Token")
    );
    assert!(
        vault_calls
            .iter()
            .any(|f| f[attr::VAULT_OPERATION] == "CompleteResourceTokenAuth")
    );
    for fields in resolves.iter().chain(&vault_calls) {
        for name in fields.keys() {
            assert!(
                attr::ALL.contains(&name.as_str()),
                "span field {name} is not in deputy_core::attr"
            );
        }
    }
}

#[tokio::test]
async fn user_ids_can_be_turned_off() {
    // Every span and every deputy log line (TRACE), as text.
    let log = SpanLog::default();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::registry().with(log.layer()).with(
        tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("deputy", tracing_subscriber::filter::LevelFilter::TRACE),
            ),
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    let vault = common::vault().await;
    let resolver = common::builder(&vault)
        .record_user_ids(false)
        .build()
        .unwrap();
    let alice = common::interactive(&vault, "alice", "pii-1");
    // On-behalf-of: the exchanged token's subject is alice.
    let obo = resolver
        .resolve_aws_native_token(&alice, Operation::Read)
        .await
        .unwrap();
    assert_eq!(obo.observed.as_ref().unwrap().subject.sub, "alice");
    // A refused write names its principal in the error the caller gets, not in telemetry.
    let repo: RepoRef = "octo-org/infra".parse().unwrap();
    let refused = resolver
        .resolve_github_token(&alice, Operation::Write, &repo)
        .await
        .unwrap_err();
    assert!(matches!(refused, ResolveError::RepoNotAuthorized { .. }));
    assert!(refused.to_string().contains("dev+alice"));

    let spans = log.named(attr::SPAN_RESOLVE);
    assert_eq!(spans.len(), 2);
    for fields in &spans {
        assert!(!fields.contains_key(attr::USER_ID));
        for (name, value) in fields {
            assert!(!value.contains("alice"), "{name} = {value}");
        }
    }
    let text = captured.text();
    assert!(
        text.contains("repo_not_authorized") && text.contains("[user withheld]"),
        "the failure is logged, with the user withheld: {text}"
    );
    assert!(!text.contains("alice"), "{text}");
}

#[tokio::test]
async fn a_failed_resolve_is_logged_even_where_info_spans_are_off() {
    // A subscriber that keeps warnings only: the resolve span is disabled, the warning is not.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_filter(tracing_subscriber::filter::LevelFilter::WARN),
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();
    let err = resolver
        .resolve_aws_native_token(&common::webhook("alice", "warn-1"), Operation::Write)
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::PolicyDenied { .. }), "{err}");
    let text = captured.text();
    assert!(
        text.contains("credential resolve failed (policy_denied)"),
        "{text}"
    );
}
