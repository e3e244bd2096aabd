//! The token cache under concurrency, errors and expiry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use deputy::AccessToken;
use deputy::cache::{CacheKey, CacheOutcome, CachedToken, TokenCache};

fn token(value: &str, lifetime: Duration) -> CachedToken {
    CachedToken {
        token: AccessToken::new(value),
        expires_at: SystemTime::now() + lifetime,
        observed: None,
    }
}

async fn counted_fetch(calls: Arc<AtomicUsize>, value: String) -> Result<CachedToken, String> {
    calls.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(token(&value, Duration::from_secs(3600)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_thousand_concurrent_callers_of_one_key_fetch_once() {
    let cache = TokenCache::new(10_000, Duration::from_secs(60));
    let calls = Arc::new(AtomicUsize::new(0));
    let key = CacheKey::new("agent", "linear-service", "m2m");
    let mut tasks = Vec::new();
    for _ in 0..1_000 {
        let (cache, calls, key) = (cache.clone(), calls.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            cache
                .get_or_fetch(key, counted_fetch(calls, "t".into()))
                .await
                .unwrap()
        }));
    }
    let mut misses = 0;
    for task in tasks {
        let (cached, outcome) = task.await.unwrap();
        assert_eq!(cached.token.expose(), "t");
        misses += usize::from(outcome == CacheOutcome::Miss);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(misses, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_keys_fetch_one_hundred_times() {
    let cache = TokenCache::new(10_000, Duration::from_secs(60));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..1_000 {
        let (cache, calls) = (cache.clone(), calls.clone());
        let user = format!("okta+user{}", i % 100);
        tasks.push(tokio::spawn(async move {
            let key = CacheKey::new("agent", "github", "user_federation").user(&user);
            let (cached, _) = cache
                .get_or_fetch(key, counted_fetch(calls, user.clone()))
                .await
                .unwrap();
            assert_eq!(
                cached.token.expose(),
                user,
                "a user got another user's token"
            );
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 100);
}

#[tokio::test]
async fn errors_reach_every_waiter_and_are_not_cached() {
    let cache = TokenCache::new(100, Duration::from_secs(60));
    let key = CacheKey::new("agent", "jira", "user_federation").user("okta+a");
    let err = cache
        .get_or_fetch(key.clone(), async {
            Err::<CachedToken, _>("vault unavailable".to_owned())
        })
        .await
        .unwrap_err();
    assert_eq!(*err, "vault unavailable");
    let (cached, outcome) = cache
        .get_or_fetch(key, async {
            Ok::<_, String>(token("fresh", Duration::from_secs(600)))
        })
        .await
        .unwrap();
    assert_eq!(
        (cached.token.expose(), outcome),
        ("fresh", CacheOutcome::Miss)
    );
}

#[tokio::test]
async fn tokens_inside_the_buffer_are_never_served_from_cache() {
    let cache = TokenCache::new(100, Duration::from_secs(60));
    let key = CacheKey::new("agent", "slack", "user_federation").user("okta+a");
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let calls = calls.clone();
        let (_, outcome) = cache
            .get_or_fetch(key.clone(), async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok::<_, String>(token("short", Duration::from_secs(30)))
            })
            .await
            .unwrap();
        assert_eq!(outcome, CacheOutcome::Miss);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn keys_separate_tasks_repos_and_scopes_and_users_can_be_dropped() {
    let cache = TokenCache::new(100, Duration::from_secs(1));
    let base = CacheKey::new("agent", "github-app", "github_app")
        .user("okta+a")
        .repo("o/r");
    let keys = [
        base.clone().task("t1"),
        base.clone().task("t2"),
        base.clone().repo("o/other").task("t1"),
        base.clone().scopes(["x"]),
    ];
    for (i, key) in keys.iter().enumerate() {
        let value = format!("v{i}");
        let (cached, outcome) = cache
            .get_or_fetch(key.clone(), async move {
                Ok::<_, String>(token(&value, Duration::from_secs(600)))
            })
            .await
            .unwrap();
        assert_eq!(
            (cached.token.expose(), outcome),
            (format!("v{i}").as_str(), CacheOutcome::Miss)
        );
    }
    cache.invalidate_user("okta+a");
    let (_, outcome) = cache
        .get_or_fetch(keys[0].clone(), async {
            Ok::<_, String>(token("again", Duration::from_secs(600)))
        })
        .await
        .unwrap();
    assert_eq!(outcome, CacheOutcome::Miss);
    assert!(!format!("{cache:?}").contains("again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_fetches_when_the_fetching_caller_is_cancelled() {
    let cache = TokenCache::new(100, Duration::from_secs(60));
    let key = CacheKey::new("agent", "linear-service", "m2m");
    let stalled = {
        let (cache, key) = (cache.clone(), key.clone());
        tokio::spawn(async move {
            cache
                .get_or_fetch(key, async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok::<_, String>(token("never", Duration::from_secs(3600)))
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let waiter = {
        let (cache, key, calls) = (cache.clone(), key.clone(), calls.clone());
        tokio::spawn(async move {
            cache
                .get_or_fetch(key, counted_fetch(calls, "second".into()))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the waiter must not fetch while the first caller does"
    );
    stalled.abort();
    let (cached, outcome) = waiter.await.unwrap().unwrap();
    assert_eq!(
        (cached.token.expose(), outcome),
        ("second", CacheOutcome::Miss)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_cache_never_holds_more_than_its_capacity() {
    let cache = TokenCache::new(64, Duration::from_secs(60));
    for i in 0..500 {
        let key = CacheKey::new("agent", "github", "user_federation").user(&format!("okta+u{i}"));
        cache
            .get_or_fetch(key, async move {
                Ok::<_, String>(token(&format!("t{i}"), Duration::from_secs(600 + i)))
            })
            .await
            .unwrap();
    }
    assert_eq!(cache.len(), 64);
    // The newest token is kept: eviction drops the one that stops being servable soonest.
    let newest = CacheKey::new("agent", "github", "user_federation").user("okta+u499");
    let (_, outcome) = cache
        .get_or_fetch(newest, async {
            Err::<CachedToken, _>("must not fetch".to_owned())
        })
        .await
        .unwrap();
    assert_eq!(outcome, CacheOutcome::Hit);
}
