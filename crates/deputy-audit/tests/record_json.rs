//! The hand-written record writer against `serde_json`: the same bytes for varied records
//! (escapes, Unicode, every optional member absent and present).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;

use deputy_audit::record_json::write_record;
use deputy_core::actor::{Actor, ActorChain, AssertedChain, ObservedDelegation};
use deputy_core::audit::{
    AuditRecord, ConsentOutcome, Correlation, CredentialSource, Outcome, SCHEMA, TokenFingerprint,
};
use deputy_core::{Integration, Operation, RepoRef, TaskId, TraceId, UserId};

/// Texts that exercise every escape `serde_json` writes, and Unicode it does not escape.
const TEXTS: &[&str] = &[
    "plain",
    "",
    "quote \" and backslash \\ and slash /",
    "controls \u{0} \u{1} \u{8} \t \n \u{b} \u{c} \r \u{1f} del \u{7f}",
    "unicode é 日本 🎉 \u{2028}",
    "\\u0041 is not an escape here",
];

fn text(i: usize) -> String {
    TEXTS[i % TEXTS.len()].to_owned()
}

fn record(i: usize) -> AuditRecord {
    let some = |bit: usize| i & (1 << bit) != 0;
    let sources = [
        CredentialSource::Vault,
        CredentialSource::Cache,
        CredentialSource::GithubApp,
        CredentialSource::SecretsManagerFallback,
    ];
    let consents = [
        ConsentOutcome::NotRequired,
        ConsentOutcome::Granted,
        ConsentOutcome::Pending,
        ConsentOutcome::Failed,
    ];
    // Every fourth record is issued; the others are refusals, which lack what was never
    // decided in varied combinations (the toggles are spread over the bits used above).
    let outcome = [
        Outcome::Issued,
        Outcome::Denied,
        Outcome::ConsentPending,
        Outcome::Failed,
    ][(i / 3) % 4];
    let issued = outcome == Outcome::Issued;
    let has = |k: usize| issued || !(i / 5 + k).is_multiple_of(3);
    let actor = |n: usize| Actor {
        sub: text(n),
        iss: n
            .is_multiple_of(2)
            .then(|| format!("https://idp-{n}.example/\"q\"")),
    };
    AuditRecord {
        schema: SCHEMA.to_owned(),
        correlation: Correlation {
            task_id: TaskId::new(&format!("task-{i}")).unwrap(),
            user_id: some(0).then(|| UserId::parse(&format!("okta+user{i}")).unwrap()),
            repo: some(1).then(|| RepoRef::from_str("octo-org/infra.repo_1").unwrap()),
            trace_id: some(2).then(|| TraceId::new(&format!("{:032x}", i + 1)).unwrap()),
            session_id: some(3).then(|| text(i + 1)),
        },
        integration: ["github", "linear", "my-tool-2"][i % 3]
            .parse::<Integration>()
            .unwrap(),
        operation: if some(4) {
            Operation::Write
        } else {
            Operation::Read
        },
        flow: has(0).then(|| text(i + 2)),
        provider: some(5).then(|| text(i + 3)),
        rule_id: has(1).then(|| text(i + 4)),
        source: issued.then_some(sources[i % 4]),
        fallback_reason: some(6).then(|| text(i + 5)),
        consent: has(2).then_some(consents[(i / 4) % 4]),
        token_fingerprint: some(7).then(|| TokenFingerprint::of(&format!("token {i}"))),
        asserted_chain: some(8).then(|| AssertedChain {
            user: some(9).then(|| UserId::parse("entra+alice").unwrap()),
            orchestrator: some(10).then(|| text(i + 6)),
            agent: text(i + 7),
            workload: some(11).then(|| text(i + 8)),
        }),
        observed_delegation: some(12).then(|| ObservedDelegation {
            subject: actor(i),
            actors: ActorChain::from_actors((0..i % 4).map(|n| actor(i + n)).collect()),
        }),
        resolved_at_ms: [0, 1_795_000_000_123, u64::MAX][i % 3],
        expires_at: some(13).then_some([0, 9, 1_795_003_600, u64::MAX][i % 4]),
        outcome,
        error_kind: (!issued && has(3)).then(|| text(i + 9)),
    }
}

#[test]
fn the_writer_writes_the_bytes_serde_json_writes() {
    let mut out = Vec::new();
    for i in 0..(1 << 14) {
        let record = record(i);
        out.clear();
        write_record(&mut out, &record);
        let expected = serde_json::to_vec(&record).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&expected),
            "record {i}"
        );
        // And it reads back as the same record.
        assert_eq!(serde_json::from_slice::<AuditRecord>(&out).unwrap(), record);
    }
}

#[test]
fn the_writer_appends_to_what_the_buffer_holds() {
    let mut out = b"before ".to_vec();
    write_record(&mut out, &record(3));
    assert!(out.starts_with(b"before {\"schema\":\"abca.audit.v1\""));
}
