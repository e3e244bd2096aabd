//! The cache's store and its single-flight loads: shards of ready tokens and of fetches under
//! way, a claim on a key (served, lead the fetch, or wait for it), and the landing of a fetch.

use std::any::Any;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::SystemTime;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry as Slot;
use tokio::sync::Notify;

use super::key::CompactKey;
use super::{CachedToken, Entry};

/// At most this many shards; small caches get fewer so capacity is not split too finely.
const MAX_SHARDS: u64 = 64;
/// Entries per shard below which a cache gets fewer shards.
const MIN_PER_SHARD: u64 = 64;

type SharedError = Arc<dyn Any + Send + Sync>;

/// What a fetch ended with, shared with the callers that waited for it.
type Outcome = Result<Arc<Entry>, SharedError>;

/// One fetch under way for a key.
#[derive(Default)]
pub(super) struct Flight {
    outcome: OnceLock<Outcome>,
    landed: Notify,
}

impl Flight {
    /// Waits for the fetch: its token or error, or `None` when the fetching caller was
    /// cancelled (or failed with another error type) and this caller should claim again.
    pub(super) async fn wait<E: Send + Sync + 'static>(
        &self,
    ) -> Option<Result<CachedToken, Arc<E>>> {
        let landed = self.landed.notified();
        tokio::pin!(landed);
        landed.as_mut().enable();
        if self.outcome.get().is_none() {
            landed.await;
        }
        match self.outcome.get()? {
            Ok(entry) => Some(Ok(entry.cached.clone())),
            Err(error) => Arc::clone(error).downcast::<E>().ok().map(Err),
        }
    }
}

/// What a caller gets for a key.
pub(super) enum Claim {
    /// A token that may still be served.
    Ready(CachedToken),
    /// No token and no fetch: this caller fetches.
    Lead(Arc<Flight>),
    /// Another caller is fetching.
    Wait(Arc<Flight>),
}

/// A key with its hash under the cache's hasher, worked out once per resolve: the shard, the
/// lookup, the claim and the landing all use it. Only the cache that hashed it may use it
/// (each cache has its own random hasher).
pub(crate) struct HashedKey {
    hash: u64,
    key: CompactKey,
}

impl HashedKey {
    /// Matches a slot of either table holding this key.
    fn is<V>(&self) -> impl Fn(&(CompactKey, V)) -> bool + '_ {
        |(key, _)| *key == self.key
    }
}

#[derive(Default)]
struct Shard {
    ready: HashTable<(CompactKey, Arc<Entry>)>,
    loading: HashTable<(CompactKey, Arc<Flight>)>,
}

/// The sharded store.
pub(super) struct Shards {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    hasher: RandomState,
}

impl Shards {
    pub(super) fn new(max_entries: u64) -> Self {
        let count = (max_entries / MIN_PER_SHARD).clamp(1, MAX_SHARDS);
        let per_shard = max_entries.div_ceil(count).max(1);
        Shards {
            shards: (0..count).map(|_| Mutex::default()).collect(),
            per_shard: usize::try_from(per_shard).unwrap_or(usize::MAX),
            hasher: RandomState::new(),
        }
    }

    /// Hashes `key` once for everything a resolve does with it.
    pub(super) fn hashed(&self, key: CompactKey) -> HashedKey {
        HashedKey {
            hash: self.hash(&key),
            key,
        }
    }

    fn hash(&self, key: &CompactKey) -> u64 {
        self.hasher.hash_one(&*key.0)
    }

    /// `key`'s hash mixed with `value` by the cache's random hasher: a seed of the refresh
    /// jitter that differs per key and per token.
    pub(super) fn spread(&self, key: &HashedKey, value: u64) -> u64 {
        self.hasher.hash_one((key.hash, value))
    }

