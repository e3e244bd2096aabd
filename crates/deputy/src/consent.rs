//! Consent: the pending-consent store, consent handlers, and waiting with backoff.
//!
//! A user-federation resolve that needs consent returns [`ConsentRequired`] at once. The
//! session is remembered per (workload, user, provider, scopes) until it expires, so every task
//! that needs the same consent gets the *same* authorization URL and later resolves poll that
//! session instead of starting new ones. A [`ConsentHandler`] lets a caller wait instead: it is
//! told once, then the resolver polls with backoff until a token, a failed session, or the
//! deadline, whichever comes first (never past the session's own expiry).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;

use deputy_core::Integration;

use crate::error::ConsentRequired;
use crate::task::Task;
use crate::vault::WatBinding;

/// A boxed future, so handlers can be trait objects.
pub type NotifyFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Tells a user that consent is needed: a chat message, a ticket comment, a CLI prompt.
pub trait ConsentHandler: Send + Sync {
    /// Called once per consent session a resolve waits on.
    fn notify<'a>(&'a self, consent: &'a ConsentRequired, task: &'a Task) -> NotifyFuture<'a>;
}

/// How long and how often to poll a pending consent.
#[derive(Debug, Clone, Copy)]
pub struct ConsentWait {
    /// Give up after this long (the session's expiry caps it too).
    pub timeout: Duration,
    /// First delay between polls.
    pub initial_delay: Duration,
    /// Longest delay between polls.
    pub max_delay: Duration,
}

impl Default for ConsentWait {
    fn default() -> Self {
        ConsentWait {
            timeout: Duration::from_secs(300),
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl ConsentWait {
    /// The delays between polls: doubling from `initial_delay`, capped at `max_delay`.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + '_ {
        std::iter::successors(Some(self.initial_delay), move |d| {
            Some((*d * 2).min(self.max_delay))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PendingKey {
    pub workload: String,
    pub user: String,
    pub provider: String,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub resources: Vec<String>,
    /// A fresh-consent session is never shared with a rule that reuses older consents.
    pub fresh: bool,
}

/// What the return-URL callback needs to bind a session: the session, the artifact that
/// minted the WAT of the task that started it (the user it names is whom the browser's
/// signed-in user must equal), and the request it was for.
#[derive(Debug, Clone)]
pub(crate) struct PendingSession {
    pub session_uri: String,
    pub binding: WatBinding,
    pub integration: Integration,
    pub key: PendingKey,
}

/// Consent sessions in flight, shared by every task of one resolver: by request (so tasks share
/// one session) and by `customState` (so the return-URL callback can bind it).
#[derive(Clone)]
pub(crate) struct PendingConsents {
    sessions: Cache<PendingKey, Arc<ConsentRequired>>,
    by_state: Cache<String, Arc<PendingSession>>,
}

impl PendingConsents {
    pub fn new(session_ttl: Duration) -> Self {
        PendingConsents {
            sessions: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(session_ttl)
                .build(),
            by_state: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(session_ttl)
                .build(),
        }
    }

    pub async fn remember_state(&self, state: String, session: PendingSession) {
        self.by_state.insert(state, Arc::new(session)).await;
    }

    /// Takes the session for a `customState`: a state is good for one callback.
    pub async fn take_state(&self, state: &str) -> Option<Arc<PendingSession>> {
        self.by_state.remove(state).await
    }

    pub async fn get(&self, key: &PendingKey) -> Option<Arc<ConsentRequired>> {
        self.sessions.get(key).await
    }

    pub async fn insert(&self, key: PendingKey, consent: ConsentRequired) {
        self.sessions.insert(key, Arc::new(consent)).await;
    }

    pub async fn remove(&self, key: &PendingKey) {
        self.sessions.invalidate(key).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_cap() {
        let wait = ConsentWait {
            timeout: Duration::from_secs(1),
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
        };
        let delays: Vec<u128> = wait.delays().take(5).map(|d| d.as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
    }
}
