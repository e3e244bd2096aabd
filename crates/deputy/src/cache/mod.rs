//! The token cache: one entry per (workload, user, provider, flow, scopes, audiences,
//! resources, repository, task), single-flight loads, refresh ahead of expiry with jitter.
//!
//! Concurrent resolves of one key make one fetch; the others await it. Errors are not cached:
//! the next caller fetches again. An entry stops being served `buffer` (plus a per-entry jitter
//! of up to half of it) before the token expires, so no caller gets a token about to expire
//! and a fleet does not refresh in lockstep. Evicted tokens are zeroized when their last
//! holder drops them (the values are `secrecy` secrets).

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use deputy_core::actor::ObservedDelegation;
use moka::Expiry;
use moka::future::Cache;

use crate::AccessToken;

/// Everything that distinguishes one token from another. Lists are kept sorted and deduplicated
/// so that equal requests share an entry whatever order their scopes were written in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    workload: String,
    user: Option<String>,
    provider: String,
    flow: &'static str,
    scopes: Vec<String>,
    audiences: Vec<String>,
    resources: Vec<String>,
    repo: Option<String>,
    task: Option<String>,
}

impl CacheKey {
    /// A key for a workload's token from a provider with a flow; add the rest with the setters.
    ///
    /// ```
    /// use deputy::cache::CacheKey;
    /// let a = CacheKey::new("agent", "github", "user_federation").user("okta+alice").scopes(["repo", "read:org"]);
    /// let b = CacheKey::new("agent", "github", "user_federation").user("okta+alice").scopes(["read:org", "repo"]);
    /// assert_eq!(a, b);
    /// assert_ne!(a, b.clone().user("okta+bob"));
    /// ```
    pub fn new(workload: &str, provider: &str, flow: &'static str) -> Self {
        CacheKey {
            workload: workload.to_owned(),
            user: None,
            provider: provider.to_owned(),
            flow,
            scopes: Vec::new(),
            audiences: Vec::new(),
            resources: Vec::new(),
            repo: None,
            task: None,
        }
    }

    /// The user the token is for.
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.to_owned());
        self
    }

    /// The scopes requested.
    pub fn scopes<S: AsRef<str>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = sorted(scopes);
        self
    }

    /// The audiences requested.
    pub fn audiences<S: AsRef<str>>(mut self, audiences: impl IntoIterator<Item = S>) -> Self {
        self.audiences = sorted(audiences);
        self
    }

    /// The resources requested.
    pub fn resources<S: AsRef<str>>(mut self, resources: impl IntoIterator<Item = S>) -> Self {
        self.resources = sorted(resources);
        self
    }

    /// The repository the token is scoped to.
    pub fn repo(mut self, repo: &str) -> Self {
        self.repo = Some(repo.to_owned());
        self
    }

    /// The task the token belongs to, for tokens that must never serve another task.
    pub fn task(mut self, task: &str) -> Self {
        self.task = Some(task.to_owned());
        self
    }
}

/// The fields of a [`CacheKey`], in the fixed order of its compact form.
const USER: usize = 1;
const PROVIDER: usize = 2;
const TASK: usize = 8;

impl CacheKey {
    /// The key as the cache stores it.
    pub(crate) fn compact(&self) -> CompactKey {
        KeyFields {
            workload: &self.workload,
            user: self.user.as_deref(),
            provider: &self.provider,
            flow: self.flow,
            scopes: &self.scopes,
            audiences: &self.audiences,
            resources: &self.resources,
            repo: self.repo.as_deref(),
            task: self.task.as_deref(),
        }
        .compact()
    }
}

/// A key in the form the cache stores: one allocation, each field length-prefixed in a fixed
/// order, so no value can be mistaken for a separator and equal keys encode equally.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CompactKey(Box<str>);

/// The fields of a key, borrowed: what the resolver encodes on every resolve without building
/// a [`CacheKey`] first. Lists need not be sorted; the encoding sorts and deduplicates them.
pub(crate) struct KeyFields<'a> {
    pub(crate) workload: &'a str,
    pub(crate) user: Option<&'a str>,
    pub(crate) provider: &'a str,
    pub(crate) flow: &'static str,
    pub(crate) scopes: &'a [String],
    pub(crate) audiences: &'a [String],
    pub(crate) resources: &'a [String],
    pub(crate) repo: Option<&'a str>,
    pub(crate) task: Option<&'a str>,
}

