//! [`GithubApp`]: mints repository- and permission-scoped installation tokens, and revokes them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use deputy_core::RepoRef;
use deputy_core::flow::PermissionLevel;
use octocrab::Octocrab;
use octocrab::models::InstallationId;
use octocrab::models::apps::CreateInstallationAccessToken;
use serde::Deserialize;

use super::error::{GithubAppError, describe_permissions, level_name};
use super::http::{Failure, app_client, failure, token_client};
use super::key::{AppKeySource, KeyRequest};
use crate::AccessToken;

/// GitHub's public API.
pub const GITHUB_API: &str = "https://api.github.com";

/// How long an owner's installation id is reused before it is looked up again.
const INSTALLATION_TTL: Duration = Duration::from_secs(3600);

/// A minted installation token: one repository, the rule's permissions, an expiry.
#[derive(Debug, Clone)]
pub struct MintedToken {
    /// The token (`Debug` shows its fingerprint only).
    pub token: AccessToken,
    /// When GitHub says it expires (one hour after minting).
    pub expires_at: SystemTime,
    /// The installation it was minted from.
    pub installation_id: u64,
    /// The one repository it can touch.
    pub repo: RepoRef,
}

/// What a revocation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// GitHub revoked the token (204).
    Revoked,
    /// GitHub no longer accepted the token (401): already revoked or expired.
    AlreadyInvalid,
}

#[derive(Debug, Deserialize)]
struct Installation {
    id: u64,
    #[serde(default)]
    permissions: HashMap<String, String>,
}

/// A GitHub App: its id, where its private key comes from, and the GitHub API it talks to.
///
/// The App-authenticated client is built once (the key is loaded on first use, and again after
/// GitHub rejects the App JWT, e.g. after a key rotation); each owner's installation is looked
/// up once and cached for an hour.
///
/// ```
/// use std::sync::Arc;
/// use deputy::github_app::{GithubApp, VaultApiKeySource};
/// let app = GithubApp::new(123456, Arc::new(VaultApiKeySource::new("github-app-key")))
///     .base_uri("https://github.example.com/api/v3");
/// assert_eq!(app.app_id(), 123456);
/// ```
pub struct GithubApp {
    app_id: u64,
    base_uri: String,
    keys: Arc<dyn AppKeySource>,
    client: tokio::sync::Mutex<Option<Octocrab>>,
    installations: moka::future::Cache<String, Arc<Installation>>,
}

impl std::fmt::Debug for GithubApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubApp")
            .field("app_id", &self.app_id)
            .field("base_uri", &self.base_uri)
            .field("keys", &self.keys.describe())
            .finish_non_exhaustive()
    }
}

impl GithubApp {
    /// The App `app_id`, its key from `keys`, talking to <https://api.github.com>.
    pub fn new(app_id: u64, keys: Arc<dyn AppKeySource>) -> Self {
        GithubApp {
            app_id,
            base_uri: GITHUB_API.to_owned(),
            keys,
            client: tokio::sync::Mutex::new(None),
            installations: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(INSTALLATION_TTL)
                .build(),
        }
    }

    /// Another API root (GitHub Enterprise Server's `https://HOST/api/v3`, or a test server).
    pub fn base_uri(mut self, uri: impl Into<String>) -> Self {
        self.base_uri = uri.into().trim_end_matches('/').to_owned();
        self
    }

    /// The App id.
    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    /// Mints a token for exactly `repo` with exactly `permissions`
    /// (`POST /app/installations/{id}/access_tokens`). The installation must already grant
    /// every permission; otherwise nothing is minted and the missing one is named.
    pub async fn mint(
        &self,
        keys: KeyRequest<'_>,
        repo: &RepoRef,
        permissions: &BTreeMap<String, PermissionLevel>,
    ) -> Result<MintedToken, GithubAppError> {
        if permissions.is_empty() {
            return Err(GithubAppError::Unexpected {
                app_id: self.app_id,
                during: format!("minting for {repo}"),
                problem: "the rule names no permissions; deputy never mints a token with all of the installation's permissions".into(),
            });
        }
        let client = self.client(keys).await?;
        let installation = self.installation(&client, repo).await?;
        self.check_granted(&installation, repo, permissions)?;
        let body = CreateInstallationAccessToken {
            repositories: Some(vec![repo.name().to_owned()]),
            repository_ids: None,
            permissions: Some(
                permissions
                    .iter()
                    .map(|(name, level)| (name.clone(), level_name(*level).to_owned()))
                    .collect(),
            ),
        };
        let minted = client
            .apps()
            .create_installation_access_token(InstallationId(installation.id), &body)
            .await;
        let minted = match minted {
            Ok(minted) => minted,
            Err(e) => {
                let error = self.classify(failure(e), repo, permissions, "minting");
                self.forget_on(&error, repo).await;
                return Err(error);
            }
        };
        let unexpected = |problem: String| GithubAppError::Unexpected {
            app_id: self.app_id,
            during: format!("minting for {repo}"),
            problem,
        };
        if let Some(repos) = &minted.repositories {
            let names: Vec<&str> = repos.iter().map(|r| r.name.as_str()).collect();
            if names.len() != 1 || !names[0].eq_ignore_ascii_case(repo.name()) {
                return Err(unexpected(format!(
                    "the token covers repositories {names:?}, not exactly [{:?}]; it was not used",
                    repo.name()
                )));
            }
        }
        let expires_at = minted
            .expires_at
            .as_deref()
            .ok_or_else(|| unexpected("the token has no expires_at; it was not used".into()))
            .and_then(|at| {
                chrono::DateTime::parse_from_rfc3339(at)
                    .map(SystemTime::from)
                    .map_err(|_| unexpected(format!("expires_at {at:?} is not RFC 3339")))
            })?;
        Ok(MintedToken {
            token: AccessToken::new(minted.token),
            expires_at,
            installation_id: installation.id,
            repo: repo.clone(),
        })
    }

