//! The issuer's signing keys, fetched from its JWKS and cached.
//!
//! The Gateway verifies attacker-supplied JWTs here, so the cache is built to be flooded:
//!
//! - A token whose key is cached and fresh never waits: the state lock is a plain mutex held
//!   for a few loads and never across an `await`, so a hung JWKS fetch stalls nobody but the
//!   callers that need the fetch's answer.
//! - Fetches are single-flight (a gate only fetchers take) and at most one per `min_refresh`,
//!   failed ones included: during the interval a caller gets the last answer (no such key, or
//!   why the fetch failed) without a request to the IdP. A fetch runs as its own task and
//!   records its answer itself, so a caller that disconnects mid-fetch cannot leave the cache
//!   refusing every new `kid` for the interval.
//! - `kid`s the last fetch did not have are remembered for `min_refresh` in a bounded set, so
//!   repeated forged `kid`s do not even take the gate.
//! - The key set expires after the JWKS response's `Cache-Control: max-age` (at least
//!   `min_refresh` and one second, at most a day; five minutes without one), then is refetched:
//!   a key the IdP withdraws stops verifying. An expired set is not used, even when the refetch
//!   fails: tokens are refused until the IdP answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use reqwest::header::{CACHE_CONTROL, HeaderMap};

/// How long one JWKS request may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a key set is trusted when its response says nothing.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// The longest a key set is trusted, whatever its response says.
const MAX_LIFETIME: Duration = Duration::from_secs(86_400);
/// The shortest, whatever its response says (and never below `min_refresh`).
const MIN_LIFETIME: Duration = Duration::from_secs(1);
/// How many unknown `kid`s are remembered, and the longest one remembered (longer ones only
/// meet the fetch interval).
const UNKNOWN_KIDS: u64 = 10_000;
const UNKNOWN_KID_MAX_LEN: usize = 128;

type Key = Result<Arc<DecodingKey>, Arc<str>>;

/// One fetched JWK set: each `kid`'s key, or why its JWK is unusable.
struct KeySet {
    keys: HashMap<String, Key>,
    expires: Instant,
}

#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    /// When the last fetch started (failed, abandoned and successful ones alike).
    last_attempt: Option<Instant>,
    /// Why the last fetch failed; `None` once one succeeds.
    last_failure: Option<Arc<str>>,
}

/// The key cache of one JWKS URI.
pub(super) struct Jwks {
    uri: String,
    http: reqwest::Client,
    min_refresh: Duration,
    /// Shared with the fetch task, which records its outcome even when its caller is gone.
    state: Arc<Mutex<State>>,
    /// Held by the one caller fetching; the others needing a fetch wait here for its answer.
    gate: tokio::sync::Mutex<()>,
    unknown: Option<moka::future::Cache<Box<str>, ()>>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("uri", &self.uri)
            .field("min_refresh", &self.min_refresh)
            .finish_non_exhaustive()
    }
}

impl Jwks {
    pub(super) fn new(uri: String, min_refresh: Duration) -> Self {
        Jwks {
            uri,
            http: reqwest::Client::new(),
            min_refresh,
            state: Arc::new(Mutex::new(State::default())),
            gate: tokio::sync::Mutex::new(()),
            unknown: (!min_refresh.is_zero()).then(|| {
                moka::future::Cache::builder()
                    .max_capacity(UNKNOWN_KIDS)
                    .time_to_live(min_refresh)
                    .build()
            }),
        }
    }

