//! Verification of JWT access tokens (on-behalf-of results, and the Gateway's inbound user
//! tokens) against the issuer's JWKS.
//!
//! Signature, `iss`, `aud`, `exp` and `nbf` with a small leeway, optionally the RFC 9068 `typ`
//! (`at+jwt`), then the `act` chain (see [`deputy_core::actor`]).
//!
//! The keys are cached for a flood of forged tokens: JWKS fetches are single-flight and at most
//! one per `min_refresh` (failed ones included), unknown `kid`s are remembered that long, a
//! hung fetch never delays a token whose key is cached, and the key set expires with the JWKS
//! response's `Cache-Control: max-age` (at least `min_refresh` and 1 s, at most a day, 5 min
//! without one), so a key the IdP withdraws stops verifying. An expired key set is not used
//! while the IdP cannot be reached: verification fails closed.

mod jwks;

use std::time::Duration;

use deputy_core::actor::{DEFAULT_MAX_DEPTH, ObservedDelegation};
use jsonwebtoken::{Algorithm, Validation};

use jwks::Jwks;

/// Verifies tokens of one issuer for one audience.
#[derive(Debug)]
pub struct TokenVerifier {
    issuer: String,
    audiences: Vec<String>,
    require_at_jwt: bool,
    leeway_secs: u64,
    jwks: Jwks,
}

impl TokenVerifier {
    /// A verifier for tokens issued by `issuer` (keys at `jwks_uri`) for any of `audiences`.
    ///
    /// ```
    /// use deputy::verify::TokenVerifier;
    /// let verifier = TokenVerifier::new("https://idp.example", "https://idp.example/jwks", ["aws-native"])
    ///     .require_at_jwt(true);
    /// # let _ = verifier;
    /// ```
    pub fn new<S: Into<String>>(
        issuer: impl Into<String>,
        jwks_uri: impl Into<String>,
        audiences: impl IntoIterator<Item = S>,
    ) -> Self {
        TokenVerifier {
            issuer: issuer.into(),
            audiences: audiences.into_iter().map(Into::into).collect(),
            require_at_jwt: false,
            leeway_secs: 30,
            jwks: Jwks::new(jwks_uri.into(), Duration::from_secs(5)),
        }
    }

    /// Require the RFC 9068 header `typ: at+jwt`.
    ///
    /// ```
    /// # use deputy::verify::TokenVerifier;
    /// let verifier = TokenVerifier::new("https://idp.example", "https://idp.example/jwks", ["api"])
    ///     .require_at_jwt(true);
    /// # let _ = verifier;
    /// ```
    pub fn require_at_jwt(mut self, on: bool) -> Self {
        self.require_at_jwt = on;
        self
    }

    /// The shortest time between two JWKS fetches (default 5 s), failed ones included, so a
    /// rotation is picked up at once while forged `kid`s or a failing IdP cannot make deputy
    /// hammer the IdP. Unknown `kid`s are remembered this long. `Duration::ZERO` (for tests)
    /// fetches on every unknown `kid`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use deputy::verify::TokenVerifier;
    /// let verifier = TokenVerifier::new("https://idp.example", "https://idp.example/jwks", ["api"])
    ///     .min_refresh(Duration::from_secs(10));
    /// # let _ = verifier;
    /// ```
    pub fn min_refresh(mut self, interval: Duration) -> Self {
        self.jwks = Jwks::new(self.jwks.uri().to_owned(), interval);
        self
    }

    /// Clock-skew leeway for `exp`/`nbf` (default 30 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use deputy::verify::TokenVerifier;
    /// let verifier = TokenVerifier::new("https://idp.example", "https://idp.example/jwks", ["api"])
    ///     .leeway(Duration::from_secs(60));
    /// # let _ = verifier;
    /// ```
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway_secs = leeway.as_secs();
        self
    }

    /// Verifies a token and returns its subject and actor chain. The error says what failed.
    ///
    /// ```no_run
    /// # async fn example(token: &str) {
    /// # use deputy::verify::TokenVerifier;
    /// let verifier = TokenVerifier::new("https://idp.example", "https://idp.example/jwks", ["api"]);
    /// match verifier.verify(token).await {
    ///     Ok(observed) => println!("on behalf of {}", observed.subject.sub),
    ///     Err(reason) => println!("refused: {reason}"),
    /// }
    /// # }
    /// ```
    pub async fn verify(&self, token: &str) -> Result<ObservedDelegation, String> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| format!("malformed JWT header: {e}"))?;
        if !matches!(
            header.alg,
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::PS256 | Algorithm::EdDSA
        ) {
            return Err(format!("algorithm {:?} is not accepted", header.alg));
        }
        if self.require_at_jwt {
            let typ = header.typ.as_deref().unwrap_or("");
            if !typ.eq_ignore_ascii_case("at+jwt")
                && !typ.eq_ignore_ascii_case("application/at+jwt")
            {
                return Err(format!("header typ {typ:?} is not at+jwt (RFC 9068)"));
            }
        }
        let kid = header.kid.ok_or("JWT header has no kid")?;
        let key = self.jwks.key(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway_secs;
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|e| format!("{e}"))?;
        ObservedDelegation::from_claims(&data.claims, DEFAULT_MAX_DEPTH).map_err(|e| e.to_string())
    }
}
