//! Resident memory of 100,000 cached tokens (goal: <= 64 MiB for the cache). Prints JSON.
//!
//! `cargo bench -p deputy --bench cache_memory`

use std::time::{Duration, SystemTime};

use deputy::AccessToken;
use deputy::cache::{CacheKey, CachedToken, TokenCache};

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    };
    const TOKENS: u64 = 100_000;
    let cache = TokenCache::new(TOKENS * 2, Duration::from_secs(60));
    let before = resident_bytes();
    let token_bytes = runtime.block_on(async {
        let mut token_bytes = 0u64;
        for i in 0..TOKENS {
            // Realistic sizes: a ~900-byte JWT for a third, 40-90 bytes (GitHub-style) otherwise.
            let token = if i % 3 == 0 {
                format!("eyJ{}", "x".repeat(900))
            } else {
                format!("gho_{:0>36}{}", i, "y".repeat((i % 50) as usize))
            };
            token_bytes += token.len() as u64;
            let key = CacheKey::new(
                "deputy-agent",
                ["github", "linear", "jira"][(i % 3) as usize],
                "user_federation",
            )
            .user(&format!("jwt:okta+user-{}", i / 3))
            .scopes(["repo", "read:org"]);
            let cached = CachedToken {
                token: AccessToken::new(token),
                expires_at: SystemTime::now() + Duration::from_secs(3600),
                observed: None,
            };
            let _ = cache
                .get_or_fetch(
                    key,
                    async move { Ok::<_, std::convert::Infallible>(cached) },
                )
                .await;
        }
        token_bytes
    });
    let after = resident_bytes();
    let growth = after.saturating_sub(before);
    let cache_mib = growth as f64 / (1024.0 * 1024.0);
    println!(
        "{{\"bench\":\"cache_memory\",\"tokens\":{TOKENS},\"entries\":{},\"token_payload_mib\":{:.1},\"overhead_bytes_per_entry\":{},\"resident_growth_mib\":{cache_mib:.1},\"goal_mib\":64,\"met\":{}}}",
        cache.len(),
        token_bytes as f64 / (1024.0 * 1024.0),
        growth.saturating_sub(token_bytes) / TOKENS,
        cache_mib <= 64.0
    );
}
