//! Who is at the browser: the seam the return-URL endpoint asks before it binds a session.
//!
//! AgentCore's session binding only protects a user if the app checks that the person who
//! approved at the provider is the person who started the flow. The vault cannot know that: it
//! sees the browser arrive with a session id. So the return URL asks a [`BrowserAuthenticator`]
//! for the browser's user, from the app's own sign-in (a session cookie, or a verified IdP
//! token), and binds only when that user is the initiator.
//!
//! Two authenticators ship: [`SignedSessionCookie`], an HMAC-signed cookie the app sets at
//! sign-in, and [`BearerJwtAuthenticator`], a user JWT verified against the issuer's JWKS.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use deputy_core::{IssuerMap, UserId};
use secrecy::{ExposeSecret, SecretSlice};

use crate::UserToken;
use crate::user_jwt::UserJwt;
use crate::verify::TokenVerifier;

/// The longest cookie or bearer value the authenticators read; anything longer is refused
/// before it is parsed.
pub const MAX_CREDENTIAL_BYTES: usize = 8 * 1024;

/// Why the browser's user is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrowserAuthError {
    /// The browser carries no credential: the person must sign in to the app first.
    #[error("nobody is signed in on this browser")]
    NotSignedIn {
        /// Where to sign in, if the app has a page for it.
        sign_in_url: Option<String>,
    },
    /// The browser carries a credential that does not verify (forged, expired, wrong key).
    #[error("the browser's sign-in is not valid: {0}")]
    Invalid(String),
}

/// A boxed future, so authenticators can be trait objects.
pub type AuthenticateFuture<'a> =
    Pin<Box<dyn Future<Output = Result<UserId, BrowserAuthError>> + Send + 'a>>;

/// Tells the return-URL endpoint who is at the browser, from the app's own sign-in.
///
/// ```
/// use deputy::callback::{AuthenticateFuture, BrowserAuthError, BrowserAuthenticator};
/// use deputy_core::UserId;
/// /// Trusts a header set by an authenticating proxy in front of the app (and only it).
/// struct ProxyHeader;
/// impl BrowserAuthenticator for ProxyHeader {
///     fn authenticate<'a>(&'a self, headers: &'a axum::http::HeaderMap) -> AuthenticateFuture<'a> {
///         Box::pin(async move {
///             let value = headers.get("x-authenticated-user").and_then(|v| v.to_str().ok());
///             let value = value.ok_or(BrowserAuthError::NotSignedIn { sign_in_url: None })?;
///             UserId::parse(value).map_err(|e| BrowserAuthError::Invalid(e.to_string()))
///         })
///     }
/// }
/// ```
pub trait BrowserAuthenticator: Send + Sync {
    /// The user signed in on the browser that sent `headers`.
    fn authenticate<'a>(&'a self, headers: &'a HeaderMap) -> AuthenticateFuture<'a>;
}

/// The value of cookie `name` in the request: refused when it is sent more than once (which
/// copy would count is ambiguous) or is longer than [`MAX_CREDENTIAL_BYTES`].
///
/// ```
/// use axum::http::{HeaderMap, header::COOKIE};
/// let mut headers = HeaderMap::new();
/// headers.insert(COOKIE, "a=1; b=2".parse().unwrap());
/// assert_eq!(deputy::callback::request_cookie(&headers, "b").unwrap(), Some("2"));
/// assert_eq!(deputy::callback::request_cookie(&headers, "c").unwrap(), None);
/// ```
pub fn request_cookie<'h>(
    headers: &'h HeaderMap,
    name: &str,
) -> Result<Option<&'h str>, BrowserAuthError> {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        let Ok(header) = header.to_str() else {
            continue;
        };
        for pair in header.split(';') {
            if let Some((key, value)) = pair.trim().split_once('=')
                && key == name
            {
                if found.is_some() {
                    return Err(BrowserAuthError::Invalid(format!(
                        "cookie {name} is sent more than once"
                    )));
                }
                found = Some(value);
            }
        }
    }
    match found {
        Some(value) if value.len() > MAX_CREDENTIAL_BYTES => Err(BrowserAuthError::Invalid(
            format!("cookie {name} is longer than {MAX_CREDENTIAL_BYTES} bytes"),
        )),
        other => Ok(other),
    }
}

