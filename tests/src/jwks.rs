//! Checking a JWT the way an independent resource server would: signature against the
//! issuer's published JWKS, and the issuer claim.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// Fetches the JWKS at `jwks_url`, verifies `token`'s RS256 signature with the key its `kid`
/// names and its `iss` against `issuer` (audience is left to the caller), and returns the
/// claims; panics saying which check failed.
///
/// ```no_run
/// # async fn example(token: &str) {
/// let issuer = "http://127.0.0.1:8080/idp";
/// let claims =
///     deputy_tests::jwks::verify_with_jwks(token, &format!("{issuer}/jwks"), issuer).await;
/// assert_eq!(claims["sub"], "alice");
/// # }
/// ```
pub async fn verify_with_jwks(token: &str, jwks_url: &str, issuer: &str) -> Value {
    let jwks: JwkSet = reqwest::get(jwks_url)
        .await
        .unwrap_or_else(|e| panic!("GET {jwks_url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{jwks_url} is not a JWKS: {e}"));
    let header = jsonwebtoken::decode_header(token).expect("the token has a JWT header");
    let kid = header.kid.expect("the token's header names its key (kid)");
    let jwk = jwks
        .find(&kid)
        .unwrap_or_else(|| panic!("kid {kid} is not in {jwks_url}"));
    let key = DecodingKey::from_jwk(jwk).expect("the JWKS key is usable for RS256");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("the token does not verify against {jwks_url} as {issuer}: {e}"))
        .claims
}