impl KeyFields<'_> {
    /// Encodes the key with one allocation (two when a list is not already sorted).
    pub(crate) fn compact(&self) -> CompactKey {
        let lists = [self.scopes, self.audiences, self.resources];
        let mut capacity = 64 + self.workload.len() + self.provider.len();
        capacity += self.user.map_or(0, str::len) + self.repo.map_or(0, str::len);
        capacity += self.task.map_or(0, str::len);
        capacity += lists
            .iter()
            .flat_map(|l| l.iter())
            .map(|s| s.len() + 4)
            .sum::<usize>();
        let mut out = String::with_capacity(capacity);
        let field = |out: &mut String, value: &str| {
            push_decimal(out, value.len());
            out.push(':');
            out.push_str(value);
        };
        field(&mut out, self.workload);
        field(&mut out, self.user.unwrap_or(""));
        field(&mut out, self.provider);
        field(&mut out, self.flow);
        for list in lists {
            if list.is_sorted_by(|a, b| a < b) {
                push_count(&mut out, list.len());
                list.iter().for_each(|item| field(&mut out, item));
            } else {
                let mut items: Vec<&str> = list.iter().map(String::as_str).collect();
                items.sort_unstable();
                items.dedup();
                push_count(&mut out, items.len());
                items.iter().for_each(|item| field(&mut out, item));
            }
        }
        field(&mut out, self.repo.unwrap_or(""));
        field(&mut out, self.task.unwrap_or(""));
        CompactKey(out.into_boxed_str())
    }
}

/// Appends a list's length as a field of its own (its decimal digits, length-prefixed).
fn push_count(out: &mut String, n: usize) {
    push_decimal(out, n.checked_ilog10().map_or(1, |d| d as usize + 1));
    out.push(':');
    push_decimal(out, n);
}

/// Appends `n` in decimal without going through the formatting machinery.
fn push_decimal(out: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}

/// The single fields of a compact key (lists are skipped), by position.
fn compact_field(compact: &str, index: usize) -> Option<&str> {
    let mut rest = compact;
    let mut position = 0;
    let mut list_items = 0usize;
    while !rest.is_empty() {
        let (len, tail) = rest.split_once(':')?;
        let len: usize = len.parse().ok()?;
        let value = tail.get(..len)?;
        rest = &tail[len..];
        if list_items > 0 {
            list_items -= 1;
            continue;
        }
        if (4..=6).contains(&position) {
            list_items = value.parse().ok()?;
        } else if position == index {
            return Some(value);
        }
        position += 1;
    }
    None
}

/// The items as sorted, deduplicated owned strings.
pub(crate) fn sorted<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut v: Vec<String> = items.into_iter().map(|s| s.as_ref().to_owned()).collect();
    v.sort();
    v.dedup();
    v
}

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
    serve_until: SystemTime,
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
    entries: Cache<CompactKey, Arc<Entry>>,
    buffer: Duration,
    jitter_seed: RandomState,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.entries.entry_count())
            .field("buffer", &self.buffer)
            .finish()
    }
}

struct ServeUntil;

impl Expiry<CompactKey, Arc<Entry>> for ServeUntil {
    fn expire_after_create(
        &self,
        _key: &CompactKey,
        value: &Arc<Entry>,
        _now: Instant,
    ) -> Option<Duration> {
        Some(
            value
                .serve_until
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
        )
    }
}

