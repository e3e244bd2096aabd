//! When a token expires, for caching: the JWT `exp` when the token is a JWT, else a default.
//!
//! Reading `exp` here does not verify the token; it only bounds how long deputy reuses a token
//! the vault just handed it. Verification (for on-behalf-of tokens) happens separately.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The expiry of a token: the JWT `exp` if it has one (capped at `default_ttl` from now, so a
/// token that claims a far-future expiry is still refreshed), else `now + default_ttl`.
pub fn token_expiry(token: &str, now: SystemTime, default_ttl: Duration) -> SystemTime {
    let fallback = now + default_ttl;
    jwt_exp(token)
        .map(|exp| UNIX_EPOCH + Duration::from_secs(exp))
        .map_or(fallback, |exp| exp.min(fallback))
}

/// The `exp` claim of a JWT-shaped token, without verification.
pub fn jwt_exp(token: &str) -> Option<u64> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64url_decode(payload)?;
    // Only `exp` is read; every other claim is skipped without being built.
    #[derive(serde::Deserialize)]
    struct Exp {
        exp: Option<u64>,
    }
    serde_json::from_slice::<Exp>(&bytes).ok()?.exp
}

fn base64url_decode(input: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for byte in input.bytes().filter(|b| *b != b'=') {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt_with(payload: &str) -> String {
        let encode = |s: &str| {
            const ALPHABET: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let bytes = s.as_bytes();
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
                let chars = chunk.len() + 1;
                for i in 0..chars {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                }
            }
            out
        };
        format!("{}.{}.sig", encode("{\"alg\":\"RS256\"}"), encode(payload))
    }

    #[test]
    fn reads_exp_and_caps_it() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let ttl = Duration::from_secs(600);
        assert_eq!(jwt_exp(&jwt_with("{\"exp\":1300}")), Some(1300));
        assert_eq!(
            token_expiry(&jwt_with("{\"exp\":1300}"), now, ttl),
            UNIX_EPOCH + Duration::from_secs(1300)
        );
        assert_eq!(
            token_expiry(&jwt_with("{\"exp\":99999}"), now, ttl),
            now + ttl
        );
        assert_eq!(token_expiry("opaque-token", now, ttl), now + ttl);
        assert_eq!(token_expiry("a.!!!.c", now, ttl), now + ttl);
        assert_eq!(jwt_exp(&jwt_with("{\"sub\":\"x\"}")), None);
    }
}
