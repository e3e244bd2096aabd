//! The token cache: one entry per (workload, user, provider, flow, scopes, audiences,
//! resources, repository, task), single-flight loads, refresh ahead of expiry with jitter.
//!
//! Concurrent resolves of one key make one fetch; the others await it. Errors are not cached:
//! the next caller fetches again. An entry stops being served `buffer` (plus a per-entry jitter
//! of up to half of it) before the token expires, so no caller gets a token about to expire
//! and a fleet does not refresh in lockstep. Evicted tokens are zeroized when their last
//! holder drops them (the values are `secrecy` secrets).
//!
//! The store is a set of mutex-guarded hash maps (shards) rather than a general-purpose cache:
//! a hit is one short lock and a map lookup, and an entry costs its key, its token and about a
//! hundred bytes (see `docs/performance.md`). At capacity a shard drops the tokens it may no
//! longer serve, then the one that stops being servable soonest.

mod flight;
mod key;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use deputy_core::actor::ObservedDelegation;

use crate::AccessToken;
pub(crate) use flight::HashedKey;
use flight::{Claim, Landing, Shards};
pub use key::CacheKey;
pub(crate) use key::sorted;
pub(crate) use key::{CompactKey, KeyFields};
use key::{PROVIDER, TASK, USER, compact_field};

/// A cached token and when it stops being usable.
#[derive(Debug, Clone)]
pub struct CachedToken {
    /// The token.
    pub token: AccessToken,
    /// When the token expires.
    pub expires_at: SystemTime,
    /// The delegation a verified token records, kept so cache hits report it too.
    pub observed: Option<Box<ObservedDelegation>>,
}

#[derive(Debug)]
struct Entry {
    cached: CachedToken,
    /// When the entry stops being served, in milliseconds since the Unix epoch: 8 bytes
    /// instead of a 16-byte `SystemTime` keep a shared entry in the allocator's 64-byte class
    /// (see `docs/performance.md`, memory). Rounded down, so never served late.
    serve_until_ms: u64,
}

impl Entry {
    fn servable(&self, now: SystemTime) -> bool {
        unix_millis(now) < self.serve_until_ms
    }
}

/// Milliseconds since the Unix epoch, rounded down (0 before it).
fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Whether a resolve was served from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Served from the cache, or from a fetch another caller started.
    Hit,
    /// This caller's fetch produced the token.
    Miss,
}

/// The single-flight token cache.
///
/// ```
/// # tokio_test_block(async {
/// use std::time::{Duration, SystemTime};
/// use deputy::cache::{CacheKey, CacheOutcome, CachedToken, TokenCache};
/// use deputy::AccessToken;
/// let cache = TokenCache::new(1_000, Duration::from_secs(60));
/// let key = CacheKey::new("agent", "linear-service", "m2m");
/// let fetch = || async {
///     Ok::<_, std::convert::Infallible>(CachedToken {
///         token: AccessToken::new("t"),
///         expires_at: SystemTime::now() + Duration::from_secs(3600),
///         observed: None,
///     })
/// };
/// let (_, first) = cache.get_or_fetch(key.clone(), fetch()).await.unwrap();
/// let (_, second) = cache.get_or_fetch(key, fetch()).await.unwrap();
/// assert_eq!((first, second), (CacheOutcome::Miss, CacheOutcome::Hit));
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone)]
pub struct TokenCache {
    shards: Arc<Shards>,
    buffer: Duration,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.len())
            .field("buffer", &self.buffer)
            .finish()
    }
}

impl TokenCache {
    /// A cache of at most `max_entries` tokens that stops serving a token `buffer` (plus up to
    /// half of `buffer` of jitter) before it expires.
    pub fn new(max_entries: u64, buffer: Duration) -> Self {
        TokenCache {
            shards: Arc::new(Shards::new(max_entries)),
            buffer,
        }
    }

    /// The cached token for `key`, or the result of `fetch`, which runs at most once at a time
    /// per key however many callers wait. An error is returned to every waiter and not cached.
    pub async fn get_or_fetch<E, F>(
        &self,
        key: CacheKey,
        fetch: F,
    ) -> Result<(CachedToken, CacheOutcome), Arc<E>>
    where
        F: Future<Output = Result<CachedToken, E>>,
        E: Send + Sync + 'static,
    {
        let key = self.hashed(key.compact());
        if let Some(cached) = self.get(&key) {
            return Ok((cached, CacheOutcome::Hit));
        }
        self.fetch_once(key, fetch).await
    }

    /// `key` with its hash, for [`TokenCache::get`] and [`TokenCache::fetch_once`].
    pub(crate) fn hashed(&self, key: CompactKey) -> HashedKey {
        self.shards.hashed(key)
    }