impl TokenCache {
    /// A cache of at most `max_entries` tokens that stops serving a token `buffer` (plus up to
    /// half of `buffer` of jitter) before it expires.
    pub fn new(max_entries: u64, buffer: Duration) -> Self {
        TokenCache {
            entries: Cache::builder()
                .max_capacity(max_entries)
                .expire_after(ServeUntil)
                .support_invalidation_closures()
                .build(),
            buffer,
            jitter_seed: RandomState::new(),
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
        let key = key.compact();
        if let Some(cached) = self.get(&key).await {
            return Ok((cached, CacheOutcome::Hit));
        }
        self.fetch_once(key, fetch).await
    }

    /// The token cached for `key` while it may still be served: the hit path, which builds no
    /// fetch and allocates nothing beyond the caller's key.
    pub(crate) async fn get(&self, key: &CompactKey) -> Option<CachedToken> {
        let entry = self.entries.get(key).await?;
        // moka expires entries lazily; never hand out one past its serve-until time.
        if SystemTime::now() < entry.serve_until {
            return Some(entry.cached.clone());
        }
        self.entries.invalidate(key).await;
        None
    }

    /// The miss path: `fetch` runs at most once at a time per key; concurrent callers wait for
    /// it and share its token (reported as hits) or its error (which is not cached).
    pub(crate) async fn fetch_once<E, F>(
        &self,
        key: CompactKey,
        fetch: F,
    ) -> Result<(CachedToken, CacheOutcome), Arc<E>>
    where
        F: Future<Output = Result<CachedToken, E>>,
        E: Send + Sync + 'static,
    {
        let jitter_key = key.clone();
        let entry = self
            .entries
            .entry(key)
            .or_try_insert_with(async move {
                let cached = fetch.await?;
                let until = self.serve_until(&cached, &jitter_key);
                Ok(Arc::new(Entry {
                    cached,
                    serve_until: until,
                }))
            })
            .await?;
        let outcome = if entry.is_fresh() {
            CacheOutcome::Miss
        } else {
            CacheOutcome::Hit
        };
        Ok((entry.into_value().cached.clone(), outcome))
    }

    /// When a token stops being served: `buffer` plus a per-entry jitter before it expires.
    fn serve_until(&self, cached: &CachedToken, key: &CompactKey) -> SystemTime {
        let jitter = self
            .buffer
            .mul_f64(self.jitter_fraction(&key.0, cached.expires_at));
        cached
            .expires_at
            .checked_sub(self.buffer + jitter)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Drops every token of a user (e.g. after consent is revoked).
    pub fn invalidate_user(&self, user: &str) -> Result<(), moka::PredicateError> {
        let user = user.to_owned();
        self.entries
            .invalidate_entries_if(move |key, _| compact_field(&key.0, USER) == Some(user.as_str()))
            .map(|_| ())
    }

    /// Drops every token of a credential provider (e.g. an API key reported invalid).
    pub fn invalidate_provider(&self, provider: &str) {
        let provider = provider.to_owned();
        // Only fails when invalidation closures are off, which `new` never does.
        let _ = self.entries.invalidate_entries_if(move |key, _| {
            compact_field(&key.0, PROVIDER) == Some(provider.as_str())
        });
    }

    /// Drops every token that belongs to a task (e.g. when its credentials are closed).
    pub fn invalidate_task(&self, task: &str) {
        let task = task.to_owned();
        // Only fails when invalidation closures are off, which `new` never does.
        let _ = self.entries.invalidate_entries_if(move |key, _| {
            compact_field(&key.0, TASK) == Some(task.as_str())
        });
    }

    /// The number of cached tokens (approximate, as moka counts).
    pub fn len(&self) -> u64 {
        self.entries.entry_count()
    }

    /// Whether the cache holds no tokens (approximate).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn jitter_fraction(&self, key: &str, expires_at: SystemTime) -> f64 {
        let hash = self.jitter_seed.hash_one((key, expires_at));
        // Up to half the buffer, spread by a per-process random seed.
        (hash % 10_000) as f64 / 20_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_keys_are_unambiguous_and_fields_are_recoverable() {
        let a = CacheKey::new("w", "p", "m2m").scopes(["a b", "c"]);
        let b = CacheKey::new("w", "p", "m2m").scopes(["a", "b c"]);
        assert_ne!(a.compact(), b.compact());
        let unsorted = ["b".to_owned(), "a".to_owned(), "b".to_owned()];
        let fields = KeyFields {
            workload: "w",
            user: None,
            provider: "p",
            flow: "m2m",
            scopes: &unsorted,
            audiences: &[],
            resources: &[],
            repo: None,
            task: None,
        };
        assert_eq!(
            fields.compact(),
            CacheKey::new("w", "p", "m2m").scopes(["a", "b"]).compact()
        );
        assert_eq!(&*fields.compact().0, "1:w0:1:p3:m2m1:21:a1:b1:01:00:0:");
        let tricky = CacheKey::new("w", "p", "m2m")
            .user("3:x")
            .scopes(["1:"])
            .repo("o/r")
            .task("t-9");
        let compact = tricky.compact().0;
        assert_eq!(compact_field(&compact, USER), Some("3:x"));
        assert_eq!(compact_field(&compact, PROVIDER), Some("p"));
        assert_eq!(compact_field(&compact, TASK), Some("t-9"));
        assert_ne!(
            CacheKey::new("w", "p", "m2m").user("u").compact(),
            CacheKey::new("w", "p", "m2m").compact()
        );
    }
}