    fn shard(&self, key: &HashedKey) -> MutexGuard<'_, Shard> {
        // The high half picks the shard: a table indexes by the low bits, so the keys of one
        // shard still spread over all its buckets.
        let index = (key.hash >> 32) as usize % self.shards.len();
        lock(&self.shards[index])
    }

    /// The servable token for `key`; an entry no longer servable is dropped.
    pub(super) fn get(&self, key: &HashedKey, now: SystemTime) -> Option<CachedToken> {
        let mut shard = self.shard(key);
        let found = shard.ready.find_entry(key.hash, key.is()).ok()?;
        if found.get().1.servable(now) {
            return Some(found.get().1.cached.clone());
        }
        found.remove();
        None
    }

    /// Serves `key`, or makes the caller the one that fetches it, or one that waits.
    pub(super) fn claim(&self, key: &HashedKey, now: SystemTime) -> Claim {
        let mut shard = self.shard(key);
        if let Ok(found) = shard.ready.find_entry(key.hash, key.is()) {
            if found.get().1.servable(now) {
                return Claim::Ready(found.get().1.cached.clone());
            }
            found.remove();
        }
        match shard
            .loading
            .entry(key.hash, key.is(), |(key, _)| self.hash(key))
        {
            Slot::Occupied(fetching) => Claim::Wait(Arc::clone(&fetching.get().1)),
            Slot::Vacant(free) => {
                let flight = Arc::new(Flight::default());
                free.insert((key.key.clone(), Arc::clone(&flight)));
                Claim::Lead(flight)
            }
        }
    }

    /// Keeps only the tokens whose key satisfies `keep`.
    pub(super) fn retain(&self, keep: impl Fn(&CompactKey) -> bool) {
        for shard in self.shards.iter() {
            lock(shard).ready.retain(|(key, _)| keep(key));
        }
    }

    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).ready.len()).sum()
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panic while holding the lock leaves the maps consistent (every update is one insert or
    // remove), so a poisoned shard is still usable.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The end of a fetch: stores the token, ends the flight and wakes its waiters. Dropped without
/// landing (the fetching caller was cancelled), it ends the flight so a waiter fetches instead.
pub(super) struct Landing<'a> {
    shards: &'a Shards,
    key: &'a HashedKey,
    flight: Arc<Flight>,
}

impl<'a> Landing<'a> {
    pub(super) fn new(shards: &'a Shards, key: &'a HashedKey, flight: Arc<Flight>) -> Self {
        Landing {
            shards,
            key,
            flight,
        }
    }

    pub(super) fn land_token(self, entry: Arc<Entry>) {
        let _ = self.flight.outcome.set(Ok(Arc::clone(&entry)));
        let now = SystemTime::now();
        if entry.servable(now) {
            let mut shard = self.shards.shard(self.key);
            if shard.ready.len() >= self.shards.per_shard {
                make_room(&mut shard.ready, now);
            }
            let key = self.key;
            match shard
                .ready
                .entry(key.hash, key.is(), |(key, _)| self.shards.hash(key))
            {
                Slot::Occupied(mut stale) => stale.get_mut().1 = entry,
                Slot::Vacant(free) => {
                    free.insert((key.key.clone(), entry));
                }
            }
        }
    }

    pub(super) fn land_error<E: Send + Sync + 'static>(self, error: Arc<E>) {
        let _ = self.flight.outcome.set(Err(error));
    }
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        {
            let mut shard = self.shards.shard(self.key);
            if let Ok(found) = shard.loading.find_entry(self.key.hash, self.key.is())
                && Arc::ptr_eq(&found.get().1, &self.flight)
            {
                found.remove();
            }
        }
        self.flight.landed.notify_waiters();
    }
}

/// Frees one slot in a full shard: every token no longer servable goes, and if none did, the
/// one that stops being servable soonest.
fn make_room(ready: &mut HashTable<(CompactKey, Arc<Entry>)>, now: SystemTime) {
    let before = ready.len();
    ready.retain(|(_, entry)| entry.servable(now));
    if ready.len() < before {
        return;
    }
    let Some(soonest) = ready.iter().map(|(_, entry)| entry.serve_until_ms).min() else {
        return;
    };
    let mut dropped = false;
    ready.retain(|(_, entry)| {
        let drop_this = !dropped && entry.serve_until_ms == soonest;
        dropped |= drop_this;
        !drop_this
    });
}
