//! Verification of JWT access tokens (on-behalf-of results) against the issuer's JWKS.
//!
//! Signature (keys cached, refetched when an unknown `kid` appears, at most once per
//! `min_refresh`), `iss`, `aud`, `exp` with a small leeway, optionally the RFC 9068 `typ`
//! (`at+jwt`), then the `act` chain (see [`deputy_core::actor`]).

use std::time::{Duration, Instant};

use deputy_core::actor::{DEFAULT_MAX_DEPTH, ObservedDelegation};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tokio::sync::RwLock;

/// Verifies tokens of one issuer for one audience.
#[derive(Debug)]
pub struct TokenVerifier {
    issuer: String,
    audiences: Vec<String>,
    jwks_uri: String,
    require_at_jwt: bool,
    leeway_secs: u64,
    min_refresh: Duration,
    http: reqwest::Client,
    keys: RwLock<Option<(JwkSet, Instant)>>,
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
            jwks_uri: jwks_uri.into(),
            require_at_jwt: false,
            leeway_secs: 30,
            min_refresh: Duration::from_secs(5),
            http: reqwest::Client::new(),
            keys: RwLock::new(None),
        }
    }

    /// Require the RFC 9068 header `typ: at+jwt`.
    pub fn require_at_jwt(mut self, on: bool) -> Self {
        self.require_at_jwt = on;
        self
    }

    /// The shortest time between two JWKS fetches caused by unknown `kid`s (default 5 s), so a
    /// rotation is picked up at once while forged `kid`s cannot make deputy hammer the IdP.
    pub fn min_refresh(mut self, interval: Duration) -> Self {
        self.min_refresh = interval;
        self
    }

    /// Clock-skew leeway for `exp`/`nbf` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway_secs = leeway.as_secs();
        self
    }

    /// Verifies a token and returns its subject and actor chain. The error says what failed.
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
        let key = self.key_for(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.leeway_secs;
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|e| format!("{e}"))?;
        ObservedDelegation::from_claims(&data.claims, DEFAULT_MAX_DEPTH).map_err(|e| e.to_string())
    }

    async fn key_for(&self, kid: &str) -> Result<DecodingKey, String> {
        if let Some((set, _)) = self.keys.read().await.as_ref()
            && let Some(jwk) = set.find(kid)
        {
            return DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable JWK {kid:?}: {e}"));
        }
        let mut keys = self.keys.write().await;
        // Another caller may have refreshed while this one waited for the lock; and an unknown
        // kid refetches at most once per `min_refresh`, so forged kids cannot hammer the IdP.
        let present = keys.as_ref().and_then(|(set, _)| set.find(kid)).is_some();
        let recently = keys
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < self.min_refresh);
        if !present && !recently {
            let set: JwkSet = self
                .http
                .get(&self.jwks_uri)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| format!("cannot fetch JWKS from {}: {e}", self.jwks_uri))?
                .json()
                .await
                .map_err(|e| format!("JWKS at {} is not a JWK set: {e}", self.jwks_uri))?;
            *keys = Some((set, Instant::now()));
        }
        let jwk = keys
            .as_ref()
            .and_then(|(set, _)| set.find(kid))
            .ok_or_else(|| format!("no key {kid:?} in the JWKS at {}", self.jwks_uri))?;
        DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable JWK {kid:?}: {e}"))
    }
}
