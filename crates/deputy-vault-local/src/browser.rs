//! Test support: complete a 3LO consent on the dev IdP as an HTTP client acting as the
//! browser, so other crates' tests can run USER_FEDERATION without Chromium.

use crate::error::VaultError;

/// Where the browser ended up after consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentOutcome {
    /// The full return URL the vault redirected to (with `session_id`).
    pub return_url: String,
    /// The `session_id` query value: the `sessionUri` to pass to `CompleteResourceTokenAuth`.
    pub session_id: String,
}

fn fail(message: impl Into<String>) -> VaultError {
    VaultError::Browser(message.into())
}

fn hidden_request_id(html: &str) -> Option<String> {
    let marker = "name=\"request_id\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

fn location(response: &reqwest::Response) -> Result<url::Url, VaultError> {
    let text = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            fail(format!(
                "expected a redirect, got HTTP {}",
                response.status()
            ))
        })?;
    response
        .url()
        .join(text)
        .map_err(|e| fail(format!("bad Location header: {e}")))
}

/// Opens `authorization_url` (from `GetResourceOauth2Token`), signs in to the dev IdP as
/// `user`/`password` (dev users' password defaults to their name), allows consent, follows
/// the IdP's redirect to the vault's callback and reads the vault's redirect to the return
/// URL. The return URL itself is not fetched.
pub async fn complete_consent_as_browser(
    authorization_url: &str,
    user: &str,
    password: &str,
) -> Result<ConsentOutcome, VaultError> {
    let (client, to_callback) = decide(authorization_url, user, password, "allow").await?;
    let callback = location(&to_callback)?;
    let to_return = client
        .get(callback)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if to_return.status().is_client_error() {
        let body = to_return.text().await.unwrap_or_default();
        return Err(fail(format!("the vault callback refused the code: {body}")));
    }
    let return_url = location(&to_return)?;
    let session_id = return_url
        .query_pairs()
        .find(|(k, _)| k == "session_id")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| fail("the return URL has no session_id"))?;
    Ok(ConsentOutcome {
        return_url: return_url.to_string(),
        session_id,
    })
}

/// Like [`complete_consent_as_browser`], but the user presses *Deny*: the IdP sends the browser
/// back to the vault's callback with `error=access_denied`, and the vault marks the session
/// `FAILED`. Returns the vault callback's message.
///
/// ```no_run
/// # async fn run(url: &str) {
/// let said = deputy_vault_local::deny_consent_as_browser(url, "alice", "alice").await.unwrap();
/// assert!(said.contains("did not grant access"));
/// # }
/// ```
pub async fn deny_consent_as_browser(
    authorization_url: &str,
    user: &str,
    password: &str,
) -> Result<String, VaultError> {
    let (client, to_callback) = decide(authorization_url, user, password, "deny").await?;
    let callback = location(&to_callback)?;
    let answer = client
        .get(callback)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !answer.status().is_client_error() {
        return Err(fail(format!(
            "the vault callback accepted a denied consent (HTTP {})",
            answer.status()
        )));
    }
    answer.text().await.map_err(|e| fail(e.to_string()))
}

/// Signs in on the authorization page and answers the consent form with `decision`; returns
/// the client and the IdP's redirect towards the vault's callback.
async fn decide(
    authorization_url: &str,
    user: &str,
    password: &str,
    decision: &str,
) -> Result<(reqwest::Client, reqwest::Response), VaultError> {
    // No redirects, and the default outbound timeouts: a hung page fails, not hangs.
    let client = crate::outbound::Outbound::new(&crate::outbound::OutboundHttpConfig::default())?
        .client()
        .clone();
    let page = client
        .get(authorization_url)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let page_url = page.url().clone();
    if !page.status().is_success() {
        return Err(fail(format!(
            "the authorization URL answered HTTP {}",
            page.status()
        )));
    }
    let html = page.text().await.map_err(|e| fail(e.to_string()))?;
    let request_id =
        hidden_request_id(&html).ok_or_else(|| fail("no login form on the authorization page"))?;
    let login_url = page_url.join("login").map_err(|e| fail(e.to_string()))?;
    let consent_page = client
        .post(login_url)
        .form(&[
            ("request_id", request_id.as_str()),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !consent_page.status().is_success() {
        return Err(fail(format!(
            "login as '{user}' failed with HTTP {}",
            consent_page.status()
        )));
    }
    let consent_url = page_url.join("consent").map_err(|e| fail(e.to_string()))?;
    let to_callback = client
        .post(consent_url)
        .form(&[("request_id", request_id.as_str()), ("decision", decision)])
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    Ok((client, to_callback))
}
