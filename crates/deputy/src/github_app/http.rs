//! The octocrab calls: the App-authenticated client, and how its errors are classified.

use octocrab::Octocrab;
use octocrab::models::AppId;

use super::error::GithubAppError;
use super::key::AppPrivateKey;

/// An octocrab error as deputy acts on it: GitHub's status and message, or no status when
/// GitHub was not reached (or answered something unreadable, `unreadable = true`).
pub(super) struct Failure {
    pub(super) status: Option<u16>,
    pub(super) message: String,
    pub(super) unreadable: bool,
}

pub(super) fn failure(error: octocrab::Error) -> Failure {
    match error {
        octocrab::Error::GitHub { source, .. } => Failure {
            status: Some(source.status_code.as_u16()),
            message: source.message.clone(),
            unreadable: false,
        },
        octocrab::Error::Serde { source, .. } => Failure {
            status: None,
            // serde's messages can quote the offending value; keep only where it failed.
            message: format!(
                "unreadable JSON (line {}, column {})",
                source.line(),
                source.column()
            ),
            unreadable: true,
        },
        octocrab::Error::Json { source, .. } => Failure {
            status: None,
            message: format!("unreadable JSON at {}", source.path()),
            unreadable: true,
        },
        other => Failure {
            status: None,
            message: transport_message(&other),
            unreadable: false,
        },
    }
}

/// The first line of a transport error (octocrab appends backtraces to some displays).
fn transport_message(error: &octocrab::Error) -> String {
    error
        .to_string()
        .lines()
        .next()
        .unwrap_or("transport error")
        .to_owned()
}

/// A client that authenticates as the App (RS256 JWT, `iss` = the App id).
pub(super) fn app_client(
    base_uri: &str,
    app_id: u64,
    key: &AppPrivateKey,
    key_source: &str,
) -> Result<Octocrab, GithubAppError> {
    let encoding = octocrab::EncodingKey::from_rsa_pem(key.expose_pem().as_bytes()).map_err(
        |_| GithubAppError::Key {
            app_id,
            problem: format!(
                "the private key from {key_source} is not an RSA private key in PEM form; store the .pem GitHub generated for the App"
            ),
        },
    )?;
    Octocrab::builder()
        .base_uri(base_uri)
        .map_err(|e| config_error(app_id, base_uri, &e))?
        .app(AppId(app_id), encoding)
        .build()
        .map_err(|e| config_error(app_id, base_uri, &e))
}

/// A client that authenticates with an installation token (for `DELETE /installation/token`).
pub(super) fn token_client(
    base_uri: &str,
    app_id: u64,
    token: &crate::AccessToken,
) -> Result<Octocrab, GithubAppError> {
    // octocrab turns the token into a header value and panics on characters a header cannot
    // hold; a token GitHub issued never has them, but refuse rather than trust that.
    if !token.expose().bytes().all(|b| b.is_ascii_graphic()) {
        return Err(GithubAppError::Unexpected {
            app_id,
            during: "revoking an installation token".into(),
            problem: "the token has characters an Authorization header cannot carry".into(),
        });
    }
    Octocrab::builder()
        .base_uri(base_uri)
        .map_err(|e| config_error(app_id, base_uri, &e))?
        .personal_token(token.expose().to_owned())
        .build()
        .map_err(|e| config_error(app_id, base_uri, &e))
}

fn config_error(app_id: u64, base_uri: &str, error: &octocrab::Error) -> GithubAppError {
    GithubAppError::Unexpected {
        app_id,
        during: format!("building the GitHub client for {base_uri}"),
        problem: transport_message(error),
    }
}
