//! When a token expires, for caching: the JWT `exp` when the token is a JWT, else a default.
//!
//! Reading `exp` here does not verify the token; it only bounds how long deputy reuses a token
//! the vault just handed it. Verification (for on-behalf-of tokens) happens separately.

mod top_level_exp;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use top_level_exp::Scan;

/// An expiry in Unix seconds that this host's clock cannot represent (on Unix, anything past
/// `i64::MAX` seconds). Such a value comes only from a token or secret that claims it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "expiry {seconds} s after the Unix epoch is past the latest time this host can represent; an issuer or secret that writes it is misconfigured"
)]
pub struct ExpiryOutOfRange {
    /// The claimed expiry, in seconds after the Unix epoch.
    pub seconds: u64,
}

/// `seconds` after the Unix epoch, or [`ExpiryOutOfRange`] when the clock has no such time
/// (instead of the panic of `UNIX_EPOCH + Duration::from_secs(seconds)`).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use deputy::expiry::unix_time;
/// assert_eq!(unix_time(60), Ok(UNIX_EPOCH + Duration::from_secs(60)));
/// assert_eq!(unix_time(u64::MAX).unwrap_err().seconds, u64::MAX);
/// ```
pub fn unix_time(seconds: u64) -> Result<SystemTime, ExpiryOutOfRange> {
    UNIX_EPOCH
        .checked_add(Duration::from_secs(seconds))
        .ok_or(ExpiryOutOfRange { seconds })
}

/// The expiry of a token: the JWT `exp` if it has one (capped at `default_ttl` from now, so a
/// token that claims a far-future expiry is still refreshed), else `now + default_ttl`.
///
/// An `exp` past the clock's range ([`ExpiryOutOfRange`]) is the farthest future of all, so it
/// is capped the same way: the token is reused for `default_ttl` at most.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use deputy::expiry::token_expiry;
/// let now = UNIX_EPOCH + Duration::from_secs(1_000);
/// // An opaque token lives `default_ttl`.
/// assert_eq!(token_expiry("opaque", now, Duration::from_secs(60)), now + Duration::from_secs(60));
/// ```
pub fn token_expiry(token: &str, now: SystemTime, default_ttl: Duration) -> SystemTime {
    let fallback = now + default_ttl;
    match jwt_exp(token).map(unix_time) {
        Some(Ok(exp)) => exp.min(fallback),
        Some(Err(ExpiryOutOfRange { .. })) | None => fallback,
    }
}

/// The `exp` claim of a JWT-shaped token, without verification.
///
/// ```
/// // The payload is `{"sub":"alice","exp":1700000000}`.
/// let token = "e30.eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDAwMH0.sig";
/// assert_eq!(deputy::expiry::jwt_exp(token), Some(1_700_000_000));
/// assert_eq!(deputy::expiry::jwt_exp("not-a-jwt"), None);
/// ```
pub fn jwt_exp(token: &str) -> Option<u64> {
    // Header, payload, and at least a signature after them.
    let (_header, rest) = token.split_once('.')?;
    let (payload, _signature) = rest.split_once('.')?;
    let bytes = base64url_decode(payload)?;
    match top_level_exp::scan(&bytes) {
        Scan::Exp(exp) => Some(exp),
        Scan::NoExp => None,
        Scan::Unsure => parsed_exp(&bytes),
    }
}

/// `exp` by a full JSON parse, for the payloads [`top_level_exp`] leaves to it.
fn parsed_exp(json: &[u8]) -> Option<u64> {
    // Only `exp` is read; every other claim is skipped without being built.
    #[derive(serde::Deserialize)]
    struct Exp {
        exp: Option<u64>,
    }
    serde_json::from_slice::<Exp>(json).ok()?.exp
}

