//! Actor chains: who acts for whom.
//!
//! The *observed* chain comes from a verified token's RFC 8693 `act` claim: the outermost `act`
//! is the current actor, each nested `act` a prior one. The *asserted* chain is what deputy's
//! own context says (user → orchestrator → agent). Audit compares the two.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

mod asserted;

pub use asserted::{AssertedChain, AssertedChainRef, ChainDisagreement};

/// The default cap on nested `act` claims.
pub const DEFAULT_MAX_DEPTH: usize = 8;

/// One party in a chain: a subject, optionally qualified by its issuer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// The actor's `sub`.
    pub sub: String,
    /// The actor's `iss`, when the token names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

impl Actor {
    /// An actor with a subject and no issuer.
    pub fn new(sub: impl Into<String>) -> Self {
        Actor {
            sub: sub.into(),
            iss: None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.iss {
            Some(iss) => write!(f, "{}@{iss}", self.sub),
            None => f.write_str(&self.sub),
        }
    }
}

/// Why an `act` claim was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActError {
    /// `act` (at this depth, 1 = outermost) is not a JSON object.
    #[error("`act` at depth {depth} is not a JSON object")]
    NotAnObject {
        /// 1-based depth.
        depth: usize,
    },
    /// `act` has no string `sub`.
    #[error("`act` at depth {depth} has no string `sub` identifying the actor")]
    MissingSub {
        /// 1-based depth.
        depth: usize,
    },
    /// `iss` is present but not a string.
    #[error("`act` at depth {depth} has a non-string `iss`")]
    BadIssuer {
        /// 1-based depth.
        depth: usize,
    },
    /// More nested actors than allowed.
    #[error("`act` chain is deeper than the limit of {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// The same actor appears twice.
    #[error("`act` chain has a cycle: actor {actor} appears at depths {first} and {again}")]
    Cycle {
        /// The repeated actor.
        actor: Actor,
        /// Where it first appears.
        first: usize,
        /// Where it appears again.
        again: usize,
    },
}

/// The chain of actors in a token, current (outermost `act`) first.
///
/// ```
/// use deputy_core::actor::ActorChain;
/// let claims = serde_json::json!({
///     "sub": "alice",
///     "act": { "sub": "agent", "act": { "sub": "orchestrator" } }
/// });
/// let chain = ActorChain::from_claims(claims.as_object().unwrap(), 8).unwrap();
/// assert_eq!(chain.current().unwrap().sub, "agent");
/// assert_eq!(chain.to_string(), "agent < orchestrator");
/// assert_eq!(chain.to_act_claim().unwrap(), claims["act"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActorChain {
    actors: Vec<Actor>,
}

impl ActorChain {
    /// A chain from actors listed current first.
    pub fn from_actors(actors: Vec<Actor>) -> Self {
        ActorChain { actors }
    }

    /// Parses the `act` claim of verified claims; no `act` gives an empty chain.
    ///
    /// Only `sub` and `iss` identify an actor; other members such as `exp`, `nbf` or `aud`
    /// inside `act` carry no meaning (RFC 8693 §4.1) and are ignored.
    pub fn from_claims(claims: &Map<String, Value>, max_depth: usize) -> Result<Self, ActError> {
        let mut actors: Vec<Actor> = Vec::new();
        let mut next = claims.get("act");
        while let Some(value) = next {
            let depth = actors.len() + 1;
            if depth > max_depth {
                return Err(ActError::TooDeep { max: max_depth });
            }
            let object = value.as_object().ok_or(ActError::NotAnObject { depth })?;
            let sub = match object.get("sub") {
                Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
                _ => return Err(ActError::MissingSub { depth }),
            };
            let iss = match object.get("iss") {
                None => None,
                Some(Value::String(iss)) => Some(iss.clone()),
                Some(_) => return Err(ActError::BadIssuer { depth }),
            };
            let actor = Actor { sub, iss };
            if let Some(first) = actors.iter().position(|a| *a == actor) {
                return Err(ActError::Cycle {
                    actor,
                    first: first + 1,
                    again: depth,
                });
            }
            actors.push(actor);
            next = object.get("act");
        }
        Ok(ActorChain { actors })
    }

    /// The nested `act` claim for this chain, or `None` when it is empty.
    pub fn to_act_claim(&self) -> Option<Value> {
        self.actors.iter().rev().fold(None, |inner, actor| {
            let mut object = Map::new();
            object.insert("sub".into(), Value::String(actor.sub.clone()));
            if let Some(iss) = &actor.iss {
                object.insert("iss".into(), Value::String(iss.clone()));
            }
            if let Some(inner) = inner {
                object.insert("act".into(), inner);
            }
            Some(Value::Object(object))
        })
    }

