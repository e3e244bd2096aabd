//! Reading a JWT's claims for evidence. The signature is not checked here (the vault and the
//! resolver check it); the claims are only compared with what the spike expects.

use base64::Engine as _;
use serde_json::{Map, Value};

/// The payload claims of a JWT, or why there are none.
///
/// ```
/// let jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.";
/// assert_eq!(phase0::claims::payload(jwt).unwrap()["sub"], "alice");
/// assert!(phase0::claims::payload("opaque").is_err());
/// ```
pub fn payload(jwt: &str) -> Result<Map<String, Value>, String> {
    let segment = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| "the token is not a JWT (no payload segment)".to_owned())?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .map_err(|e| format!("the JWT payload is not base64url: {e}"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the JWT payload is not a JSON object".to_owned()),
        Err(e) => Err(format!("the JWT payload is not JSON: {e}")),
    }
}

/// Claims safe to show as evidence: names of all claims, and the values of identity claims.
pub fn evidence(claims: &Map<String, Value>) -> String {
    let mut names: Vec<&str> = claims.keys().map(String::as_str).collect();
    names.sort_unstable();
    let shown: Vec<String> = ["iss", "sub", "aud", "client_id", "act"]
        .iter()
        .filter_map(|k| claims.get(*k).map(|v| format!("{k}={v}")))
        .collect();
    format!("claims [{}]; {}", names.join(", "), shown.join(" "))
}
