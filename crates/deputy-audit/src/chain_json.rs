//! The two actor-chain documents a `deputy.resolve` span carries as JSON text
//! (`deputy.actor_chain.asserted`, `deputy.actor_chain.observed`), read with the OTLP/JSON
//! scanner's tokens for the shape deputy writes, and with `serde_json` (the reference, whose
//! error text is reported) for anything else.
//!
//! The fast reader accepts only objects whose members are strings (or `null` where the field
//! is optional), each at most once, unknown members skipped, as the derived `Deserialize`
//! does; whatever it does not accept goes to `serde_json`, so the result is the same either way.

use deputy_core::UserId;
use deputy_core::actor::{Actor, ActorChain, AssertedChain, ObservedDelegation};

use crate::otlp_json::cursor::{Cursor, Scan};

/// Reads an [`AssertedChain`]; the error is `serde_json`'s message. `known_user` is a user id
/// already parsed (the span's `user_id`): when the chain names the same user, it is cloned
/// rather than parsed again.
///
/// ```
/// use deputy_audit::chain_json::asserted_chain;
/// let text = r#"{"user":"okta+alice","agent":"deputy-agent"}"#;
/// let chain = asserted_chain(text, None).unwrap();
/// assert_eq!(chain.user.as_ref().unwrap().as_str(), "okta+alice");
/// assert_eq!(asserted_chain(text, chain.user.as_ref()).unwrap(), chain);
/// assert!(asserted_chain(r#"{"user":"okta+alice"}"#, None).unwrap_err().contains("agent"));
/// ```
pub fn asserted_chain(text: &str, known_user: Option<&UserId>) -> Result<AssertedChain, String> {
    fast_asserted(text, known_user)
        .or_else(|_| serde_json::from_str(text).map_err(|e| e.to_string()))
}

/// Reads an [`ObservedDelegation`]; the error is `serde_json`'s message.
///
/// ```
/// use deputy_audit::chain_json::observed_delegation;
/// let observed =
///     observed_delegation(r#"{"subject":{"sub":"alice"},"actors":[{"sub":"agent"}]}"#).unwrap();
/// assert_eq!(observed.actors.current().unwrap().sub, "agent");
/// assert!(observed_delegation(r#"{"subject":{"sub":"alice"}}"#).is_err());
/// ```
pub fn observed_delegation(text: &str) -> Result<ObservedDelegation, String> {
    fast_observed(text).or_else(|_| serde_json::from_str(text).map_err(|e| e.to_string()))
}

fn fast_asserted(text: &str, known_user: Option<&UserId>) -> Scan<AssertedChain> {
    let mut c = Cursor::new(text);
    let (mut user, mut orchestrator, mut agent, mut workload) = (None, None, None, None);
    object(&mut c, |c, key| {
        let slot = match key {
            "user" => &mut user,
            "orchestrator" => &mut orchestrator,
            "agent" => &mut agent,
            "workload" => &mut workload,
            _ => return c.skip_value(),
        };
        once(c, slot, nullable_string)
    })?;
    c.end()?;
    let user = match (user.flatten(), known_user) {
        (Some(user), Some(known)) if known.as_str() == user => Some(known.clone()),
        (Some(user), _) => Some(present(&c, UserId::parse(&user).ok())?),
        (None, _) => None,
    };
    Ok(AssertedChain {
        user,
        orchestrator: orchestrator.flatten(),
        agent: present(&c, agent.flatten())?,
        workload: workload.flatten(),
    })
}

fn fast_observed(text: &str) -> Scan<ObservedDelegation> {
    let mut c = Cursor::new(text);
    let (mut subject, mut actors) = (None, None);
    object(&mut c, |c, key| match key {
        "subject" => once(c, &mut subject, actor),
        "actors" => once(c, &mut actors, |c| {
            let mut list = Vec::new();
            c.open(b'[')?;
            if !c.close_if_empty(b']') {
                loop {
                    list.push(actor(c)?);
                    if !c.next_or_close(b']')? {
                        break;
                    }
                }
            }
            Ok(list)
        }),
        _ => c.skip_value(),
    })?;
    c.end()?;
    Ok(ObservedDelegation {
        subject: present(&c, subject)?,
        actors: ActorChain::from_actors(present(&c, actors)?),
    })
}

fn actor(c: &mut Cursor<'_>) -> Scan<Actor> {
    let (mut sub, mut iss) = (None, None);
    object(c, |c, key| match key {
        "sub" => once(c, &mut sub, |c| Ok(c.string()?.into_owned())),
        "iss" => once(c, &mut iss, nullable_string),
        _ => c.skip_value(),
    })?;
    Ok(Actor {
        sub: present(c, sub)?,
        iss: iss.flatten(),
    })
}

/// An object, calling `member` with each key (the cursor at the value).
fn object<'a>(
    c: &mut Cursor<'a>,
    mut member: impl FnMut(&mut Cursor<'a>, &'a str) -> Scan<()>,
) -> Scan<()> {
    c.open(b'{')?;
    if c.close_if_empty(b'}') {
        return Ok(());
    }
    loop {
        let key = c.key()?;
        member(c, key)?;
        if !c.next_or_close(b'}')? {
            return Ok(());
        }
    }
}

/// Reads a field's value into `slot`; a field seen twice is left to `serde_json` (which
/// refuses it).
fn once<'a, T>(
    c: &mut Cursor<'a>,
    slot: &mut Option<T>,
    read: impl FnOnce(&mut Cursor<'a>) -> Scan<T>,
) -> Scan<()> {
    if slot.is_some() {
        return c.fail();
    }
    *slot = Some(read(c)?);
    Ok(())
}

/// A string, or `null` (`None`).
fn nullable_string(c: &mut Cursor<'_>) -> Scan<Option<String>> {
    if c.literal("null") {
        return Ok(None);
    }
    Ok(Some(c.string()?.into_owned()))
}

fn present<T>(c: &Cursor<'_>, value: Option<T>) -> Scan<T> {
    match value {
        Some(value) => Ok(value),
        None => c.fail(),
    }
}
