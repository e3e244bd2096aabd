//! The Secrets Manager fallback's secret parser (`deputy::fallback::SharedToken::from_secret_value`,
//! what `SecretReader::read` runs on a secret's value), on arbitrary values and on JSON secrets
//! whose expiry field is a huge, negative or float number or an arbitrary string.
//!
//! The first byte picks the input: 0 to 3 build `{"access_token": TOKEN, "expires_at": N}`
//! from the next eight bytes (N as `u64`, as `i64`, as `f64`, or the rest as an RFC 3339
//! candidate string); 4 and up give the rest as the value, read as JSON (`access_token` and
//! `expires_at`), JSON without an expiry field, or raw.
//!
//! Properties: never a panic (an expiry past `i64::MAX` seconds, issue #19 item 8, was one); a
//! token is returned only when non-empty and, when the secret names an expiry field, with an
//! expiry after `now`; an integer expiry yields exactly `UNIX_EPOCH + N`, `ExpiryOutOfRange`
//! past the clock's range or `Expired` at or before `now`; negative and float expiries are
//! `BadExpiry`; no error shows the token.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use deputy::core::policy::FallbackFormat;
use deputy::fallback::{SecretError, SharedToken};
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "lin_oauth_SECRETVALUE_canary";

fn json(expires_field: bool) -> FallbackFormat {
    FallbackFormat::Json {
        token_field: "access_token".into(),
        expires_field: expires_field.then(|| "expires_at".into()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let now_secs = 1_700_000_000u64;
    let now = UNIX_EPOCH + Duration::from_secs(now_secs);
    let eight: [u8; 8] = rest
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .unwrap_or_default();
    let (format, value) = match mode {
        0 => (json(true), u64::from_le_bytes(eight).to_string()),
        1 => (json(true), i64::from_le_bytes(eight).to_string()),
        2 => {
            let float = f64::from_le_bytes(eight);
            if !float.is_finite() {
                return;
            }
            // `{:?}` keeps a fraction or exponent, so JSON reads a float, never an integer.
            (json(true), format!("{float:?}"))
        }
        3 => (
            json(true),
            serde_json::Value::String(String::from_utf8_lossy(rest).into_owned()).to_string(),
        ),
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let format = match mode % 3 {
                0 => json(true),
                1 => json(false),
                _ => FallbackFormat::Raw,
            };
            let result = SharedToken::from_secret_value("fuzz-secret", &format, text, now);
            if let Ok(shared) = &result {
                assert!(!shared.token.expose().is_empty());
                assert_eq!(
                    shared.expires_at.is_some(),
                    matches!(
                        format,
                        FallbackFormat::Json {
                            expires_field: Some(_),
                            ..
                        }
                    )
                );
                assert!(shared.expires_at.is_none_or(|exp| exp > now));
            }
            return;
        }
    };
    let secret = format!(r#"{{"access_token":"{TOKEN}","expires_at":{value}}}"#);
    let result = SharedToken::from_secret_value("fuzz-secret", &format, &secret, now);
    if let Err(e) = &result {
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("SECRETVALUE"), "{shown}");
        assert!(shown.contains("fuzz-secret"), "{shown}");
    }
    match mode {
        0 => {
            let n = u64::from_le_bytes(eight);
            match result {
                Ok(shared) => {
                    assert!(n > now_secs && n <= i64::MAX as u64, "{n}");
                    assert_eq!(shared.expires_at, Some(UNIX_EPOCH + Duration::from_secs(n)));
                    assert_eq!(shared.token.expose(), TOKEN);
                }
                Err(SecretError::ExpiryOutOfRange { seconds, .. }) => {
                    assert_eq!(seconds, n);
                    assert!(n > i64::MAX as u64);
                }
                Err(SecretError::Expired { .. }) => assert!(n <= now_secs),
                Err(other) => panic!("{n}: {other}"),
            }
        }
        1 => {
            let n = i64::from_le_bytes(eight);
            match result {
                Ok(_) => assert!(n > now_secs as i64),
                Err(SecretError::Expired { .. }) => assert!((0..=now_secs as i64).contains(&n)),
                Err(SecretError::BadExpiry { .. }) => assert!(n < 0),
                Err(other) => panic!("{n}: {other}"),
            }
        }
        2 => assert!(
            matches!(result, Err(SecretError::BadExpiry { .. })),
            "{value}: {result:?}"
        ),
        _ => {
            if let Ok(shared) = result {
                assert!(shared.expires_at.is_some_and(|exp| exp > now));
            }
        }
    }
});
