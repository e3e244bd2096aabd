//! On-behalf-of tokens are tied to the task: they speak for the task's user, carry `act` when
//! the rule delegates, and a token one actor mode accepted is never served to another.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use deputy::verify::TokenVerifier;
use deputy_core::Operation;
use deputy_core::policy::PolicyTable;

/// The built-in table, with AWS-native reads served by impersonation (no `act`, opted into)
/// and writes by delegation, both through the dev IdP's `jwt-bearer` provider, whose RFC 7523
/// grant never adds an actor.
fn policy() -> PolicyTable {
    let text = PolicyTable::built_in_source();
    let start = text.find("id = \"aws-native-obo\"").unwrap();
    let end = start + text[start..].find("actor_token = \"m2m\"").unwrap() + 19;
    let rules = r#"id = "aws-native-obo-read"
summary = "test: impersonation, opted into"
integrations = ["aws-native"]
triggers = ["interactive"]
operations = ["read"]
flow = "on_behalf_of"
provider = "jwt-bearer"
actor_token = "none"
allow_impersonation = true

[[rule]]
id = "aws-native-obo-write"
summary = "test: delegation"
integrations = ["aws-native"]
triggers = ["interactive"]
operations = ["write"]
flow = "on_behalf_of"
provider = "jwt-bearer"
actor_token = "m2m""#;
    let text = format!("{}{rules}{}", &text[..start], &text[end..]);
    PolicyTable::from_toml("obo-modes.toml", &text).unwrap()
}

#[tokio::test]
async fn a_token_without_act_is_never_served_to_a_rule_that_delegates() {
    let vault = common::vault().await;
    let issuer = vault.idp_issuer();
    let resolver = common::builder(&vault)
        .policy(policy())
        .verifier(
            "jwt-bearer",
            TokenVerifier::new(issuer.clone(), format!("{issuer}/jwks"), ["jwt-bearer"]),
        )
        .build()
        .unwrap();
    let alice = common::interactive(&vault, "alice", "t-obo-modes");
    // The impersonation rule accepts the token without `act`, and it is cached.
    let read = resolver
        .resolve_aws_native_token(&alice, Operation::Read)
        .await
        .unwrap();
    let observed = read.observed.as_ref().unwrap();
    assert!(observed.actors.is_empty());
    assert_eq!(observed.subject.sub, "alice");
    let calls = vault.call_count("GetResourceOauth2Token");
    // The delegating rule asks the same provider for the same scopes: it must not get the
    // cached impersonation token, and the provider's own answer lacks `act`, so it is refused.
    let err = resolver
        .resolve_aws_native_token(&alice, Operation::Write)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_token", "{err}");
    assert!(err.to_string().contains("no `act` claim"), "{err}");
    assert_eq!(
        vault.call_count("GetResourceOauth2Token"),
        calls + 1,
        "the write was fetched, not served from the read's cache entry"
    );
}
