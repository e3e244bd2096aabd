//! A user's inbound JWT together with the identity it proves.
//!
//! The vault keys a JWT-bound Workload Access Token by the token's `iss` and `sub`, so that is
//! the only place deputy takes a JWT user from: a [`UserJwt`] is built from the token itself
//! (verified here against the issuer's JWKS, or already verified by an inbound authorizer in
//! front of the agent) and never from a second, caller-supplied field that could disagree.

use std::fmt;

use deputy_core::user::UserIdError;
use deputy_core::{IssuerMap, UserId};

use crate::UserToken;
use crate::verify::TokenVerifier;

/// Why a user JWT cannot bind a task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserJwtError {
    /// The token did not verify (signature, issuer, audience, expiry, not-before).
    #[error("the user's JWT did not verify: {0}; ask the user to sign in again")]
    Unverified(String),
    /// The token is not a JWT with string `iss` and `sub` claims.
    #[error("the user's token is not a JWT with string `iss` and `sub` claims")]
    Malformed,
    /// The issuer is not trusted, or `sub` cannot form a user id.
    #[error("the user's JWT names no usable user: {0}")]
    User(#[from] UserIdError),
}

/// A user's JWT and the user it proves, derived from its own `iss` and `sub`.
///
/// ```
/// use deputy::UserToken;
/// use deputy::user_jwt::UserJwt;
/// use deputy_core::IssuerMap;
/// let mut issuers = IssuerMap::new();
/// issuers.insert("https://idp.example", "okta").unwrap();
/// // The payload is {"iss":"https://idp.example","sub":"alice"}; an inbound authorizer in front
/// // of the agent (AgentCore Runtime's JWT authorizer, API Gateway) verified its signature.
/// let token = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwic3ViIjoiYWxpY2UifQ.sig";
/// let jwt = UserJwt::from_verified(UserToken::new(token), &issuers).unwrap();
/// assert_eq!(jwt.user().as_str(), "okta+alice");
/// assert!(!format!("{jwt:?}").contains("eyJ"));
/// ```
#[derive(Clone)]
pub struct UserJwt {
    token: UserToken,
    issuer: String,
    subject: String,
    user: UserId,
}

impl UserJwt {
    /// Verifies `token` (signature against the issuer's JWKS, `iss`, `aud`, `exp`, `nbf`) and
    /// takes the user from its `iss` and `sub`.
    ///
    /// ```no_run
    /// # async fn run(token: deputy::UserToken, issuers: deputy_core::IssuerMap) -> Result<(), deputy::user_jwt::UserJwtError> {
    /// use deputy::user_jwt::UserJwt;
    /// use deputy::verify::TokenVerifier;
    /// let verifier = TokenVerifier::new("https://idp.example", "https://idp.example/jwks", ["agent"]);
    /// let jwt = UserJwt::verify(token, &verifier, &issuers).await?;
    /// println!("{}", jwt.user());
    /// # Ok(()) }
    /// ```
    pub async fn verify(
        token: UserToken,
        verifier: &TokenVerifier,
        issuers: &IssuerMap,
    ) -> Result<Self, UserJwtError> {
        let observed = verifier
            .verify(token.expose())
            .await
            .map_err(UserJwtError::Unverified)?;
        let issuer = observed.subject.iss.ok_or(UserJwtError::Malformed)?;
        Self::build(token, issuer, observed.subject.sub, issuers)
    }

    /// Takes the user from the `iss` and `sub` of a token that an inbound authorizer in front
    /// of this code has already verified (AgentCore Runtime's JWT authorizer, an API Gateway
    /// JWT authorizer). The signature is not checked here: never pass a token straight from a
    /// request that nothing verified; use [`UserJwt::verify`] for those.
    pub fn from_verified(token: UserToken, issuers: &IssuerMap) -> Result<Self, UserJwtError> {
        #[derive(serde::Deserialize)]
        struct Claims {
            iss: String,
            sub: String,
        }
        let claims = jsonwebtoken::dangerous::insecure_decode::<Claims>(token.expose())
            .map_err(|_| UserJwtError::Malformed)?
            .claims;
        Self::build(token, claims.iss, claims.sub, issuers)
    }

    fn build(
        token: UserToken,
        issuer: String,
        subject: String,
        issuers: &IssuerMap,
    ) -> Result<Self, UserJwtError> {
        let user = UserId::from_verified_claims(&issuer, &subject, issuers)?;
        Ok(UserJwt {
            token,
            issuer,
            subject,
            user,
        })
    }

    /// The token, to mint a JWT-bound WAT or bind a consent session with.
    pub fn token(&self) -> &UserToken {
        &self.token
    }

    /// The user the token proves, `<prefix>+<sub>`.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The token's `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The token's `sub`.
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

impl fmt::Debug for UserJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserJwt")
            .field("user", &self.user)
            .field("token", &self.token)
            .finish()
    }
}
