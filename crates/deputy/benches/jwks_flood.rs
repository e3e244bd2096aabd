//! The JWKS cache under a flood of forged tokens with random `kid`s (issue #19, item 7), against
//! a local JWKS endpoint that counts its fetches (`tests/jwks_idp`).
//!
//! Phases: 10,016 forged tokens as fast as 32 tasks can send them (deputy's default 5 s refresh
//! interval); the same spread over about two seconds with a 200 ms interval, once while the IdP
//! serves its keys and once while it answers HTTP 500. Each reports the JWKS fetches against the
//! most the interval allows. Then the verify time of a valid token (ES256, key cached), p50 and
//! p99 over 20,000 verifications, alone and with the flood running. Prints JSON lines.
//!
//! `cargo bench -p deputy --bench jwks_flood`
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/jwks_idp/mod.rs"]
mod jwks_idp;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use deputy::verify::TokenVerifier;
use jwks_idp::{JwksIdp, Mode};

const FLOOD: usize = 10_016;
const TASKS: usize = 32;
const SAMPLES: usize = 20_000;

/// A forged token with a fresh random `kid`.
fn forge(idp: &JwksIdp, state: &mut u64) -> String {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    idp.forged(&format!("{:016x}", *state))
}

/// `FLOOD` forged tokens from `TASKS` tasks, each pausing `pause` between tokens. Returns how
/// many were refused and how long the flood took.
async fn flood(
    verifier: &Arc<TokenVerifier>,
    idp: &Arc<JwksIdp>,
    pause: Duration,
    seed: u64,
) -> (usize, Duration) {
    let started = Instant::now();
    let handles: Vec<_> = (0..TASKS)
        .map(|task| {
            let (verifier, idp) = (verifier.clone(), idp.clone());
            let mut state = seed ^ (task as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            tokio::spawn(async move {
                let mut refused = 0;
                for _ in 0..FLOOD / TASKS {
                    let token = forge(&idp, &mut state);
                    refused += usize::from(verifier.verify(&token).await.is_err());
                    if pause.is_zero() {
                        tokio::task::yield_now().await;
                    } else {
                        tokio::time::sleep(pause).await;
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
    (refused, started.elapsed())
}

async fn flood_phase(name: &str, mode: Mode, interval: Duration, pause: Duration, seed: u64) {
    let idp = Arc::new(JwksIdp::start(&["k1"]).await);
    let verifier = Arc::new(idp.verifier().min_refresh(interval));
    verifier.verify(&idp.token("k1")).await.unwrap();
    idp.set_mode(mode);
    let before = idp.fetches();
    let (refused, elapsed) = flood(&verifier, &idp, pause, seed).await;
    let fetches = idp.fetches() - before;
    let allowed = elapsed.as_millis() / interval.as_millis() + 1;
    println!(
        "{{\"bench\":\"jwks_flood\",\"phase\":\"{name}\",\"idp\":\"{mode:?}\",\"forged_tokens\":{FLOOD},\"refused\":{refused},\"interval_ms\":{},\"elapsed_ms\":{},\"jwks_fetches\":{fetches},\"allowed_fetches\":{allowed},\"met\":{}}}",
        interval.as_millis(),
        elapsed.as_millis(),
        fetches as u128 <= allowed && refused == FLOOD
    );
}

fn percentiles(mut nanos: Vec<u64>) -> (f64, f64) {
    nanos.sort_unstable();
    let at = |q: usize| nanos[(nanos.len() * q / 100).min(nanos.len() - 1)] as f64 / 1_000.0;
    (at(50), at(99))
}

async fn valid_verify_times(verifier: &TokenVerifier, token: &str) -> Vec<u64> {
    let mut nanos = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        verifier.verify(token).await.unwrap();
        nanos.push(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
    nanos
}

/// Valid-token verify times while `flood` runs (at least `SAMPLES`, until the flood ends).
async fn valid_verify_times_during<F: std::future::Future + Send + 'static>(
    verifier: &TokenVerifier,
    token: &str,
    flood: F,
) -> Vec<u64>
where
    F::Output: Send,
{
    let flood = tokio::spawn(flood);
    let mut nanos = Vec::with_capacity(SAMPLES * 2);
    while nanos.len() < SAMPLES || !flood.is_finished() {
        let started = Instant::now();
        verifier.verify(token).await.unwrap();
        nanos.push(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX));
        if nanos.len() % 64 == 0 {
            tokio::task::yield_now().await;
        }
    }
    nanos
}

async fn latency() {
    let interval = Duration::from_millis(200);
    let idp = Arc::new(JwksIdp::start(&["k1"]).await);
    // A slow IdP: each JWKS fetch the flood causes takes 50 ms.
    idp.set_delay(Duration::from_millis(50));
    let verifier = Arc::new(idp.verifier().min_refresh(interval));
    let valid = idp.token("k1");
    // Warm-up, which also fills the key cache.
    for _ in 0..1_000 {
        verifier.verify(&valid).await.unwrap();
    }
    let (p50, p99) = percentiles(valid_verify_times(&verifier, &valid).await);
    println!(
        "{{\"bench\":\"jwks_valid_verify\",\"flood\":\"none\",\"samples\":{SAMPLES},\"p50_us\":{p50:.1},\"p99_us\":{p99:.1}}}"
    );
    // 10,016 forged tokens spread over about a second (3 ms pauses in 32 tasks), each fetch
    // they cause taking 50 ms.
    let before = idp.fetches();
    let started = Instant::now();
    let paced = {
        let (verifier, idp) = (verifier.clone(), idp.clone());
        async move { flood(&verifier, &idp, Duration::from_millis(3), 4).await }
    };
    let nanos = valid_verify_times_during(&verifier, &valid, paced).await;
    let elapsed = started.elapsed();
    let samples = nanos.len();
    let (p50, p99) = percentiles(nanos);
    println!(
        "{{\"bench\":\"jwks_valid_verify\",\"flood\":\"10,016 forged kids over ~1 s, slow IdP (50 ms)\",\"samples\":{samples},\"p50_us\":{p50:.1},\"p99_us\":{p99:.1},\"interval_ms\":{},\"jwks_fetches\":{},\"allowed_fetches\":{},\"elapsed_ms\":{}}}",
        interval.as_millis(),
        idp.fetches() - before,
        elapsed.as_millis() / interval.as_millis() + 1,
        elapsed.as_millis()
    );
    // A flood as fast as 32 tasks can send it: the CPU, not the cache, is then the limit.
    let stop = Arc::new(AtomicBool::new(false));
    let forged = Arc::new(AtomicUsize::new(0));
    let before = idp.fetches();
    let saturating = {
        let (verifier, idp, stop, forged) =
            (verifier.clone(), idp.clone(), stop.clone(), forged.clone());
        async move {
            let flooders: Vec<_> = (0..TASKS)
                .map(|task| {
                    let (verifier, idp, stop, forged) =
                        (verifier.clone(), idp.clone(), stop.clone(), forged.clone());
                    let mut state = 0x5eed ^ (task as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    tokio::spawn(async move {
                        while !stop.load(Ordering::Relaxed) {
                            let token = forge(&idp, &mut state);
                            assert!(verifier.verify(&token).await.is_err());
                            forged.fetch_add(1, Ordering::Relaxed);
                            tokio::task::yield_now().await;
                        }
                    })
                })
                .collect();
            for flooder in flooders {
                flooder.await.unwrap();
            }
        }
    };
    let started = Instant::now();
    let stopper = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let nanos = valid_verify_times_during(&verifier, &valid, saturating).await;
    stopper.await.unwrap();
    let elapsed = started.elapsed();
    let samples = nanos.len();
    let (p50, p99) = percentiles(nanos);
    println!(
        "{{\"bench\":\"jwks_valid_verify\",\"flood\":\"saturating, 32 tasks\",\"samples\":{samples},\"p50_us\":{p50:.1},\"p99_us\":{p99:.1},\"forged_tokens_meanwhile\":{},\"jwks_fetches\":{},\"elapsed_ms\":{}}}",
        forged.load(Ordering::Relaxed),
        idp.fetches() - before,
        elapsed.as_millis()
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        flood_phase(
            "burst",
            Mode::Serve,
            Duration::from_secs(5),
            Duration::ZERO,
            1,
        )
        .await;
        let paced = Duration::from_millis(6);
        let interval = Duration::from_millis(200);
        flood_phase("paced", Mode::Serve, interval, paced, 2).await;
        flood_phase("paced", Mode::Fail, interval, paced, 3).await;
        latency().await;
    });
}