    /// Revokes an installation token (`DELETE /installation/token`, authenticated with the
    /// token itself). Revoking a token GitHub no longer accepts is not an error.
    pub async fn revoke(&self, token: &AccessToken) -> Result<Revocation, GithubAppError> {
        let client = token_client(&self.base_uri, self.app_id, token)?;
        let url = format!("{}/installation/token", self.base_uri);
        let during = format!("revoking installation token {}", token.fingerprint());
        let response =
            client
                ._delete(url, None::<&()>)
                .await
                .map_err(|e| GithubAppError::Unavailable {
                    app_id: self.app_id,
                    during: during.clone(),
                    message: failure(e).message,
                })?;
        match response.status().as_u16() {
            204 | 200 => Ok(Revocation::Revoked),
            401 => Ok(Revocation::AlreadyInvalid),
            status if status >= 500 => Err(GithubAppError::Unavailable {
                app_id: self.app_id,
                during,
                message: format!("HTTP {status}"),
            }),
            status => Err(GithubAppError::Unexpected {
                app_id: self.app_id,
                during,
                problem: format!("HTTP {status}"),
            }),
        }
    }

    async fn client(&self, keys: KeyRequest<'_>) -> Result<Octocrab, GithubAppError> {
        let mut client = self.client.lock().await;
        if let Some(client) = client.as_ref() {
            return Ok(client.clone());
        }
        let key = self
            .keys
            .load(keys)
            .await
            .map_err(|e| GithubAppError::key(self.app_id, e))?;
        let built = app_client(&self.base_uri, self.app_id, &key, &self.keys.describe())?;
        *client = Some(built.clone());
        Ok(built)
    }

    /// The owner's installation, looked up once (`GET /repos/{owner}/{repo}/installation`)
    /// however many tasks ask at the same time.
    async fn installation(
        &self,
        client: &Octocrab,
        repo: &RepoRef,
    ) -> Result<Arc<Installation>, GithubAppError> {
        let route = format!("/repos/{}/{}/installation", repo.owner(), repo.name());
        self.installations
            .try_get_with(repo.owner().to_ascii_lowercase(), async {
                client
                    .get::<Installation, _, ()>(route, None)
                    .await
                    .map(Arc::new)
                    .map_err(|e| {
                        self.classify(
                            failure(e),
                            repo,
                            &BTreeMap::new(),
                            "looking up the installation",
                        )
                    })
            })
            .await
            .map_err(|e| (*e).clone())
            .inspect_err(|e| {
                if matches!(e, GithubAppError::AppRejected { .. }) {
                    self.forget_client();
                }
            })
    }

    fn check_granted(
        &self,
        installation: &Installation,
        repo: &RepoRef,
        permissions: &BTreeMap<String, PermissionLevel>,
    ) -> Result<(), GithubAppError> {
        for (name, requested) in permissions {
            let granted = installation.permissions.get(name);
            let enough = matches!(
                (granted.map(String::as_str), requested),
                (Some("read" | "write" | "admin"), PermissionLevel::Read)
                    | (Some("write" | "admin"), PermissionLevel::Write)
            );
            if !enough {
                return Err(GithubAppError::MissingPermission {
                    app_id: self.app_id,
                    repo: repo.to_string(),
                    permission: name.clone(),
                    requested: *requested,
                    granted: granted.cloned(),
                });
            }
        }
        Ok(())
    }

    fn classify(
        &self,
        failure: Failure,
        repo: &RepoRef,
        permissions: &BTreeMap<String, PermissionLevel>,
        doing: &str,
    ) -> GithubAppError {
        let app_id = self.app_id;
        let repo_name = repo.to_string();
        match failure.status {
            Some(401) => GithubAppError::AppRejected {
                app_id,
                repo: repo_name,
                message: failure.message,
            },
            Some(404) => GithubAppError::NotInstalled {
                app_id,
                repo: repo_name,
                message: failure.message,
            },
            Some(status @ (403 | 422)) => GithubAppError::Refused {
                app_id,
                repo: repo_name,
                permissions: describe_permissions(permissions),
                status,
                message: failure.message,
            },
            Some(status) if status >= 500 => GithubAppError::Unavailable {
                app_id,
                during: format!("{doing} for {repo_name}"),
                message: format!("HTTP {status}: {}", failure.message),
            },
            None if !failure.unreadable => GithubAppError::Unavailable {
                app_id,
                during: format!("{doing} for {repo_name}"),
                message: failure.message,
            },
            status => GithubAppError::Unexpected {
                app_id,
                during: format!("{doing} for {repo_name}"),
                problem: match status {
                    Some(status) => format!("HTTP {status}: {}", failure.message),
                    None => failure.message,
                },
            },
        }
    }

    /// Drops what an error shows may be stale: the owner's installation, or the App client.
    async fn forget_on(&self, error: &GithubAppError, repo: &RepoRef) {
        if error.invalidates_installation() {
            self.installations
                .invalidate(&repo.owner().to_ascii_lowercase())
                .await;
        }
        if matches!(error, GithubAppError::AppRejected { .. }) {
            self.forget_client();
        }
    }

    fn forget_client(&self) {
        if let Ok(mut client) = self.client.try_lock() {
            *client = None;
        }
    }
}
