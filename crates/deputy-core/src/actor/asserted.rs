//! The chain deputy asserts (user → orchestrator → agent) and how a token can disagree with it.

use serde::{Deserialize, Serialize};

use super::ObservedDelegation;
use crate::json_text::push_string;
use crate::{IssuerMap, UserId};

/// The chain deputy's own context asserts: user → orchestrator → agent.
///
/// Actor names are the subjects the token is expected to carry in `act.sub` (for AgentCore
/// OBO with an M2M actor token, the agent workload's client id). The resolver cannot derive
/// that client id from anything it holds, so the operator declares it per OBO provider
/// (`ResolverBuilder::obo_actor` in the `deputy` crate); the chain then asserts the declared
/// subject as `agent` and keeps the workload name in `workload`.
///
/// ```
/// use deputy_core::actor::{Actor, ActorChain, AssertedChain, ObservedDelegation};
/// use deputy_core::{IssuerMap, UserId};
/// let asserted = AssertedChain {
///     user: Some(UserId::parse("okta+alice").unwrap()),
///     orchestrator: Some("orchestrator".into()),
///     agent: "agent-client-id".into(),
///     workload: Some("deputy-agent".into()),
/// };
/// let observed = ObservedDelegation {
///     subject: Actor::new("alice"),
///     actors: ActorChain::from_actors(vec![Actor::new("agent-client-id")]),
/// };
/// assert!(asserted.disagreements(&observed, &IssuerMap::new()).is_empty());
/// // Records written before `workload` existed still read.
/// let old: AssertedChain = serde_json::from_str(r#"{"agent":"deputy-agent"}"#).unwrap();
/// assert_eq!(old.workload, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertedChain {
    /// The user the task is for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
    /// The orchestrating workload, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestrator: Option<String>,
    /// The agent that asks for the credential, as the token should name it in `act.sub`: the
    /// workload name, or the actor subject declared for the provider.
    pub agent: String,
    /// The agent's workload name, when `agent` is a declared actor subject that differs from
    /// it (absent otherwise, and in records written before this field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
}

/// An [`AssertedChain`] of borrowed names, for callers that only serialise it (a resolver
/// does, for every span). It serialises exactly as the owned chain does.
///
/// ```
/// use deputy_core::actor::{AssertedChain, AssertedChainRef};
/// let chain = AssertedChainRef { user: None, orchestrator: None, agent: "deputy-agent", workload: None };
/// assert_eq!(serde_json::to_string(&chain).unwrap(), r#"{"agent":"deputy-agent"}"#);
/// assert_eq!(chain.to_owned_chain(), AssertedChain { user: None, orchestrator: None, agent: "deputy-agent".into(), workload: None });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AssertedChainRef<'a> {
    /// See [`AssertedChain::user`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a UserId>,
    /// See [`AssertedChain::orchestrator`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orchestrator: Option<&'a str>,
    /// See [`AssertedChain::agent`].
    pub agent: &'a str,
    /// See [`AssertedChain::workload`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<&'a str>,
}

impl AssertedChainRef<'_> {
    /// Appends the chain as JSON: the bytes `serde_json` writes for it (members in declaration
    /// order, absent ones skipped), without serde's machinery.
    ///
    /// ```
    /// use deputy_core::actor::AssertedChainRef;
    /// let chain = AssertedChainRef { user: None, orchestrator: Some("orch"), agent: "deputy-agent", workload: None };
    /// let mut out = Vec::new();
    /// chain.write_json(&mut out);
    /// assert_eq!(out, serde_json::to_vec(&chain).unwrap());
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut first = true;
        for (name, value) in self.members() {
            let Some(value) = value else { continue };
            out.extend_from_slice(if first { b"{\"" } else { b",\"" });
            first = false;
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            push_string(out, value);
        }
        out.push(b'}');
    }

    /// The chain as a JSON string (as [`AssertedChainRef::write_json`] writes it), allocated
    /// once at its exact length unless a name needs escaping.
    ///
    /// ```
    /// use deputy_core::actor::AssertedChainRef;
    /// let chain = AssertedChainRef { user: None, orchestrator: None, agent: "deputy-agent", workload: None };
    /// assert_eq!(chain.to_json(), r#"{"agent":"deputy-agent"}"#);
    /// ```
    pub fn to_json(&self) -> String {
        // Braces, and per member a separator, the quoted name, a colon and the quoted value.
        let len = 1 + self
            .members()
            .iter()
            .filter_map(|(name, value)| value.map(|value| 1 + name.len() + 3 + value.len() + 2))
            .sum::<usize>();
        let mut out = Vec::with_capacity(len);
        self.write_json(&mut out);
        // Valid: the names are `str`s and the escapes are ASCII.
        String::from_utf8(out)
            .unwrap_or_else(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned())
    }

    /// The members in declaration order, `None` where `serde` skips one.
    fn members(&self) -> [(&'static str, Option<&str>); 4] {
        [
            ("user", self.user.map(UserId::as_str)),
            ("orchestrator", self.orchestrator),
            ("agent", Some(self.agent)),
            ("workload", self.workload),
        ]
    }

    /// The owned chain with the same names.
    pub fn to_owned_chain(&self) -> AssertedChain {
        AssertedChain {
            user: self.user.cloned(),
            orchestrator: self.orchestrator.map(str::to_owned),
            agent: self.agent.to_owned(),
            workload: self.workload.map(str::to_owned),
        }
    }
}

