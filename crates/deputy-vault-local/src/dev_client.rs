//! Client helpers for processes that talk to a vault started elsewhere (e.g. by
//! `deputy vault serve`).

use crate::error::VaultError;

/// Asks the dev IdP of the vault at `endpoint` (its base URL) for an inbound user JWT for
/// `user`, authenticating with the user's dev password (by default the user name).
pub async fn fetch_user_token(
    endpoint: &str,
    user: &str,
    password: &str,
    audience: &str,
) -> Result<String, VaultError> {
    let url = format!("{}/idp/dev/user-token", endpoint.trim_end_matches('/'));
    let failed =
        |why: String| VaultError::Client(format!("fetching a user token from {url}: {why}"));
    // The default outbound limits (3 s to connect, 10 s in all): a hung vault fails, not hangs.
    let http = crate::outbound::Outbound::new(&crate::outbound::OutboundHttpConfig::default())?;
    let response = http
        .client()
        .post(&url)
        .form(&[
            ("username", user),
            ("password", password),
            ("audience", audience),
        ])
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(|e| failed(e.to_string()))?;
    match body.get("token").and_then(|t| t.as_str()) {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => Err(failed(format!(
            "HTTP {status}: {}",
            body.get("error_description")
                .and_then(|d| d.as_str())
                .unwrap_or("no token")
        ))),
    }
}