    pub(super) fn uri(&self) -> &str {
        &self.uri
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `kid`'s key from the fresh key set, if it has one.
    fn cached(&self, kid: &str, now: Instant) -> Option<Key> {
        let state = self.state();
        let set = state.keys.as_ref().filter(|set| now < set.expires)?;
        set.keys.get(kid).cloned()
    }

    /// The key for `kid`, fetching the JWKS when it may. The error says what failed.
    pub(super) async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, String> {
        if let Some(key) = self.cached(kid, Instant::now()) {
            return key.map_err(|e| e.to_string());
        }
        if self.unknown.as_ref().is_some_and(|u| u.contains_key(kid)) {
            return Err(self.no_key(kid));
        }
        let _gate = self.gate.lock().await;
        // A fetch that finished while this caller waited may have brought the key.
        let now = Instant::now();
        if let Some(key) = self.cached(kid, now) {
            return key.map_err(|e| e.to_string());
        }
        if let Some(refusal) = self.backing_off(now) {
            return self.refuse(kid, refusal).await;
        }
        // The fetch runs as its own task and records its outcome itself: a caller that gives up
        // (a client that disconnects on purpose) cannot leave the cache stuck on an abandoned
        // attempt for `min_refresh`.
        let fetch = tokio::spawn(fetch_and_record(
            self.http.clone(),
            self.uri.clone(),
            self.min_refresh,
            Arc::clone(&self.state),
        ));
        let refusal = match fetch.await {
            Ok(Ok(set)) => match set.keys.get(kid).cloned() {
                Some(key) => return key.map_err(|e| e.to_string()),
                None => None,
            },
            Ok(Err(failure)) => Some(failure),
            Err(_) => Some(format!("the JWKS fetch from {} did not finish", self.uri).into()),
        };
        self.refuse(kid, refusal).await
    }

    /// When the last fetch started less than `min_refresh` ago: why this caller gets no fetch
    /// (`None` inside means the fetch succeeded, so the key is simply not there). Otherwise
    /// records a new attempt and returns `None`.
    fn backing_off(&self, now: Instant) -> Option<Option<Arc<str>>> {
        let mut state = self.state();
        if let Some(at) = state.last_attempt
            && now.saturating_duration_since(at) < self.min_refresh
        {
            return Some(state.last_failure.clone());
        }
        state.last_attempt = Some(now);
        // Stays if this caller is dropped mid-fetch, so the attempt still counts as failed.
        state.last_failure = Some(
            format!(
                "the last JWKS fetch from {} was abandoned before it finished",
                self.uri
            )
            .into(),
        );
        None
    }

    async fn refuse(
        &self,
        kid: &str,
        failure: Option<Arc<str>>,
    ) -> Result<Arc<DecodingKey>, String> {
        match failure {
            Some(failure) => Err(format!(
                "{failure} (the next attempt comes at most once per {} ms)",
                self.min_refresh.as_millis()
            )),
            None => {
                if let Some(unknown) = &self.unknown
                    && kid.len() <= UNKNOWN_KID_MAX_LEN
                {
                    unknown.insert(kid.into(), ()).await;
                }
                Err(self.no_key(kid))
            }
        }
    }

    fn no_key(&self, kid: &str) -> String {
        format!(
            "no key {kid:?} in the JWKS at {} (refetched at most once per {} ms)",
            self.uri,
            self.min_refresh.as_millis()
        )
    }
}

/// Fetches the JWKS and records the outcome in `state` (the key set, or why it failed).
async fn fetch_and_record(
    http: reqwest::Client,
    uri: String,
    min_refresh: Duration,
    state: Arc<Mutex<State>>,
) -> Result<Arc<KeySet>, Arc<str>> {
    let outcome = fetch(&http, &uri, min_refresh).await;
    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
    match outcome {
        Ok(set) => {
            let set = Arc::new(set);
            state.keys = Some(Arc::clone(&set));
            state.last_failure = None;
            Ok(set)
        }
        Err(failure) => {
            tracing::warn!(jwks_uri = %uri, "{failure}");
            let failure: Arc<str> = failure.into();
            state.last_failure = Some(Arc::clone(&failure));
            Err(failure)
        }
    }
}

async fn fetch(http: &reqwest::Client, uri: &str, min_refresh: Duration) -> Result<KeySet, String> {
    let response = http
        .get(uri)
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("cannot fetch JWKS from {uri}: {e}"))?;
    let lifetime = lifetime(response.headers(), min_refresh);
    let set: JwkSet = response
        .json()
        .await
        .map_err(|e| format!("JWKS at {uri} is not a JWK set: {e}"))?;
    let mut keys = HashMap::with_capacity(set.keys.len());
    for jwk in &set.keys {
        let Some(kid) = &jwk.common.key_id else {
            continue;
        };
        // The first key with a `kid` wins, as `JwkSet::find` would pick it.
        keys.entry(kid.clone()).or_insert_with(|| {
            DecodingKey::from_jwk(jwk)
                .map(Arc::new)
                .map_err(|e| format!("unusable JWK {kid:?}: {e}").into())
        });
    }
    tracing::debug!(jwks_uri = %uri, keys = keys.len(), lifetime_s = lifetime.as_secs(), "JWKS fetched");
    Ok(KeySet {
        keys,
        expires: Instant::now() + lifetime,
    })
}

/// How long a key set is trusted: `max-age` from `Cache-Control` (`no-cache`/`no-store` count
/// as 0), clamped to [`MIN_LIFETIME`] or `min_refresh` below and [`MAX_LIFETIME`] above;
/// [`DEFAULT_LIFETIME`] without either.
fn lifetime(headers: &HeaderMap, min_refresh: Duration) -> Duration {
    let max_age = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|directive| {
            let directive = directive.trim();
            let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
            let name = name.trim().to_ascii_lowercase();
            match name.as_str() {
                "no-cache" | "no-store" => Some(Some(0)),
                "max-age" => Some(value.trim().trim_matches('"').parse::<u64>().ok()),
                _ => None,
            }
        })
        .flatten();
    max_age
        .map_or(DEFAULT_LIFETIME, Duration::from_secs)
        .max(MIN_LIFETIME.max(min_refresh))
        .min(MAX_LIFETIME)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cache_control: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in cache_control {
            headers.append(CACHE_CONTROL, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_key_set_lifetime_follows_max_age_within_bounds() {
        let five = Duration::from_secs(5);
        let lifetime = |values: &[&str]| lifetime(&headers(values), five).as_secs();
        assert_eq!(lifetime(&["public, max-age=3600"]), 3600);
        assert_eq!(
            lifetime(&["public", "Max-Age = 600 , must-revalidate"]),
            600
        );
        assert_eq!(lifetime(&[]), 300);
        assert_eq!(lifetime(&["public"]), 300);
        assert_eq!(lifetime(&["max-age=abc"]), 300);
        // Never below the refresh interval, never above a day.
        assert_eq!(lifetime(&["max-age=0"]), 5);
        assert_eq!(lifetime(&["no-store"]), 5);
        assert_eq!(lifetime(&["max-age=99999999999999999999"]), 300);
        assert_eq!(lifetime(&["max-age=31536000"]), 86_400);
        assert_eq!(
            super::lifetime(&headers(&["max-age=0"]), Duration::ZERO),
            MIN_LIFETIME
        );
    }
}
