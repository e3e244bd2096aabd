//! An on-behalf-of token must speak for the task's user, and name the agent when the rule
//! delegates: a verified signature proves who issued the token, not whom it is for.

use deputy_core::actor::ObservedDelegation;
use deputy_core::flow::ActorToken;

use crate::task::Task;
use crate::vault::WatBinding;

/// Checks an exchanged token's subject and `act` against the task and the rule's actor mode.
/// The error says what disagreed, naming no token.
pub(super) fn check(
    observed: &ObservedDelegation,
    task: &Task,
    actor: ActorToken,
) -> Result<(), String> {
    let WatBinding::Jwt(jwt) = task.wat.binding() else {
        return Err("on-behalf-of needs a task bound to a verified user JWT".into());
    };
    if observed.subject.sub != jwt.subject() {
        return Err(
            "the exchanged token's `sub` is not the task's user: an on-behalf-of token must speak for the user whose JWT was exchanged; check the provider's subject mapping"
                .into(),
        );
    }
    let same_issuer = observed
        .subject
        .iss
        .as_deref()
        .is_some_and(|iss| iss.trim_end_matches('/') == jwt.issuer().trim_end_matches('/'));
    if !same_issuer {
        return Err(
            "the exchanged token's `iss` is not the issuer of the task's user JWT, so its `sub` may name someone else".into(),
        );
    }
    if actor.is_delegation() && observed.actors.is_empty() {
        return Err(format!(
            "the rule delegates (actor_token = {:?}) but the exchanged token has no `act` claim: the provider impersonated the user; configure its actor token, or mark the rule as impersonation",
            actor.wire_name()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::UserToken;
    use crate::user_jwt::UserJwt;
    use deputy_core::actor::{Actor, ActorChain};
    use deputy_core::{IssuerMap, TaskId};

    fn alice_task() -> Task {
        use base64::Engine as _;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"iss":"https://idp.example","sub":"alice"}"#);
        let mut issuers = IssuerMap::new();
        issuers.insert("https://idp.example", "dev").unwrap();
        let jwt = UserJwt::from_verified(
            UserToken::new(format!("eyJhbGciOiJSUzI1NiJ9.{payload}.sig")),
            &issuers,
        )
        .unwrap();
        Task::interactive(TaskId::new("t").unwrap(), jwt)
    }

    fn token(sub: &str, iss: &str, act: &[&str]) -> ObservedDelegation {
        ObservedDelegation {
            subject: Actor {
                sub: sub.into(),
                iss: Some(iss.into()),
            },
            actors: ActorChain::from_actors(act.iter().map(|a| Actor::new(*a)).collect()),
        }
    }

    #[test]
    fn an_obo_token_for_another_user_or_issuer_or_without_act_is_refused() {
        let task = alice_task();
        let ok = token("alice", "https://idp.example/", &["agent"]);
        assert_eq!(check(&ok, &task, ActorToken::M2m), Ok(()));
        let bob = token("bob", "https://idp.example", &["agent"]);
        assert!(
            check(&bob, &task, ActorToken::M2m)
                .unwrap_err()
                .contains("`sub`")
        );
        let elsewhere = token("alice", "https://other.example", &["agent"]);
        assert!(
            check(&elsewhere, &task, ActorToken::M2m)
                .unwrap_err()
                .contains("`iss`")
        );
        let impersonated = token("alice", "https://idp.example", &[]);
        assert!(
            check(&impersonated, &task, ActorToken::M2m)
                .unwrap_err()
                .contains("no `act`")
        );
        // A rule that opted into impersonation accepts a token without `act`.
        assert_eq!(check(&impersonated, &task, ActorToken::None), Ok(()));
        // A task bound to a user id cannot be checked against a JWT user at all.
        let webhook = Task::webhook(
            TaskId::new("w").unwrap(),
            deputy_core::UserId::parse("dev+alice").unwrap(),
        );
        assert!(check(&ok, &webhook, ActorToken::M2m).is_err());
    }
}
