//! A finding means something is wrong: a realistic multi-task run (two users, cache hits
//! across tasks, a service token shared by both users' tasks, on-behalf-of tokens with no
//! actor declared, user ids turned off) finds nothing, and each invariant still fires on a
//! real violation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fingerprint, line, resolve_span, set, span};
use deputy_audit::{Finding, Pipeline, Rule};
use deputy_core::attr;
use serde_json::{Value, json};

type Attrs = Vec<(String, Value)>;

/// A resolve for `task` with `flow`; `user` is recorded only when `ids_on`.
fn resolve(task: &str, user: &str, ids_on: bool, op: &str, flow: &str, fp: u32) -> Attrs {
    let mut attrs = resolve_span(task, ids_on.then_some(user), op, &fingerprint(fp));
    set(&mut attrs, attr::FLOW, json!({ "stringValue": flow }));
    if flow == "m2m" {
        set(
            &mut attrs,
            attr::PROVIDER,
            json!({ "stringValue": "linear-service" }),
        );
        set(
            &mut attrs,
            attr::CONSENT,
            json!({ "stringValue": "not_required" }),
        );
    }
    attrs
}

/// Marks `attrs` as an on-behalf-of exchange whose token names `actor` and `subject`.
fn obo(mut attrs: Attrs, subject: &str, actor: &str) -> Attrs {
    set(
        &mut attrs,
        attr::FLOW,
        json!({ "stringValue": "on_behalf_of" }),
    );
    set(
        &mut attrs,
        attr::PROVIDER,
        json!({ "stringValue": "aws-native" }),
    );
    let observed = json!({ "subject": { "sub": subject }, "actors": [{ "sub": actor }] });
    set(
        &mut attrs,
        attr::ACTOR_CHAIN_OBSERVED,
        json!({ "stringValue": observed.to_string() }),
    );
    attrs
}

fn cached(mut attrs: Attrs) -> Attrs {
    set(&mut attrs, attr::SOURCE, json!({ "stringValue": "cache" }));
    set(&mut attrs, attr::CACHE, json!({ "stringValue": "hit" }));
    attrs
}

fn findings(spans: &[Attrs]) -> (usize, Vec<Finding>) {
    let mut pipeline = Pipeline::default();
    let mut records = 0;
    let mut found = Vec::new();
    for (i, attrs) in spans.iter().enumerate() {
        let n = u32::try_from(i).unwrap() + 1;
        let batch = pipeline.json_line(
            u64::from(n),
            &line(vec![span(n, attr::SPAN_RESOLVE, attrs)]),
        );
        assert!(batch.errors.is_empty(), "{:?}", batch.errors);
        records += batch.records.len();
        found.extend(batch.findings);
    }
    (records, found)
}

/// Several tasks of two users, with user ids `ids_on` or off.
fn realistic_run(ids_on: bool) -> Vec<Attrs> {
    let mut spans = Vec::new();
    for round in 0..3 {
        for (user, sub, gh, aws) in [("dev+alice", "alice", 10, 20), ("dev+bob", "bob", 11, 21)] {
            let task = format!("task-{sub}-{round}");
            // The user's GitHub token: fetched once, then cache hits from later tasks.
            let github = resolve(&task, user, ids_on, "write", "user_federation", gh);
            spans.push(if round == 0 { github } else { cached(github) });
            // An OBO token naming the provider's client as actor (no actor declared).
            let subject = if ids_on { sub } else { "[user withheld]" };
            let exchange = obo(
                resolve(&task, user, ids_on, "write", "user_federation", aws),
                subject,
                "aws-native",
            );
            spans.push(if round == 0 {
                exchange
            } else {
                cached(exchange)
            });
            // The shared Linear service token, the same for both users' tasks.
            spans.push(cached(resolve(&task, user, ids_on, "read", "m2m", 30)));
        }
    }
    spans
}

#[test]
fn a_realistic_multi_task_run_finds_nothing() {
    for ids_on in [true, false] {
        let spans = realistic_run(ids_on);
        let (records, found) = findings(&spans);
        assert_eq!(records, spans.len());
        assert!(found.is_empty(), "user ids on: {ids_on}: {found:#?}");
    }
}

fn rules(found: &[Finding]) -> Vec<Rule> {
    found.iter().map(|f| f.rule).collect()
}

#[test]
fn fingerprint_shared_fires_for_one_user_token_seen_for_two_users() {
    let alice = resolve("t-a", "dev+alice", true, "read", "user_federation", 1);
    let bob = resolve("t-b", "dev+bob", true, "read", "user_federation", 1);
    let (_, found) = findings(&[alice, bob]);
    assert_eq!(rules(&found), [Rule::FingerprintShared], "{found:#?}");
    assert!(found[0].message.contains("dev+alice") && found[0].message.contains("dev+bob"));
}

#[test]
fn write_without_user_fires_for_a_service_write_with_no_user() {
    let mut write = resolve("t-w", "dev+alice", false, "write", "m2m", 2);
    set(
        &mut write,
        attr::RULE_ID,
        json!({ "stringValue": "linear-headless-write" }),
    );
    let (_, found) = findings(&[write]);
    assert_eq!(rules(&found), [Rule::WriteWithoutUser], "{found:#?}");
}

#[test]
fn chain_disagreement_fires_for_another_subject_or_a_changed_actor() {
    // The token is for bob although alice's task asked.
    let wrong_user = obo(
        resolve("t-1", "dev+alice", true, "read", "user_federation", 3),
        "bob",
        "aws-native",
    );
    let (_, found) = findings(&[wrong_user]);
    assert_eq!(rules(&found), [Rule::ChainDisagreement], "{found:#?}");
    assert!(found[0].message.contains("bob"), "{}", found[0].message);
    // The actor changed for the same agent and provider.
    let first = obo(
        resolve("t-2", "dev+alice", true, "read", "user_federation", 4),
        "alice",
        "aws-native",
    );
    let rogue = obo(
        resolve("t-3", "dev+alice", true, "read", "user_federation", 5),
        "alice",
        "rogue-agent",
    );
    let (_, found) = findings(&[first, rogue]);
    assert_eq!(rules(&found), [Rule::ChainDisagreement], "{found:#?}");
    assert_eq!(found[0].task_id(), Some("t-3"));
}

#[test]
fn secrets_manager_fallback_fires_for_every_fallback_issuance() {
    let mut fallback = resolve("t-f", "dev+alice", true, "read", "m2m", 6);
    set(
        &mut fallback,
        attr::SOURCE,
        json!({ "stringValue": "secrets-manager-fallback" }),
    );
    let (_, found) = findings(&[fallback]);
    assert_eq!(rules(&found), [Rule::SecretsManagerFallback], "{found:#?}");
}