/// An HMAC-SHA256-signed session cookie the app sets when a user signs in to it, naming the
/// user and an expiry. The key stays in the app; a cookie from another key, edited, or expired
/// is [`BrowserAuthError::Invalid`].
///
/// ```
/// use deputy::callback::SignedSessionCookie;
/// use deputy_core::UserId;
/// let cookie = SignedSessionCookie::new(b"a key of at least 32 random bytes!!".to_vec()).unwrap();
/// let alice = UserId::parse("okta+alice").unwrap();
/// let value = cookie.issue(&alice);
/// assert_eq!(cookie.verify(&value).unwrap(), alice);
/// // Another app's key, or an edited value, signs no one in.
/// let other = SignedSessionCookie::new(b"another key, at least 32 bytes!!!!".to_vec()).unwrap();
/// assert!(other.verify(&value).is_err());
/// assert!(cookie.verify(&format!("{value}x")).is_err());
/// ```
pub struct SignedSessionCookie {
    key: hmac::Key,
    name: String,
    ttl: Duration,
    secure: bool,
    sign_in_url: Option<String>,
}

impl std::fmt::Debug for SignedSessionCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedSessionCookie")
            .field("name", &self.name)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The shortest HMAC key [`SignedSessionCookie`] accepts, in bytes.
pub const MIN_COOKIE_KEY_BYTES: usize = 32;

impl SignedSessionCookie {
    /// A cookie signer with `key` (at least [`MIN_COOKIE_KEY_BYTES`] random bytes), named
    /// `deputy_session`, valid for 8 hours, `Secure`.
    pub fn new(key: impl Into<SecretSlice<u8>>) -> Result<Self, BrowserAuthError> {
        let key: SecretSlice<u8> = key.into();
        if key.expose_secret().len() < MIN_COOKIE_KEY_BYTES {
            return Err(BrowserAuthError::Invalid(format!(
                "a session cookie key needs at least {MIN_COOKIE_KEY_BYTES} bytes"
            )));
        }
        Ok(SignedSessionCookie {
            key: hmac::Key::new(hmac::HMAC_SHA256, key.expose_secret()),
            name: "deputy_session".into(),
            ttl: Duration::from_secs(8 * 3600),
            secure: true,
            sign_in_url: None,
        })
    }

    /// A signer with a fresh random key, for a process that both signs users in and serves the
    /// return URL (the CLI's `resolve --wait`).
    pub fn random() -> Result<Self, BrowserAuthError> {
        let mut key = vec![0u8; MIN_COOKIE_KEY_BYTES];
        aws_lc_rs::rand::fill(&mut key).map_err(|_| {
            BrowserAuthError::Invalid("the system random number generator failed".into())
        })?;
        Self::new(key)
    }

    /// The cookie's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// How long a sign-in lasts.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Whether [`SignedSessionCookie::set_cookie`] marks the cookie `Secure` (default true;
    /// only a plain-HTTP loopback server turns it off).
    pub fn secure(mut self, on: bool) -> Self {
        self.secure = on;
        self
    }

    /// Where a browser with no sign-in is sent (with `?next=` the return URL it came to).
    pub fn sign_in_url(mut self, url: impl Into<String>) -> Self {
        self.sign_in_url = Some(url.into());
        self
    }

