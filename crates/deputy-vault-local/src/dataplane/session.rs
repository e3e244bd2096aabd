//! USER_FEDERATION sessions (stored encrypted in the SQLite store) and vault tokens.

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

/// The vault key of a token: workload, user, provider and scope set.
pub fn vault_key(
    workload: &str,
    user_key: Option<&str>,
    provider: &str,
    scopes: &[String],
) -> String {
    let mut sorted = scopes.to_vec();
    sorted.sort();
    sorted.dedup();
    let text = format!(
        "{workload}\u{0}{}\u{0}{provider}\u{0}{}",
        user_key.unwrap_or(""),
        sorted.join(" ")
    );
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
