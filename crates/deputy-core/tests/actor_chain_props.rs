//! Property tests for act-chain parsing: round trips, the depth cap and cycle detection.

use deputy_core::actor::{ActError, Actor, ActorChain};
use proptest::collection::{btree_set, vec};
use proptest::prelude::*;

fn distinct_actors(max: usize) -> impl Strategy<Value = Vec<Actor>> {
    btree_set(
        ("[a-z0-9]{1,12}", proptest::option::of("https://[a-z]{1,8}")),
        0..=max,
    )
    .prop_map(|set| {
        set.into_iter()
            .map(|(sub, iss)| Actor { sub, iss })
            .collect()
    })
    .prop_shuffle()
}

fn claims_of(chain: &ActorChain) -> serde_json::Map<String, serde_json::Value> {
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), "user".into());
    if let Some(act) = chain.to_act_claim() {
        claims.insert("act".into(), act);
    }
    claims
}

proptest! {
    #[test]
    fn round_trip_within_the_cap(actors in distinct_actors(8)) {
        let chain = ActorChain::from_actors(actors.clone());
        let parsed = ActorChain::from_claims(&claims_of(&chain), 8).unwrap();
        prop_assert_eq!(parsed.actors(), &actors[..]);
        prop_assert_eq!(parsed.current(), actors.first());
    }

    #[test]
    fn deeper_than_the_cap_is_refused(actors in distinct_actors(20), cap in 0usize..10) {
        let chain = ActorChain::from_actors(actors.clone());
        let result = ActorChain::from_claims(&claims_of(&chain), cap);
        if actors.len() > cap {
            prop_assert_eq!(result, Err(ActError::TooDeep { max: cap }));
        } else {
            prop_assert!(result.is_ok());
        }
    }

    #[test]
    fn any_repeated_actor_is_a_cycle(actors in distinct_actors(7).prop_filter("non-empty", |a| !a.is_empty()), pick in any::<prop::sample::Index>(), at in any::<prop::sample::Index>()) {
        let mut with_repeat = actors.clone();
        let repeated = actors[pick.index(actors.len())].clone();
        let first = pick.index(actors.len());
        let insert_at = first + 1 + at.index(actors.len() - first);
        with_repeat.insert(insert_at, repeated.clone());
        let result = ActorChain::from_claims(&claims_of(&ActorChain::from_actors(with_repeat)), 16);
        prop_assert_eq!(result, Err(ActError::Cycle { actor: repeated, first: first + 1, again: insert_at + 1 }));
    }

    #[test]
    fn arbitrary_json_never_panics(value in arb_json()) {
        let mut claims = serde_json::Map::new();
        claims.insert("act".into(), value);
        let _ = ActorChain::from_claims(&claims, 8);
    }
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(Into::into),
        any::<i64>().prop_map(Into::into),
        "[a-z]{0,4}".prop_map(Into::into),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("sub".to_owned()),
                    Just("iss".to_owned()),
                    Just("act".to_owned()),
                    "[a-z]{1,3}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
