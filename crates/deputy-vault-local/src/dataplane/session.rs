//! USER_FEDERATION sessions (stored encrypted in the SQLite store) and vault tokens.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::wat::UserBinding;
use crate::aws_error::{ApiError, ApiResult};
use crate::ids::{hex, now_secs, sha256};
use crate::sensitive::Sensitive;
use crate::state::AppState;
use crate::validate::SESSION_URI_PREFIX;

/// Where a 3LO session stands.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum SessionStatus {
    /// Waiting for the user at the authorization URL.
    AwaitingUser,
    /// The IdP redirected back with a code; waiting for `CompleteResourceTokenAuth`.
    AwaitingBinding,
    /// One `CompleteResourceTokenAuth` claimed the session and is redeeming its code; every
    /// other call is refused.
    Exchanging,
    /// The code was exchanged; polls return the token.
    Completed,
    /// The user denied consent or the exchange failed.
    Failed,
}

/// A 3LO session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The id inside the `sessionUri`.
    pub id: String,
    /// The OAuth `state` sent to the IdP.
    pub oauth_state: String,
    /// Workload.
    pub workload: String,
    /// The user binding of the WAT that started the session.
    pub user: UserBinding,
    /// Provider name.
    pub provider: String,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// The vault key the exchanged token is stored under (see [`vault_key`]): it covers the
    /// scopes, resources, audiences and custom parameters the session was started with.
    #[serde(default)]
    pub token_key: String,
    /// Session-binding return URL.
    pub return_url: String,
    /// `customState`.
    pub custom_state: Option<Sensitive>,
    /// The URL the user must open.
    pub authorization_url: Sensitive,
    /// PKCE verifier.
    pub code_verifier: Sensitive,
    /// The authorization code, once the IdP called back.
    pub code: Option<Sensitive>,
    /// The access token, once exchanged.
    pub access_token: Option<Sensitive>,
    /// Status.
    pub status: SessionStatus,
    /// Creation time, epoch seconds.
    pub created: u64,
}

impl Session {
    /// The `sessionUri`.
    pub fn uri(&self) -> String {
        format!("{SESSION_URI_PREFIX}{}", self.id)
    }

    /// Whether the session is past its lifetime.
    pub fn expired(&self, ttl: u64) -> bool {
        now_secs() >= self.created.saturating_add(ttl)
    }
}

/// Reads a session.
pub fn load(state: &AppState, id: &str) -> ApiResult<Option<Session>> {
    state
        .store
        .session(id)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Writes a session.
pub fn save(state: &AppState, session: &Session) -> ApiResult<()> {
    state
        .store
        .put_session(&session.id, &session.oauth_state, session)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Compare-and-set on a stored session: `decide` sees the current session under the store
/// lock and returns its successor (which is written) or `None` (nothing changes, and `None`
/// is returned).
pub fn update(
    state: &AppState,
    id: &str,
    decide: impl FnOnce(Session) -> Option<Session>,
) -> ApiResult<Option<Session>> {
    state
        .store
        .update_session(id, decide)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// A token held in the vault.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VaultToken {
    /// Access token.
    pub access_token: Sensitive,
    /// Refresh token.
    pub refresh_token: Option<Sensitive>,
    /// Expiry, epoch seconds.
    pub expires_at: u64,
}

impl VaultToken {
    /// Whether it can still be handed out (30 s of margin).
    pub fn usable(&self) -> bool {
        self.expires_at > now_secs() + 30
    }
}

/// What a token was requested for, beyond its workload, user and provider: a token minted
/// for one audience, resource or set of custom parameters is never served for another.
///
/// ```
/// use deputy_vault_local::dataplane::session::{TokenTarget, vault_key};
/// let a = ["api-a".to_string()];
/// let b = ["api-b".to_string()];
/// let for_a = TokenTarget { audiences: &a, ..TokenTarget::default() };
/// let for_b = TokenTarget { audiences: &b, ..TokenTarget::default() };
/// assert_ne!(vault_key("w", None, "p", &for_a), vault_key("w", None, "p", &for_b));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenTarget<'a> {
    /// `scopes`.
    pub scopes: &'a [String],
    /// `resources`.
    pub resources: &'a [String],
    /// `audiences`.
    pub audiences: &'a [String],
    /// `customParameters`.
    pub custom_parameters: &'a [(String, String)],
}

fn canonical(list: &[String]) -> Vec<&str> {
    let mut sorted: Vec<&str> = list.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

/// The vault key of a token: workload, user, provider and target (lists compared as sets,
/// custom parameters as a map), hashed.
pub fn vault_key(
    workload: &str,
    user_key: Option<&str>,
    provider: &str,
    target: &TokenTarget<'_>,
) -> String {
    let custom: BTreeMap<&str, &str> = target
        .custom_parameters
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let text = serde_json::json!([
        workload,
        user_key.unwrap_or(""),
        provider,
        canonical(target.scopes),
        canonical(target.resources),
        canonical(target.audiences),
        custom,
    ])
    .to_string();
    hex(&sha256(text.as_bytes()))
}

/// Reads a vault token.
pub fn load_token(state: &AppState, key: &str) -> ApiResult<Option<VaultToken>> {
    state
        .store
        .token(key)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Stores a vault token.
pub fn save_token(state: &AppState, key: &str, token: &VaultToken) -> ApiResult<()> {
    state
        .store
        .put_token(key, token)
        .map_err(|e| ApiError::Internal(e.to_string()))
}