    /// The cookie value naming `user` until the signer's TTL from now.
    pub fn issue(&self, user: &UserId) -> String {
        let expires = SystemTime::now()
            .checked_add(self.ttl)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        let body = format!("v1.{}.{expires}", URL_SAFE_NO_PAD.encode(user.as_str()));
        let tag = hmac::sign(&self.key, body.as_bytes());
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// A `Set-Cookie` header value for `user` (`HttpOnly`, `SameSite=Lax` so the browser sends
    /// it on the redirect back from the provider, `Path=/`).
    pub fn set_cookie(&self, user: &UserId) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
            self.name,
            self.issue(user),
            self.ttl.as_secs(),
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// The user a cookie value names, if this signer issued it and it has not expired. The
    /// signature is checked (in constant time) before anything else is read.
    pub fn verify(&self, value: &str) -> Result<UserId, BrowserAuthError> {
        let invalid = |why: &str| BrowserAuthError::Invalid(format!("session cookie {why}"));
        let (body, tag) = value
            .rsplit_once('.')
            .ok_or_else(|| invalid("is malformed"))?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| invalid("is malformed"))?;
        hmac::verify(&self.key, body.as_bytes(), &tag)
            .map_err(|_| invalid("has a bad signature"))?;
        let mut parts = body.split('.');
        let (Some("v1"), Some(user), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("is malformed"));
        };
        let expires: u64 = expires.parse().map_err(|_| invalid("is malformed"))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if now >= expires {
            return Err(invalid("has expired; sign in again"));
        }
        let user = URL_SAFE_NO_PAD
            .decode(user)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| invalid("is malformed"))?;
        UserId::parse(&user).map_err(|_| invalid("names no valid user"))
    }
}

impl BrowserAuthenticator for SignedSessionCookie {
    fn authenticate<'a>(&'a self, headers: &'a HeaderMap) -> AuthenticateFuture<'a> {
        Box::pin(async move {
            match request_cookie(headers, &self.name)? {
                Some(value) => self.verify(value),
                None => Err(BrowserAuthError::NotSignedIn {
                    sign_in_url: self.sign_in_url.clone(),
                }),
            }
        })
    }
}

/// A user JWT (an ID token or access token of the app's IdP) in `Authorization: Bearer` or in
/// a cookie, verified against the issuer's JWKS; the user is its `iss`+`sub`
/// ([`UserJwt::verify`]).
///
/// ```
/// use deputy::callback::BearerJwtAuthenticator;
/// use deputy::verify::TokenVerifier;
/// use deputy_core::IssuerMap;
/// let mut issuers = IssuerMap::new();
/// issuers.insert("https://idp.example", "okta").unwrap();
/// let verifier = TokenVerifier::new("https://idp.example", "https://idp.example/jwks", ["my-app"]);
/// let auth = BearerJwtAuthenticator::new(verifier, issuers).cookie("id_token");
/// # let _ = auth;
/// ```
#[derive(Debug)]
pub struct BearerJwtAuthenticator {
    verifier: TokenVerifier,
    issuers: IssuerMap,
    cookie: Option<String>,
    sign_in_url: Option<String>,
}

impl BearerJwtAuthenticator {
    /// Reads `Authorization: Bearer <jwt>` and verifies it with `verifier`.
    pub fn new(verifier: TokenVerifier, issuers: IssuerMap) -> Self {
        BearerJwtAuthenticator {
            verifier,
            issuers,
            cookie: None,
            sign_in_url: None,
        }
    }

    /// Also reads the token from this cookie (browsers send cookies, not headers, on a redirect).
    pub fn cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(name.into());
        self
    }

    /// Where a browser with no token is sent.
    pub fn sign_in_url(mut self, url: impl Into<String>) -> Self {
        self.sign_in_url = Some(url.into());
        self
    }

    fn token<'h>(&self, headers: &'h HeaderMap) -> Result<Option<&'h str>, BrowserAuthError> {
        if let Some(value) = headers.get(AUTHORIZATION) {
            let value = value
                .to_str()
                .map_err(|_| BrowserAuthError::Invalid("Authorization is not text".into()))?;
            if value.len() > MAX_CREDENTIAL_BYTES {
                return Err(BrowserAuthError::Invalid(format!(
                    "Authorization is longer than {MAX_CREDENTIAL_BYTES} bytes"
                )));
            }
            if let Some(token) = value.strip_prefix("Bearer ") {
                return Ok(Some(token.trim()));
            }
        }
        match &self.cookie {
            Some(name) => request_cookie(headers, name),
            None => Ok(None),
        }
    }
}