    /// The token cached for `key` while it may still be served: the hit path, one short lock.
    pub(crate) fn get(&self, key: &HashedKey) -> Option<CachedToken> {
        self.shards.get(key, SystemTime::now())
    }

    /// The miss path: `fetch` runs at most once at a time per key; concurrent callers wait for
    /// it and share its token (reported as hits) or its error (which is not cached). If the
    /// fetching caller is cancelled, a waiter takes over.
    pub(crate) async fn fetch_once<E, F>(
        &self,
        key: HashedKey,
        fetch: F,
    ) -> Result<(CachedToken, CacheOutcome), Arc<E>>
    where
        F: Future<Output = Result<CachedToken, E>>,
        E: Send + Sync + 'static,
    {
        let flight = loop {
            match self.shards.claim(&key, SystemTime::now()) {
                Claim::Ready(cached) => return Ok((cached, CacheOutcome::Hit)),
                Claim::Lead(flight) => break flight,
                Claim::Wait(flight) => {
                    if let Some(shared) = flight.wait::<E>().await {
                        return shared.map(|cached| (cached, CacheOutcome::Hit));
                    }
                }
            }
        };
        let landing = Landing::new(&self.shards, &key, flight);
        match fetch.await {
            Ok(cached) => {
                let serve_until_ms = unix_millis(self.serve_until(&cached, &key));
                let entry = Arc::new(Entry {
                    cached,
                    serve_until_ms,
                });
                landing.land_token(Arc::clone(&entry));
                Ok((entry.cached.clone(), CacheOutcome::Miss))
            }
            Err(error) => {
                let error = Arc::new(error);
                landing.land_error(Arc::clone(&error));
                Err(error)
            }
        }
    }

    /// When a token stops being served: `buffer` plus a per-entry jitter before it expires.
    fn serve_until(&self, cached: &CachedToken, key: &HashedKey) -> SystemTime {
        let jitter = self
            .buffer
            .mul_f64(self.jitter_fraction(key, cached.expires_at));
        cached
            .expires_at
            .checked_sub(self.buffer + jitter)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Drops every token of a user (e.g. after consent is revoked), however the user was proven:
    /// `user` matches a key's user exactly, or the user id in a resolver's principal
    /// (`user-id:<user>`, `jwt:<user> <issuer>`).
    pub fn invalidate_user(&self, user: &str) {
        let of_user = |principal: &str| {
            principal == user || crate::task::user_of_principal(principal) == Some(user)
        };
        self.shards
            .retain(|key| !compact_field(&key.0, USER).is_some_and(of_user));
    }

    /// Drops every token of a credential provider (e.g. an API key reported invalid).
    pub fn invalidate_provider(&self, provider: &str) {
        self.shards
            .retain(|key| compact_field(&key.0, PROVIDER) != Some(provider));
    }

    /// Drops every token that belongs to a task (e.g. when its credentials are closed).
    pub fn invalidate_task(&self, task: &str) {
        self.shards
            .retain(|key| compact_field(&key.0, TASK) != Some(task));
    }

    /// The number of cached tokens.
    pub fn len(&self) -> u64 {
        self.shards.len() as u64
    }

    /// Whether the cache holds no tokens.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Up to half the buffer, spread by the cache's random hasher over the key and the token's
    /// expiry, so each token of a key gets its own share.
    fn jitter_fraction(&self, key: &HashedKey, expires_at: SystemTime) -> f64 {
        let spread = self.shards.spread(key, unix_millis(expires_at));
        (spread % 10_000) as f64 / 20_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_jitter_stays_within_half_the_buffer_and_spreads_over_it() {
        let cache = TokenCache::new(1_000, Duration::from_secs(60));
        let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let mut buckets = [0usize; 10];
        for i in 0..1_000 {
            let key = cache.hashed(CacheKey::new("w", &format!("p{i}"), "m2m").compact());
            let fraction = cache.jitter_fraction(&key, expires);
            assert!((0.0..0.5).contains(&fraction), "{fraction}");
            buckets[(fraction / 0.05) as usize] += 1;
        }
        // 1,000 keys over ten equal bands: about 100 each, never a band left nearly empty.
        assert!(buckets.iter().all(|&n| n > 50), "{buckets:?}");
        // Each token of one key gets its own share: ten expiries never all share one (two may,
        // once in 10,000).
        let key = cache.hashed(CacheKey::new("w", "p", "m2m").compact());
        let shares: std::collections::BTreeSet<u64> = (0..10u64)
            .map(|hour| {
                let at = expires + Duration::from_secs(3_600 * hour);
                (cache.jitter_fraction(&key, at) * 20_000.0) as u64
            })
            .collect();
        assert!(shares.len() > 1, "{shares:?}");
    }
}