/// One way an observed chain disagrees with the asserted one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainDisagreement {
    /// The token speaks for someone other than the asserted user.
    #[error("token subject {observed:?} is not the asserted user {expected:?}")]
    Subject {
        /// The asserted user id.
        expected: String,
        /// The token's subject.
        observed: String,
    },
    /// The token names no actor although an agent acts: impersonation.
    #[error(
        "token has no `act` claim, so it does not record that agent {agent:?} acts (impersonation)"
    )]
    NoActor {
        /// The asserted agent.
        agent: String,
    },
    /// An actor at a position is not the asserted one.
    #[error("actor at depth {depth} is {observed:?}, expected {expected:?}")]
    Actor {
        /// 1-based depth.
        depth: usize,
        /// The asserted actor.
        expected: String,
        /// The token's actor.
        observed: String,
    },
    /// The token names more actors than the context asserts.
    #[error("actor at depth {depth} ({observed:?}) is not in the asserted chain")]
    Unexpected {
        /// 1-based depth.
        depth: usize,
        /// The extra actor.
        observed: String,
    },
}

impl AssertedChain {
    /// The same chain, borrowed.
    ///
    /// ```
    /// use deputy_core::actor::AssertedChain;
    /// let chain = AssertedChain { user: None, orchestrator: None, agent: "deputy-agent".into(), workload: None };
    /// assert_eq!(chain.as_chain_ref().to_owned_chain(), chain);
    /// ```
    pub fn as_chain_ref(&self) -> AssertedChainRef<'_> {
        AssertedChainRef {
            user: self.user.as_ref(),
            orchestrator: self.orchestrator.as_deref(),
            agent: &self.agent,
            workload: self.workload.as_deref(),
        }
    }

    /// The asserted actors, current (the agent) first.
    pub fn actors(&self) -> Vec<&str> {
        std::iter::once(self.agent.as_str())
            .chain(self.orchestrator.as_deref())
            .collect()
    }

    /// Where the observed delegation disagrees with this chain; empty when consistent.
    ///
    /// A token may record fewer prior actors than asserted (AgentCore's OBO records only the
    /// agent), but every actor it does record must be the asserted one at that depth. The
    /// subject's issuer is checked against the user's IdP prefix when `issuers` knows it.
    pub fn disagreements(
        &self,
        observed: &ObservedDelegation,
        issuers: &IssuerMap,
    ) -> Vec<ChainDisagreement> {
        let mut found = Vec::new();
        if let Some(user) = &self.user {
            let same_idp = observed
                .subject
                .iss
                .as_deref()
                .and_then(|iss| issuers.prefix_for(iss))
                .is_none_or(|prefix| prefix == user.idp());
            if observed.subject.sub != user.sub() || !same_idp {
                found.push(ChainDisagreement::Subject {
                    expected: user.as_str().to_owned(),
                    observed: observed.subject.to_string(),
                });
            }
        }
        let asserted = self.actors();
        if observed.actors.is_empty() {
            found.push(ChainDisagreement::NoActor {
                agent: self.agent.clone(),
            });
        }
        for (i, actor) in observed.actors.actors().iter().enumerate() {
            match asserted.get(i) {
                Some(expected) if *expected == actor.sub => {}
                Some(expected) => found.push(ChainDisagreement::Actor {
                    depth: i + 1,
                    expected: (*expected).to_owned(),
                    observed: actor.sub.clone(),
                }),
                None => found.push(ChainDisagreement::Unexpected {
                    depth: i + 1,
                    observed: actor.sub.clone(),
                }),
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::{Actor, ActorChain};

    fn asserted() -> AssertedChain {
        AssertedChain {
            user: Some(UserId::parse("okta+alice").unwrap()),
            orchestrator: Some("orch".into()),
            agent: "agent".into(),
            workload: None,
        }
    }

    fn observed(sub: &str, iss: Option<&str>, actors: &[&str]) -> ObservedDelegation {
        ObservedDelegation {
            subject: Actor {
                sub: sub.into(),
                iss: iss.map(Into::into),
            },
            actors: ActorChain::from_actors(actors.iter().map(|a| Actor::new(*a)).collect()),
        }
    }

    #[test]
    fn the_borrowed_chain_serialises_as_the_owned_one_in_every_shape() {
        let user = UserId::parse("okta+al\"ice").unwrap();
        for mask in 0..8u8 {
            let borrowed = AssertedChainRef {
                user: (mask & 1 != 0).then_some(&user),
                orchestrator: (mask & 2 != 0).then_some("orch\u{1}"),
                agent: "agent-\u{e9}",
                workload: (mask & 4 != 0).then_some("deputy-agent"),
            };
            let owned = borrowed.to_owned_chain();
            assert_eq!(
                serde_json::to_string(&borrowed).unwrap(),
                serde_json::to_string(&owned).unwrap(),
                "shape {mask}"
            );
            assert_eq!(
                borrowed.to_json(),
                serde_json::to_string(&borrowed).unwrap(),
                "shape {mask}"
            );
            assert_eq!(owned.as_chain_ref(), borrowed);
            let back: AssertedChain =
                serde_json::from_str(&serde_json::to_string(&borrowed).unwrap()).unwrap();
            assert_eq!(back, owned);
        }
    }

    #[test]
    fn hand_written_json_is_serde_json_for_every_byte_and_sized_exactly_when_plain() {
        // Every ASCII byte (the control characters and the two that need escapes among them)
        // at several offsets, and multi-byte characters beside them.
        for byte in 0u8..0x80 {
            for pad in [0, 1, 7, 8, 9] {
                let name = format!(
                    "{}{}é日{}",
                    "a".repeat(pad),
                    char::from(byte),
                    "z".repeat(pad)
                );
                let user = UserId::parse(&format!("okta+{name}")).ok();
                let chain = AssertedChainRef {
                    user: user.as_ref(),
                    orchestrator: Some(&name),
                    agent: &name,
                    workload: Some("deputy-agent"),
                };
                assert_eq!(
                    chain.to_json(),
                    serde_json::to_string(&chain).unwrap(),
                    "byte {byte:#04x}"
                );
            }
        }
        let plain = AssertedChainRef {
            user: None,
            orchestrator: Some("orchestrator"),
            agent: "agent-client-id",
            workload: Some("deputy-agent"),
        };
        let json = plain.to_json();
        assert_eq!(json.capacity(), json.len(), "{json}");
    }

    #[test]
    fn comparison_finds_each_kind_of_disagreement() {
        let mut issuers = IssuerMap::new();
        issuers.insert("https://okta", "okta").unwrap();
        issuers.insert("https://entra", "entra").unwrap();
        let a = asserted();
        assert!(
            a.disagreements(
                &observed("alice", Some("https://okta"), &["agent", "orch"]),
                &issuers
            )
            .is_empty()
        );
        assert!(
            a.disagreements(&observed("alice", None, &["agent"]), &issuers)
                .is_empty()
        );
        assert!(matches!(
            a.disagreements(
                &observed("alice", Some("https://entra"), &["agent"]),
                &issuers
            )[..],
            [ChainDisagreement::Subject { .. }]
        ));
        assert!(matches!(
            a.disagreements(&observed("mallory", None, &["agent"]), &issuers)[..],
            [ChainDisagreement::Subject { .. }]
        ));
        assert_eq!(
            a.disagreements(&observed("alice", None, &[]), &issuers),
            [ChainDisagreement::NoActor {
                agent: "agent".into()
            }]
        );
        assert_eq!(
            a.disagreements(&observed("alice", None, &["other", "orch", "x"]), &issuers),
            [
                ChainDisagreement::Actor {
                    depth: 1,
                    expected: "agent".into(),
                    observed: "other".into()
                },
                ChainDisagreement::Unexpected {
                    depth: 3,
                    observed: "x".into()
                },
            ]
        );
    }
}
