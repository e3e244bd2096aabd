//! The JWKS cache under attack (issue #19, item 7). The Gateway verifies attacker-supplied JWTs,
//! so a forged `kid` must not make deputy hammer the IdP, a slow or failing IdP must not stall
//! tokens whose key is cached, a key the IdP withdraws must stop verifying, and `nbf` counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod jwks_idp;

use std::sync::Arc;
use std::time::{Duration, Instant};

use deputy::verify::TokenVerifier;
use jwks_idp::{JwksIdp, Mode};
use serde_json::json;

/// Longer than any verification may take: only a hang reaches it.
const HUNG: Duration = Duration::from_secs(30);

/// At most one fetch per `interval` during `elapsed`: the fetches a well-behaved verifier may
/// make (the first one may come at once).
fn allowed(elapsed: Duration, interval: Duration) -> usize {
    usize::try_from(elapsed.as_millis() / interval.as_millis()).unwrap() + 1
}

/// Verifies `tokens` forged tokens with random `kid`s from 32 concurrent tasks; returns how
/// many were refused.
async fn flood(verifier: &Arc<TokenVerifier>, idp: &JwksIdp, tokens: usize, seed: u64) -> usize {
    let tasks = 32;
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let mut state = seed ^ (task as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let forged: Vec<String> = (0..tokens / tasks)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    idp.forged(&format!("{state:016x}"))
                })
                .collect();
            let verifier = verifier.clone();
            tokio::spawn(async move {
                let mut refused = 0;
                for token in forged {
                    if verifier.verify(&token).await.is_err() {
                        refused += 1;
                    }
                }
                refused
            })
        })
        .collect();
    let mut refused = 0;
    for handle in handles {
        refused += handle.await.unwrap();
    }
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_random_kids_makes_at_most_one_jwks_fetch_per_interval() {
    let idp = JwksIdp::start(&["k1"]).await;
    let interval = Duration::from_millis(500);
    let verifier = Arc::new(idp.verifier().min_refresh(interval));
    let valid = idp.token("k1");
    verifier.verify(&valid).await.unwrap();
    // While the IdP serves its keys, and while it fails (a failed fetch is no excuse to retry
    // on the next forged token).
    for (mode, seed) in [(Mode::Serve, 1), (Mode::Fail, 2)] {
        idp.set_mode(mode);
        let before = idp.fetches();
        let started = Instant::now();
        let refused = flood(&verifier, &idp, 10_016, seed).await;
        let elapsed = started.elapsed();
        assert_eq!(refused, 10_016, "{mode:?}");
        let fetched = idp.fetches() - before;
        assert!(
            fetched <= allowed(elapsed, interval),
            "{mode:?}: {fetched} JWKS fetches for 10,016 forged kids in {elapsed:?}"
        );
        // The key already cached still verifies.
        verifier.verify(&valid).await.unwrap();
    }
}

// On the current-thread runtime the hung fetch's task and this test interleave only at awaits,
// so "the unknown-kid task is still waiting" is exact when the valid token's verify returns.
#[tokio::test]
async fn a_hung_jwks_fetch_does_not_block_tokens_whose_key_is_cached() {
    let idp = JwksIdp::start(&["k1"]).await;
    let verifier = Arc::new(idp.verifier().min_refresh(Duration::ZERO));
    let valid = idp.token("k1");
    verifier.verify(&valid).await.unwrap();
    idp.set_mode(Mode::Hang);
    let rotated = idp.forged("rotated");
    let unknown = tokio::spawn({
        let verifier = verifier.clone();
        async move { verifier.verify(&rotated).await }
    });
    idp.wait_for_fetches(2).await;
    for _ in 0..10 {
        tokio::time::timeout(HUNG, verifier.verify(&valid))
            .await
            .expect("hung")
            .unwrap();
    }
    assert!(
        !unknown.is_finished(),
        "the cached key's tokens waited until the hung JWKS fetch gave up: {:?}",
        unknown.await
    );
    unknown.abort();
}

#[tokio::test]
async fn a_failing_jwks_endpoint_is_retried_once_per_interval_not_once_per_token() {
    let idp = JwksIdp::start(&["k1"]).await;
    idp.set_mode(Mode::Fail);
    let interval = Duration::from_millis(300);
    let verifier = idp.verifier().min_refresh(interval);
    let valid = idp.token("k1");
    let started = Instant::now();
    for _ in 0..200 {
        let err = verifier.verify(&valid).await.unwrap_err();
        // The refusal says what failed, even when it comes from the backoff.
        assert!(err.contains("JWKS") && err.contains("500"), "{err}");
    }
    let elapsed = started.elapsed();
    assert!(
        idp.fetches() <= allowed(elapsed, interval),
        "{} JWKS fetches for 200 tokens in {elapsed:?}",
        idp.fetches()
    );
    // The IdP's recovery is picked up at the next attempt.
    idp.set_mode(Mode::Serve);
    tokio::time::sleep(interval).await;
    verifier.verify(&valid).await.unwrap();
}

#[tokio::test]
async fn a_key_removed_from_the_jwks_stops_verifying_once_its_max_age_has_passed() {
    let idp = JwksIdp::start(&["k1", "k2"]).await;
    idp.set_max_age(Some(1));
    let verifier = idp.verifier().min_refresh(Duration::from_millis(100));
    verifier.verify(&idp.token("k1")).await.unwrap();
    verifier.verify(&idp.token("k2")).await.unwrap();
    assert_eq!(idp.fetches(), 1);
    idp.remove_from_jwks("k2");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let err = verifier.verify(&idp.token("k2")).await.unwrap_err();
    assert!(err.contains("\"k2\""), "{err}");
    verifier.verify(&idp.token("k1")).await.unwrap();
    assert_eq!(idp.fetches(), 2, "one refetch once the key set expired");
}

#[tokio::test]
async fn nbf_in_the_future_is_refused_beyond_the_leeway_and_accepted_within_it() {
    let idp = JwksIdp::start(&["k1"]).await;
    let verifier = idp.verifier().leeway(Duration::from_secs(30));
    let now = idp.now();
    let token = |nbf| idp.token_with("k1", json!({ "nbf": nbf }));
    let err = verifier
        .verify(&token(json!(now + 3600)))
        .await
        .unwrap_err();
    assert!(err.contains("ImmatureSignature"), "{err}");
    let err = verifier
        .verify(&token(json!("tomorrow")))
        .await
        .unwrap_err();
    assert!(err.contains("nbf"), "{err}");
    verifier.verify(&token(json!(now + 10))).await.unwrap();
    verifier.verify(&token(json!(now - 10))).await.unwrap();
}

#[tokio::test]
async fn a_caller_that_gives_up_mid_fetch_does_not_block_keys_for_the_interval() {
    let idp = JwksIdp::start(&["k1"]).await;
    let verifier = idp.verifier().min_refresh(Duration::from_secs(30));
    idp.set_delay(Duration::from_millis(300));
    // An attacker sends an unknown kid and disconnects while the JWKS fetch is under way.
    let forged = idp.forged("forged-kid");
    let gave_up = tokio::time::timeout(Duration::from_millis(50), verifier.verify(&forged)).await;
    assert!(gave_up.is_err(), "the caller gave up mid-fetch");
    // The fetch finishes anyway and is recorded, so the next valid token needs no fetch, and
    // is not refused as "abandoned" for the rest of the 30 s interval.
    tokio::time::sleep(Duration::from_millis(600)).await;
    verifier.verify(&idp.token("k1")).await.unwrap();
    assert_eq!(idp.fetches(), 1);
}
