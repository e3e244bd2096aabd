//! Where the App's private key comes from: an [`AppKeySource`].
//!
//! The key signs the App JWT (RS256) that mints installation tokens. It is a secret: held in
//! [`AppPrivateKey`] (a `secrecy` string), shown by `Debug` as a fingerprint only, and never put
//! into errors, logs or spans. [`VaultApiKeySource`] reads it from a Token Vault API-key
//! credential provider whose key is the PEM; other sources (Secrets Manager) implement the trait.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use deputy_core::audit::TokenFingerprint;
use secrecy::{ExposeSecret, SecretString};

use crate::WorkloadAccessToken;
use crate::vault::{TokenVault, VaultError};

/// A GitHub App private key (PEM, PKCS#1 or PKCS#8).
///
/// ```
/// use deputy::github_app::AppPrivateKey;
/// let key = AppPrivateKey::new("-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----\n");
/// assert!(!format!("{key:?}").contains("MIIE"));
/// ```
#[derive(Clone)]
pub struct AppPrivateKey(SecretString);

impl AppPrivateKey {
    /// Wraps a PEM key.
    pub fn new(pem: impl Into<String>) -> Self {
        AppPrivateKey(SecretString::from(pem.into()))
    }

    /// The PEM, for the one place that parses it.
    pub(crate) fn expose_pem(&self) -> &str {
        self.0.expose_secret()
    }

    /// A fingerprint, to tell keys apart in logs without showing them.
    pub fn fingerprint(&self) -> TokenFingerprint {
        TokenFingerprint::of(self.0.expose_secret())
    }
}

impl fmt::Debug for AppPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AppPrivateKey({})", self.fingerprint())
    }
}

/// What a key source may use to fetch the key: the vault and the task's Workload Access Token.
#[derive(Debug, Clone, Copy)]
pub struct KeyRequest<'a> {
    /// The Token Vault client.
    pub vault: &'a TokenVault,
    /// The Workload Access Token of the task that needs a token.
    pub wat: &'a WorkloadAccessToken,
}

/// Why the App's private key could not be loaded. Never carries key material.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyError {
    /// The vault refused or failed the API-key read.
    #[error("reading the GitHub App private key from API-key provider {provider:?}: {source}")]
    Vault {
        /// The credential provider.
        provider: String,
        /// The vault's error.
        source: VaultError,
    },
    /// Another source failed.
    #[error("reading the GitHub App private key from {source_name}: {problem}")]
    Source {
        /// The source, e.g. a secret name.
        source_name: String,
        /// What failed.
        problem: String,
    },
}

/// A boxed future returned by key sources, so they can be trait objects.
pub type KeyFuture<'a> = Pin<Box<dyn Future<Output = Result<AppPrivateKey, KeyError>> + Send + 'a>>;

/// Loads the App's private key.
///
/// ```
/// use deputy::github_app::{AppKeySource, AppPrivateKey, KeyFuture, KeyRequest};
///
/// /// A key held in memory (tests, or a key injected by the platform).
/// struct InMemory(AppPrivateKey);
///
/// impl AppKeySource for InMemory {
///     fn load<'a>(&'a self, _request: KeyRequest<'a>) -> KeyFuture<'a> {
///         Box::pin(async move { Ok(self.0.clone()) })
///     }
///     fn describe(&self) -> String {
///         "an in-memory key".into()
///     }
/// }
/// ```
pub trait AppKeySource: Send + Sync {
    /// The key.
    fn load<'a>(&'a self, request: KeyRequest<'a>) -> KeyFuture<'a>;

    /// Where the key comes from, for error messages (never the key).
    fn describe(&self) -> String;
}

/// The key is the API key of a Token Vault API-key credential provider (`GetResourceApiKey`).
///
/// ```
/// use deputy::github_app::{AppKeySource, VaultApiKeySource};
/// let source = VaultApiKeySource::new("github-app-key");
/// assert_eq!(source.describe(), "Token Vault API-key provider \"github-app-key\"");
/// ```
#[derive(Debug, Clone)]
pub struct VaultApiKeySource {
    provider: String,
}

impl VaultApiKeySource {
    /// Reads the key from `provider`.
    pub fn new(provider: impl Into<String>) -> Self {
        VaultApiKeySource {
            provider: provider.into(),
        }
    }
}

impl AppKeySource for VaultApiKeySource {
    fn load<'a>(&'a self, request: KeyRequest<'a>) -> KeyFuture<'a> {
        Box::pin(async move {
            let key = request
                .vault
                .api_key(request.wat, &self.provider)
                .await
                .map_err(|source| KeyError::Vault {
                    provider: self.provider.clone(),
                    source,
                })?;
            Ok(AppPrivateKey::new(key.expose()))
        })
    }

    fn describe(&self) -> String {
        format!("Token Vault API-key provider {:?}", self.provider)
    }
}
