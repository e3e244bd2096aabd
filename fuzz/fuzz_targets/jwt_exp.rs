//! The JWT `exp` reader (`deputy::expiry::jwt_exp`) on arbitrary payloads, base64url-encoded
//! between a header and a signature.
//!
//! Properties: on a payload that is valid JSON it returns exactly what `serde_json` reads as the
//! top-level `exp`; on any payload, an `exp` that `serde_json` reads is the one returned. (On
//! invalid JSON it may return an `exp` `serde_json` refuses: that only shortens a cache life.)
//! `deputy::expiry::token_expiry` never panics (an `exp` past `i64::MAX` seconds, issue #19
//! item 8, did) and is the `exp` capped at the default lifetime, or that lifetime when the `exp`
//! is missing or past the clock's range. The seeds carry huge, negative and float `exp`s.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use deputy::expiry::{token_expiry, unix_time};
use libfuzzer_sys::fuzz_target;

#[derive(serde::Deserialize)]
struct Exp {
    exp: Option<u64>,
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() / 3 * 4 + 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fuzz_target!(|payload: &[u8]| {
    let token = format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", base64url(payload));
    let read = deputy::expiry::jwt_exp(&token);
    let parsed = serde_json::from_slice::<Exp>(payload)
        .ok()
        .and_then(|e| e.exp);
    if parsed.is_some() {
        assert_eq!(
            read, parsed,
            "an exp serde_json reads must be the one returned"
        );
    }
    if serde_json::from_slice::<serde_json::Value>(payload).is_ok() {
        assert_eq!(read, parsed, "on valid JSON the answer is serde_json's");
    }
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ttl = Duration::from_secs(600);
    let expiry = token_expiry(&token, now, ttl);
    match read.map(unix_time) {
        Some(Ok(exp)) => assert_eq!(expiry, exp.min(now + ttl)),
        Some(Err(out_of_range)) => {
            assert!(out_of_range.seconds > i64::MAX as u64);
            assert_eq!(expiry, now + ttl);
        }
        None => assert_eq!(expiry, now + ttl),
    }
});
