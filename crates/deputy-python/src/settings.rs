//! Settings objects a resolver is built with: `deputy.Verifier`, `deputy.GithubApp` and
//! `deputy.Fallback`. Each keeps its parameters and makes the Rust value at build time.

use std::sync::Arc;
use std::time::Duration;

use deputy::github_app::{
    AppKeySource, AppPrivateKey, GithubApp as RustGithubApp, KeyFuture, KeyRequest,
    VaultApiKeySource,
};
use deputy::verify::TokenVerifier;
use pyo3::prelude::*;
use secrecy::{ExposeSecret, SecretString};

use crate::errors::config_error;

/// A non-negative, finite number of seconds.
pub fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        config_error(format!(
            "{name} must be a finite number of seconds >= 0, not {value}"
        ))
    })
}

/// Verifies JWTs of one issuer (signature against its JWKS, `iss`, `aud`, `exp`, `nbf`, `act`):
/// on-behalf-of results must have one for their provider.
#[pyclass(module = "deputy", name = "Verifier", frozen)]
#[derive(Clone)]
pub struct Verifier {
    issuer: String,
    jwks_uri: String,
    audiences: Vec<String>,
    require_at_jwt: bool,
    min_refresh: Option<Duration>,
    leeway: Option<Duration>,
}

#[pymethods]
impl Verifier {
    #[new]
    #[pyo3(signature = (issuer, jwks_uri, audiences, *, require_at_jwt=false, min_refresh=None, leeway=None))]
    fn new(
        issuer: String,
        jwks_uri: String,
        audiences: Vec<String>,
        require_at_jwt: bool,
        min_refresh: Option<f64>,
        leeway: Option<f64>,
    ) -> PyResult<Self> {
        if audiences.is_empty() {
            return Err(config_error("a Verifier needs at least one audience"));
        }
        Ok(Verifier {
            issuer,
            jwks_uri,
            audiences,
            require_at_jwt,
            min_refresh: min_refresh.map(|s| seconds("min_refresh", s)).transpose()?,
            leeway: leeway.map(|s| seconds("leeway", s)).transpose()?,
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Verifier(issuer={:?}, jwks_uri={:?}, audiences={:?})",
            self.issuer, self.jwks_uri, self.audiences
        )
    }
}

impl Verifier {
    /// The Rust verifier.
    pub fn build(&self) -> TokenVerifier {
        let mut verifier = TokenVerifier::new(
            self.issuer.clone(),
            self.jwks_uri.clone(),
            self.audiences.clone(),
        )
        .require_at_jwt(self.require_at_jwt);
        if let Some(interval) = self.min_refresh {
            verifier = verifier.min_refresh(interval);
        }
        if let Some(leeway) = self.leeway {
            verifier = verifier.leeway(leeway);
        }
        verifier
    }
}

/// A key held in memory, given as PEM text.
struct InMemoryKey(SecretString);

impl AppKeySource for InMemoryKey {
    fn load<'a>(&'a self, _request: KeyRequest<'a>) -> KeyFuture<'a> {
        Box::pin(async move { Ok(AppPrivateKey::new(self.0.expose_secret())) })
    }

    fn describe(&self) -> String {
        "a PEM key passed to deputy.GithubApp".into()
    }
}

/// The GitHub App that serves rules with `flow = "github_app"`. Its private key comes from a
/// Token Vault API-key provider (`key_provider`, preferred: the key never enters Python) or
/// from `private_key_pem`.
#[pyclass(module = "deputy", name = "GithubApp", frozen)]
pub struct GithubApp {
    app_id: u64,
    key_provider: Option<String>,
    pem: Option<SecretString>,
    base_url: Option<String>,
}

#[pymethods]
impl GithubApp {
    #[new]
    #[pyo3(signature = (app_id, *, key_provider=None, private_key_pem=None, base_url=None))]
    fn new(
        app_id: u64,
        key_provider: Option<String>,
        private_key_pem: Option<String>,
        base_url: Option<String>,
    ) -> PyResult<Self> {
        if key_provider.is_some() == private_key_pem.is_some() {
            return Err(config_error(
                "deputy.GithubApp needs exactly one of key_provider (a Token Vault API-key provider holding the PEM) or private_key_pem",
            ));
        }
        Ok(GithubApp {
            app_id,
            key_provider,
            pem: private_key_pem.map(SecretString::from),
            base_url,
        })
    }

    fn __repr__(&self) -> String {
        let key = match &self.key_provider {
            Some(provider) => format!("key_provider={provider:?}"),
            None => "private_key_pem=<redacted>".to_owned(),
        };
        format!("GithubApp(app_id={}, {key})", self.app_id)
    }
}

impl GithubApp {
    /// The Rust App.
    pub fn build(&self) -> RustGithubApp {
        let keys: Arc<dyn AppKeySource> = match (&self.key_provider, &self.pem) {
            (Some(provider), _) => Arc::new(VaultApiKeySource::new(provider.clone())),
            (None, Some(pem)) => Arc::new(InMemoryKey(pem.clone())),
            (None, None) => Arc::new(VaultApiKeySource::new("github-app-key")),
        };
        let app = RustGithubApp::new(self.app_id, keys);
        match &self.base_url {
            Some(url) => app.base_uri(url.clone()),
            None => app,
        }
    }
}

/// The Secrets Manager fallback (used only where the decision table allows it). `enabled`
/// defaults to the deployment flag `DEPUTY_FALLBACK=secrets-manager`; `latch_file` keeps the
/// principals the vault has served, who are never downgraded.
#[pyclass(module = "deputy", name = "Fallback", frozen)]
pub struct Fallback {
    pub(crate) latch_file: String,
    pub(crate) enabled: Option<bool>,
    pub(crate) secrets_endpoint: Option<String>,
}

#[pymethods]
impl Fallback {
    #[new]
    #[pyo3(signature = (*, latch_file, enabled=None, secrets_endpoint=None))]
    fn new(latch_file: String, enabled: Option<bool>, secrets_endpoint: Option<String>) -> Self {
        Fallback {
            latch_file,
            enabled,
            secrets_endpoint,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Fallback(latch_file={:?}, enabled={:?})",
            self.latch_file, self.enabled
        )
    }
}
