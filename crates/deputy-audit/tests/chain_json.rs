//! The actor-chain readers against `serde_json` (the reference): for every text, the same
//! chain or the same error message, whether the fast reader or `serde_json` read it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use deputy_audit::chain_json::{asserted_chain, observed_delegation};
use deputy_core::UserId;
use deputy_core::actor::{AssertedChain, ObservedDelegation};

const ASSERTED: &[&str] = &[
    r#"{"user":"okta+alice","orchestrator":"orch","agent":"deputy-agent"}"#,
    r#"{"agent":"deputy-agent"}"#,
    r#" { "user" : "dev+bob" , "agent" : "a" , "workload" : "w" } "#,
    r#"{"user":null,"orchestrator":null,"agent":"a","workload":null}"#,
    r#"{"agent":"a","extra":{"nested":[1,2,{"x":null}]},"more":"\ud800"}"#,
    r#"{"agent":"esc\"aped \u00e9 \ud83d\ude00"}"#,
    r#"{"user":"okta+al\u0069ce","agent":"a"}"#,
    // Refused by both, with serde_json's message.
    r#"{"user":"okta+alice"}"#,
    r#"{"agent":null}"#,
    r#"{"agent":"a","agent":"b"}"#,
    r#"{"user":"no-separator","agent":"a"}"#,
    r#"{"user":"BAD+alice","agent":"a"}"#,
    r#"{"user":7,"agent":"a"}"#,
    r#"{"agent":"a"} trailing"#,
    r#"{"agent":"a",}"#,
    r#"{"a\u0067ent":"a"}"#,
    r#"["okta+alice","orch","a"]"#,
    r#"{"agent":"\ud800"}"#,
    "",
    "null",
];

const OBSERVED: &[&str] = &[
    r#"{"subject":{"sub":"alice"},"actors":[{"sub":"deputy-agent"}]}"#,
    r#"{"subject":{"sub":"alice","iss":"https://idp"},"actors":[]}"#,
    r#"{"actors":[{"sub":"a","iss":null},{"sub":"b","iss":"i","x":1}],"subject":{"sub":"s"}}"#,
    r#"{"subject":{"sub":""},"actors":[{"sub":"\u0041"}],"unknown":[{}]}"#,
    r#"{"subject":{"sub":"alice"}}"#,
    r#"{"actors":[]}"#,
    r#"{"subject":{"sub":"alice"},"actors":null}"#,
    r#"{"subject":{"iss":"i"},"actors":[]}"#,
    r#"{"subject":{"sub":"a","sub":"b"},"actors":[]}"#,
    r#"{"subject":{"sub":"a"},"subject":{"sub":"b"},"actors":[]}"#,
    r#"{"subject":{"sub":"a"},"actors":[{"sub":1}]}"#,
    r#"{"subject":{"sub":"a"},"actors":{}}"#,
    r#"{"subject":["a"],"actors":[]}"#,
    r#"{"subject":{"sub":"a"},"actors":[]}x"#,
];

fn reference<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

fn check(text: &str) {
    assert_eq!(
        asserted_chain(text, None),
        reference::<AssertedChain>(text),
        "{text}"
    );
    assert_eq!(
        observed_delegation(text),
        reference::<ObservedDelegation>(text),
        "{text}"
    );
    // A user id already parsed changes nothing but the work done.
    let known = UserId::parse("okta+alice").unwrap();
    assert_eq!(
        asserted_chain(text, Some(&known)),
        reference::<AssertedChain>(text),
        "{text}"
    );
}

#[test]
fn the_readers_agree_with_serde_json_on_every_document() {
    for text in ASSERTED.iter().chain(OBSERVED) {
        check(text);
    }
}

#[test]
fn the_readers_agree_with_serde_json_on_truncated_and_spliced_documents() {
    for text in ASSERTED.iter().chain(OBSERVED) {
        for cut in 0..=text.len() {
            if let Some(prefix) = text.get(..cut) {
                check(prefix);
                // The rest moved to the front, and a duplicated middle.
                if let Some(rest) = text.get(cut..) {
                    check(&format!("{rest}{prefix}"));
                    check(&format!("{prefix}{prefix}{rest}"));
                }
            }
        }
    }
}
