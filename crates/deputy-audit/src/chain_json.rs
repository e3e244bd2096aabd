//! The two actor-chain documents a `deputy.resolve` span carries as JSON text
//! (`deputy.actor_chain.asserted`, `deputy.actor_chain.observed`), read with the OTLP/JSON
//! scanner's tokens for the shape deputy writes, and with `serde_json` (the reference, whose
//! error text is reported) for anything else.
//!
//! The fast reader accepts only objects whose members are strings (or `null` where the field
//! is optional), each at most once, unknown members skipped, as the derived `Deserialize`
//! does; whatever it does not accept goes to `serde_json`, so the result is the same either way.

use std::borrow::Cow;

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
    asserted_chain_reusing(text, known_user, None)
}

/// Like [`asserted_chain`], reusing the strings of an `old` chain that is no longer needed.
pub(crate) fn asserted_chain_reusing(
    text: &str,
    known_user: Option<&UserId>,
    old: Option<AssertedChain>,
) -> Result<AssertedChain, String> {
    fast_asserted(text, known_user, old)
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
    observed_delegation_reusing(text, None)
}

/// Like [`observed_delegation`], reusing the strings of an `old` subject no longer needed.
pub(crate) fn observed_delegation_reusing(
    text: &str,
    old_subject: Option<Actor>,
) -> Result<ObservedDelegation, String> {
    fast_observed(text, old_subject)
        .or_else(|_| serde_json::from_str(text).map_err(|e| e.to_string()))
}

fn fast_asserted(
    text: &str,
    known_user: Option<&UserId>,
    old: Option<AssertedChain>,
) -> Scan<AssertedChain> {
    let (mut old_orchestrator, mut old_agent, mut old_workload) = match old {
        Some(old) => (old.orchestrator, Some(old.agent), old.workload),
        None => (None, None, None),
    };
    let mut c = Cursor::new(text);
    let (mut user, mut orchestrator, mut agent, mut workload) = (None, None, None, None);
    object(
        &mut c,
        &["user", "orchestrator", "agent", "workload"],
        |c, key| match key {
            Some(0) => once(c, &mut user, |c| nullable_string(c, None)),
            Some(1) => once(c, &mut orchestrator, |c| {
                nullable_string(c, old_orchestrator.take())
            }),
            Some(2) => once(c, &mut agent, |c| nullable_string(c, old_agent.take())),
            Some(3) => once(c, &mut workload, |c| {
                nullable_string(c, old_workload.take())
            }),
            _ => c.skip_value(),
        },
    )?;
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

fn fast_observed(text: &str, old_subject: Option<Actor>) -> Scan<ObservedDelegation> {
    let mut old_subject = old_subject;
    let mut c = Cursor::new(text);
    let (mut subject, mut actors) = (None, None);
    object(&mut c, &["subject", "actors"], |c, key| match key {
        Some(0) => once(c, &mut subject, |c| actor(c, old_subject.take())),
        Some(1) => once(c, &mut actors, |c| {
            let mut list = Vec::new();
            c.open(b'[')?;
            if !c.close_if_empty(b']') {
                loop {
                    list.push(actor(c, None)?);
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

fn actor(c: &mut Cursor<'_>, old: Option<Actor>) -> Scan<Actor> {
    let (mut old_sub, mut old_iss) = match old {
        Some(old) => (Some(old.sub), old.iss),
        None => (None, None),
    };
    let (mut sub, mut iss) = (None, None);
    object(c, &["sub", "iss"], |c, key| match key {
        Some(0) => once(c, &mut sub, |c| Ok(text(c.string()?, old_sub.take()))),
        Some(1) => once(c, &mut iss, |c| nullable_string(c, old_iss.take())),
        _ => c.skip_value(),
    })?;
    Ok(Actor {
        sub: present(c, sub)?,
        iss: iss.flatten(),
    })
}

/// An object, calling `member` with each key's index in `names` (`None` for other keys), the
/// cursor at the value.
#[inline(always)]
fn object<'a>(
    c: &mut Cursor<'a>,
    names: &[&str],
    mut member: impl FnMut(&mut Cursor<'a>, Option<usize>) -> Scan<()>,
) -> Scan<()> {
    c.open(b'{')?;
    if c.close_if_empty(b'}') {
        return Ok(());
    }
    loop {
        let key = c.known_key(names)?;
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

/// A string, or `null` (`None`), in `old` when that is given.
fn nullable_string(c: &mut Cursor<'_>, old: Option<String>) -> Scan<Option<String>> {
    if c.literal("null") {
        return Ok(None);
    }
    Ok(Some(text(c.string()?, old)))
}

/// `value` as an owned string: itself when it is one already, else copied into `old` (when
/// given) or into a new string.
fn text(value: Cow<'_, str>, old: Option<String>) -> String {
    match (value, old) {
        (Cow::Borrowed(value), Some(mut old)) => {
            old.clear();
            old.push_str(value);
            old
        }
        (value, _) => value.into_owned(),
    }
}

fn present<T>(c: &Cursor<'_>, value: Option<T>) -> Scan<T> {
    match value {
        Some(value) => Ok(value),
        None => c.fail(),
    }
}
