//! [`FetchCache`]: documents fetched from IdPs, keyed by URL or issuer.

use std::collections::HashMap;
use std::sync::Mutex;

/// A map guarded by a synchronous mutex whose guard never leaves [`FetchCache::get`] or
/// [`FetchCache::put`]: no lock can be held across a fetch, so one hung IdP never queues the
/// requests for another. Two callers that miss at once both fetch; the later answer wins.
///
/// ```
/// use deputy_vault_local::outbound::FetchCache;
/// let cache = FetchCache::default();
/// assert_eq!(cache.get("https://idp.example/jwks"), None::<String>);
/// cache.put("https://idp.example/jwks", "keys".to_owned());
/// assert_eq!(cache.get("https://idp.example/jwks").as_deref(), Some("keys"));
/// ```
#[derive(Debug)]
pub struct FetchCache<T> {
    entries: Mutex<HashMap<String, T>>,
}

impl<T> Default for FetchCache<T> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> FetchCache<T> {
    /// A copy of the entry for `key`.
    pub fn get(&self, key: &str) -> Option<T> {
        self.lock().get(key).cloned()
    }

    /// Stores `value` under `key`, replacing any older entry.
    pub fn put(&self, key: &str, value: T) {
        self.lock().insert(key.to_owned(), value);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, T>> {
        match self.entries.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}
