//! The built-in development IdP, served under `/idp`: discovery, JWKS (RS256, rotating `kid`),
//! inbound user JWTs, authorization code + PKCE with an HTML login/consent page, client
//! credentials, refresh, RFC 8693 token exchange (nested `act`, `may_act` enforced) and
//! RFC 7523 jwt-bearer.

pub mod grants;
pub mod keys;
pub mod pages;
pub mod routes;

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use serde_json::{Value, json};

use crate::config::{DevClient, DevIdpConfig, DevUser};
use crate::error::VaultError;
use crate::ids::{now_secs, uuid_v4};
use crate::sensitive::Sensitive;
pub use keys::SigningKeys;

/// A registered OAuth client.
#[derive(Debug, Clone)]
pub struct ClientEntry {
    /// `client_secret`.
    pub secret: Sensitive,
    /// Exact `redirect_uri` values.
    pub redirect_uris: Vec<String>,
}

/// An authorization request waiting for login and consent.
#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    /// `client_id`.
    pub client_id: String,
    /// `redirect_uri`.
    pub redirect_uri: String,
    /// `scope`.
    pub scope: String,
    /// `state`.
    pub state: Option<Sensitive>,
    /// PKCE `code_challenge` (S256).
    pub code_challenge: String,
    /// Logged-in user, once the login form succeeded.
    pub user: Option<String>,
    /// Expiry, epoch seconds.
    pub exp: u64,
}

/// An issued authorization code.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    /// `client_id`.
    pub client_id: String,
    /// `redirect_uri`.
    pub redirect_uri: String,
    /// The user.
    pub user: String,
    /// Granted scope.
    pub scope: String,
    /// PKCE challenge.
    pub code_challenge: String,
    /// Expiry, epoch seconds.
    pub exp: u64,
}

/// A refresh token's grant.
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    /// `client_id`.
    pub client_id: String,
    /// The user.
    pub user: String,
    /// Granted scope.
    pub scope: String,
}

/// The dev IdP's state. Its `Debug` output shows only the issuer: codes and refresh tokens
/// are map keys here.
pub struct DevIdp {
    issuer: String,
    /// Signing keys.
    pub keys: SigningKeys,
    users: Vec<DevUser>,
    clients: RwLock<HashMap<String, ClientEntry>>,
    /// Authorization requests by id.
    pub pending: Mutex<HashMap<String, PendingAuthorization>>,
    /// Unredeemed codes, by code value.
    pub codes: Mutex<HashMap<String, IssuedCode>>,
    /// Refresh tokens, by value.
    pub refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
    access_token_ttl: u64,
    user_token_ttl: u64,
    clock_skew: i64,
}

impl std::fmt::Debug for DevIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIdp")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl DevIdp {
    /// Creates the IdP with issuer `issuer` (the vault endpoint + `/idp`).
    pub fn new(issuer: String, config: &DevIdpConfig) -> Result<Self, VaultError> {
        let idp = Self {
            issuer,
            keys: SigningKeys::generate()?,
            users: config.users.clone(),
            clients: RwLock::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            codes: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(HashMap::new()),
            access_token_ttl: config.access_token_ttl_seconds,
            user_token_ttl: config.user_token_ttl_seconds,
            clock_skew: config.clock_skew_seconds,
        };
        for client in &config.clients {
            idp.register_client(client.clone());
        }
        Ok(idp)
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Registers (or replaces) an OAuth client.
    pub fn register_client(&self, client: DevClient) {
        let mut clients = match self.clients.write() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        clients.insert(
            client.client_id,
            ClientEntry {
                secret: client.client_secret,
                redirect_uris: client.redirect_uris,
            },
        );
    }

    /// Looks up a client.
    pub fn client(&self, client_id: &str) -> Option<ClientEntry> {
        let clients = match self.clients.read() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        clients.get(client_id).cloned()
    }

    /// Looks up a user.
    pub fn user(&self, name: &str) -> Option<&DevUser> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Checks a login.
    pub fn password_ok(&self, name: &str, password: &str) -> bool {
        self.user(name).is_some_and(|u| match &u.password {
            Some(p) => p.expose() == password,
            None => u.name == password,
        })
    }

    /// Mints an inbound user JWT (`typ: JWT`) for `user` with audience `audience`, valid one hour.
    pub fn mint_user_token(&self, user: &str, audience: &str) -> Result<String, VaultError> {
        let u = self
            .user(user)
            .ok_or_else(|| VaultError::UnknownUser(user.into()))?;
        let now = self.now();
        let mut claims = json!({
            "iss": self.issuer, "sub": u.name, "aud": audience, "iat": now, "exp": now + self.user_token_ttl,
            "jti": uuid_v4(), "preferred_username": u.name,
        });
        if let Some(actor) = &u.may_act {
            claims["may_act"] = json!({ "sub": actor });
        }
        self.keys.sign(&claims, "JWT")
    }

    /// Issues an `at+jwt` access token.
    pub fn issue_access_token(
        &self,
        sub: &str,
        client_id: Option<&str>,
        scope: &str,
        audience: &str,
        act: Option<Value>,
    ) -> Result<String, VaultError> {
        let now = self.now();
        let mut claims = json!({
            "iss": self.issuer, "sub": sub, "aud": audience, "iat": now,
            "exp": now + self.access_token_ttl, "jti": uuid_v4(), "scope": scope,
        });
        if let Some(client_id) = client_id {
            claims["client_id"] = json!(client_id);
        }
        if let Some(act) = act {
            claims["act"] = act;
        }
        self.keys.sign(&claims, "at+jwt")
    }

    /// The IdP's own clock: the host's, shifted by the configured skew.
    fn now(&self) -> u64 {
        now_secs().saturating_add_signed(self.clock_skew)
    }

    /// Lifetime of issued access tokens, in seconds.
    pub fn access_token_ttl(&self) -> u64 {
        self.access_token_ttl
    }

    /// The discovery document.
    pub fn discovery(&self) -> Value {
        let i = &self.issuer;
        json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/authorize"),
            "token_endpoint": format!("{i}/token"),
            "jwks_uri": format!("{i}/jwks"),
            "response_types_supported": ["code"],
            "grant_types_supported": [
                "authorization_code", "client_credentials", "refresh_token",
                grants::TOKEN_EXCHANGE, grants::JWT_BEARER
            ],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
        })
    }
}