    /// The current actor (outermost `act`).
    pub fn current(&self) -> Option<&Actor> {
        self.actors.first()
    }

    /// All actors, current first.
    pub fn actors(&self) -> &[Actor] {
        &self.actors
    }

    /// Whether the token names no actor (impersonation, or a plain user token).
    pub fn is_empty(&self) -> bool {
        self.actors.is_empty()
    }
}

impl fmt::Display for ActorChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, actor) in self.actors.iter().enumerate() {
            if i > 0 {
                f.write_str(" < ")?;
            }
            write!(f, "{actor}")?;
        }
        Ok(())
    }
}

/// What a verified token says about delegation: its subject and its actor chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedDelegation {
    /// The token's `sub` and `iss`: the party the token speaks for.
    pub subject: Actor,
    /// The actors acting for the subject, current first.
    pub actors: ActorChain,
}

impl ObservedDelegation {
    /// Reads subject and chain from verified claims.
    pub fn from_claims(claims: &Map<String, Value>, max_depth: usize) -> Result<Self, ActError> {
        let sub = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            _ => return Err(ActError::MissingSub { depth: 0 }),
        };
        let iss = claims.get("iss").and_then(Value::as_str).map(str::to_owned);
        Ok(ObservedDelegation {
            subject: Actor { sub, iss },
            actors: ActorChain::from_claims(claims, max_depth)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(claims: Value) -> Result<ActorChain, ActError> {
        ActorChain::from_claims(claims.as_object().unwrap(), DEFAULT_MAX_DEPTH)
    }

    #[test]
    fn outermost_is_current_and_extra_members_are_ignored() {
        let chain = parse(json!({"sub": "u", "act": {"sub": "b", "exp": 1, "aud": "x", "nbf": "junk", "act": {"sub": "a", "iss": "https://i"}}})).unwrap();
        assert_eq!(
            chain.actors(),
            [
                Actor::new("b"),
                Actor {
                    sub: "a".into(),
                    iss: Some("https://i".into())
                }
            ]
        );
        assert_eq!(chain.to_string(), "b < a@https://i");
        assert!(parse(json!({"sub": "u"})).unwrap().is_empty());
    }

    #[test]
    fn malformed_act_is_refused() {
        assert_eq!(
            parse(json!({"act": "agent"})),
            Err(ActError::NotAnObject { depth: 1 })
        );
        assert_eq!(
            parse(json!({"act": {"sub": "a", "act": []}})),
            Err(ActError::NotAnObject { depth: 2 })
        );
        assert_eq!(
            parse(json!({"act": {"client_id": "a"}})),
            Err(ActError::MissingSub { depth: 1 })
        );
        assert_eq!(
            parse(json!({"act": {"sub": ""}})),
            Err(ActError::MissingSub { depth: 1 })
        );
        assert_eq!(
            parse(json!({"act": {"sub": 7}})),
            Err(ActError::MissingSub { depth: 1 })
        );
        assert_eq!(
            parse(json!({"act": {"sub": "a", "iss": 1}})),
            Err(ActError::BadIssuer { depth: 1 })
        );
    }

    #[test]
    fn cycles_compare_issuer_and_subject() {
        let err = parse(json!({"act": {"sub": "a", "act": {"sub": "b", "act": {"sub": "a"}}}}))
            .unwrap_err();
        assert_eq!(
            err,
            ActError::Cycle {
                actor: Actor::new("a"),
                first: 1,
                again: 3
            }
        );
        // Same sub at two issuers is two actors.
        assert!(
            parse(json!({"act": {"sub": "a", "iss": "x", "act": {"sub": "a", "iss": "y"}}}))
                .is_ok()
        );
    }

    #[test]
    fn depth_cap_is_configurable() {
        let claims = json!({"act": {"sub": "a", "act": {"sub": "b", "act": {"sub": "c"}}}});
        let map = claims.as_object().unwrap();
        assert!(ActorChain::from_claims(map, 3).is_ok());
        assert_eq!(
            ActorChain::from_claims(map, 2),
            Err(ActError::TooDeep { max: 2 })
        );
    }

    #[test]
    fn observed_delegation_needs_a_subject() {
        let claims = json!({"iss": "https://okta", "act": {"sub": "agent"}});
        assert_eq!(
            ObservedDelegation::from_claims(claims.as_object().unwrap(), 8),
            Err(ActError::MissingSub { depth: 0 })
        );
    }
}