impl BrowserAuthenticator for BearerJwtAuthenticator {
    fn authenticate<'a>(&'a self, headers: &'a HeaderMap) -> AuthenticateFuture<'a> {
        Box::pin(async move {
            let Some(token) = self.token(headers)? else {
                return Err(BrowserAuthError::NotSignedIn {
                    sign_in_url: self.sign_in_url.clone(),
                });
            };
            UserJwt::verify(UserToken::new(token), &self.verifier, &self.issuers)
                .await
                .map(|jwt| jwt.user().clone())
                .map_err(|e| BrowserAuthError::Invalid(e.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn signer() -> SignedSessionCookie {
        SignedSessionCookie::new(vec![7u8; 32]).unwrap()
    }

    #[test]
    fn a_cookie_names_its_user_and_nothing_else_verifies() {
        let cookie = signer();
        let alice = UserId::parse("dev+alice").unwrap();
        let value = cookie.issue(&alice);
        assert_eq!(cookie.verify(&value).unwrap(), alice);
        // Another key, an edited user, an edited expiry, a truncated tag, garbage.
        let other = SignedSessionCookie::new(vec![8u8; 32]).unwrap();
        assert!(other.verify(&value).is_err());
        let mut parts: Vec<String> = value.split('.').map(str::to_owned).collect();
        let original = parts.clone();
        parts[1] = URL_SAFE_NO_PAD.encode("dev+bob");
        assert!(cookie.verify(&parts.join(".")).is_err());
        parts = original.clone();
        parts[2] = "99999999999".into();
        assert!(cookie.verify(&parts.join(".")).is_err());
        assert!(cookie.verify(&value[..value.len() - 2]).is_err());
        for junk in ["", ".", "v1", "v1.a.b.c", "....", "v1..1.", "\u{0}"] {
            assert!(cookie.verify(junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn an_expired_cookie_is_refused_and_short_keys_are_not_accepted() {
        let cookie = signer().ttl(Duration::ZERO);
        let value = cookie.issue(&UserId::parse("dev+alice").unwrap());
        assert!(matches!(
            cookie.verify(&value),
            Err(BrowserAuthError::Invalid(why)) if why.contains("expired")
        ));
        assert!(SignedSessionCookie::new(vec![1u8; 31]).is_err());
    }

    #[tokio::test]
    async fn the_cookie_is_read_from_the_request_once() {
        let cookie = signer();
        let alice = UserId::parse("dev+alice").unwrap();
        let mut headers = HeaderMap::new();
        assert!(matches!(
            cookie.authenticate(&headers).await,
            Err(BrowserAuthError::NotSignedIn { .. })
        ));
        let set = format!("a=b; deputy_session={}; c=d", cookie.issue(&alice));
        headers.insert(COOKIE, set.parse().unwrap());
        assert_eq!(cookie.authenticate(&headers).await.unwrap(), alice);
        // The same cookie twice is ambiguous: refused.
        let twice = format!(
            "deputy_session={}; deputy_session={}",
            cookie.issue(&alice),
            cookie.issue(&UserId::parse("dev+bob").unwrap())
        );
        headers.insert(COOKIE, twice.parse().unwrap());
        assert!(cookie.authenticate(&headers).await.is_err());
        let huge = format!("deputy_session={}", "a".repeat(MAX_CREDENTIAL_BYTES + 1));
        headers.insert(COOKIE, huge.parse().unwrap());
        assert!(cookie.authenticate(&headers).await.is_err());
    }
}
