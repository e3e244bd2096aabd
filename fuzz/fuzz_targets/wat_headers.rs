//! Workload access token extraction from request headers, on arbitrary header lists
//! (one `name: value` per line).
//!
//! Properties: a WAT is returned only when every WAT header carries it (trimmed, non-empty);
//! `Missing` only when no header is a WAT header; errors name headers, never values.
#![no_main]

use deputy::wat_headers::{WAT_HEADERS, WatHeaderError, from_headers};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let headers: Vec<(&str, &str)> = text
        .split('\n')
        .map(|line| line.split_once(':').unwrap_or((line, "")))
        .collect();
    let is_wat = |name: &str| WAT_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h));
    let wat_values: Vec<&str> = headers
        .iter()
        .filter(|(name, _)| is_wat(name))
        .map(|(_, value)| value.trim())
        .collect();
    match from_headers(headers.iter().copied()) {
        Ok(wat) => {
            assert!(!wat.expose().is_empty());
            assert!(!wat_values.is_empty());
            assert!(
                wat_values.iter().all(|v| *v == wat.expose()),
                "returned one of several different values"
            );
        }
        Err(WatHeaderError::Missing) => assert!(wat_values.is_empty()),
        Err(WatHeaderError::Empty(name)) => {
            assert!(is_wat(&name));
            assert!(wat_values.contains(&""));
        }
        Err(WatHeaderError::Conflict { first, second }) => {
            assert!(is_wat(&first) && is_wat(&second));
            let distinct: std::collections::BTreeSet<&str> = wat_values.iter().copied().collect();
            assert!(distinct.len() > 1);
        }
    }
});