/// Unpadded (or `=`-padded) base64url, four characters to three bytes at a time through a
/// lookup table into an output sized once: a cold resolve decodes a whole JWT payload here, so
/// the per-byte work counts.
fn base64url_decode(input: &str) -> Option<Vec<u8>> {
    let input = input.trim_end_matches('=').as_bytes();
    let tail = match input.len() % 4 {
        // One character holds only six bits: no whole byte.
        1 => return None,
        0 => 0,
        len => len - 1,
    };
    let mut out = vec![0u8; input.len() / 4 * 3 + tail];
    let mut quads = input.chunks_exact(4);
    for (quad, bytes) in (&mut quads).zip(out.chunks_exact_mut(3)) {
        bytes.copy_from_slice(&sextets(quad)?.to_be_bytes()[1..]);
    }
    let rest = quads.remainder();
    if !rest.is_empty() {
        let n = sextets(rest)? << (6 * (4 - rest.len()));
        let at = out.len() - tail;
        out[at..].copy_from_slice(&n.to_be_bytes()[1..=tail]);
    }
    Some(out)
}

/// Up to four base64url characters as one number, six bits each; `None` on any other byte.
/// The table's values are below 64 and `INVALID` has the high bit, so one test covers all four.
fn sextets(chars: &[u8]) -> Option<u32> {
    let (n, seen) = chars.iter().fold((0u32, 0u8), |(n, seen), &c| {
        let value = DECODE[usize::from(c)];
        ((n << 6) | u32::from(value & 0x3f), seen | value)
    });
    (seen & 0x80 == 0).then_some(n)
}

const INVALID: u8 = 0xff;

/// The value of each base64url character, `INVALID` for every other byte.
const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

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

    /// The decoder this module used before: six bits at a time, `=` skipped anywhere.
    fn bitwise_decode(input: &str) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let (mut buffer, mut bits) = (0u32, 0u32);
        for byte in input.bytes().filter(|b| *b != b'=') {
            let value = DECODE[usize::from(byte)];
            if value == INVALID {
                return None;
            }
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

    #[test]
    fn the_table_decoder_agrees_with_the_bitwise_one() {
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..200 {
            for round in 0..20u64 {
                // Half the rounds draw from the alphabet only, half also from other bytes.
                let choices = if round % 2 == 0 { 64 } else { 70 };
                let text: String = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        let pick = (seed % choices) as usize;
                        alphabet
                            .chars()
                            .chain("=.+/ \u{e9}".chars())
                            .nth(pick)
                            .unwrap_or('A')
                    })
                    .collect();
                let padded_at_end = text.trim_end_matches('=');
                if padded_at_end.contains('=') || padded_at_end.len() % 4 == 1 {
                    // Inner padding and a lone sixth-bit character: the old decoder was lax
                    // there; the new one refuses (no JWT segment looks like this).
                    continue;
                }
                assert_eq!(base64url_decode(&text), bitwise_decode(&text), "{text:?}");
            }
        }
        assert_eq!(
            base64url_decode("eyJleHAiOjF9"),
            Some(b"{\"exp\":1}".to_vec())
        );
        assert_eq!(base64url_decode("QQ"), Some(b"A".to_vec()));
        assert_eq!(base64url_decode("QUI"), Some(b"AB".to_vec()));
        assert_eq!(base64url_decode("QUI="), Some(b"AB".to_vec()));
        assert_eq!(base64url_decode("Q"), None);
        assert_eq!(base64url_decode("QU+I"), None);
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

    #[test]
    fn an_exp_past_the_clock_range_is_capped_not_a_panic() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let ttl = Duration::from_secs(600);
        // Past `i64::MAX` seconds no `SystemTime` exists on Unix; both readers hand these on.
        for exp in [
            "9223372036854775808",
            "18446744073709551615",
            "9223372036854775808 ",
        ] {
            let fast = jwt_with(&format!("{{\"exp\":{exp}}}"));
            // An escaped key sends the payload to `serde_json`.
            let parsed = jwt_with(&format!("{{\"\\u0061\":1,\"exp\":{exp}}}"));
            for token in [fast, parsed] {
                assert_eq!(jwt_exp(&token), exp.trim().parse().ok(), "{exp}");
                assert_eq!(token_expiry(&token, now, ttl), now + ttl, "{exp}");
            }
        }
        assert_eq!(
            token_expiry(&jwt_with("{\"exp\":9223372036854775807}"), now, ttl),
            now + ttl
        );
    }
}
