//! The RFC 8693 `act` chain parser on arbitrary JSON claims.
//!
//! Properties: a chain that parses is never deeper than the cap, has no repeated actor,
//! and its `act` claim parses back to the same chain; the observed delegation agrees with
//! the chain; comparing it with an asserted chain never panics.
#![no_main]

use deputy_core::actor::{
    ActError, ActorChain, AssertedChain, DEFAULT_MAX_DEPTH, ObservedDelegation,
};
use deputy_core::{IssuerMap, UserId};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    // The first byte picks a cap (0..=15) as well as the default one, so small caps are hit.
    let Some((&cap, json)) = data.split_first() else {
        return;
    };
    let Ok(claims) = serde_json::from_slice::<Map<String, Value>>(json) else {
        return;
    };
    for max_depth in [usize::from(cap % 16), DEFAULT_MAX_DEPTH] {
        check(&claims, max_depth);
    }
});

fn check(claims: &Map<String, Value>, max_depth: usize) {
    let chain = match ActorChain::from_claims(claims, max_depth) {
        Ok(chain) => chain,
        Err(ActError::TooDeep { max }) => {
            assert_eq!(max, max_depth);
            return;
        }
        Err(_) => return,
    };
    let actors = chain.actors();
    assert!(
        actors.len() <= max_depth,
        "{} actors over cap {max_depth}",
        actors.len()
    );
    assert_eq!(chain.is_empty(), claims.get("act").is_none());
    for (i, actor) in actors.iter().enumerate() {
        assert!(!actor.sub.is_empty());
        assert!(
            !actors[..i].contains(actor),
            "repeated actor at depth {}",
            i + 1
        );
    }
    let _ = chain.to_string();
    // Round trip through the claim the chain renders.
    let mut rebuilt = Map::new();
    if let Some(act) = chain.to_act_claim() {
        rebuilt.insert("act".into(), act);
    }
    assert_eq!(
        ActorChain::from_claims(&rebuilt, max_depth).as_ref(),
        Ok(&chain)
    );

    if let Ok(observed) = ObservedDelegation::from_claims(claims, max_depth) {
        assert_eq!(observed.actors, chain);
        assert_eq!(
            Some(observed.subject.sub.as_str()),
            claims.get("sub").and_then(Value::as_str)
        );
        let asserted = AssertedChain {
            user: UserId::parse("okta+alice").ok(),
            orchestrator: Some("orchestrator".into()),
            agent: "agent".into(),
            workload: None,
        };
        let mut issuers = IssuerMap::new();
        issuers.insert("https://okta.example", "okta").unwrap();
        for disagreement in asserted.disagreements(&observed, &issuers) {
            let _ = disagreement.to_string();
        }
    }
}
