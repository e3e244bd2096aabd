//! Building a Rust [`deputy::Resolver`] from the keyword options `Resolver(...)` and
//! `AsyncResolver(...)` share. Unknown options are refused by name.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use deputy::fallback::{DowngradeLatch, SecretReader, SecretsManagerFallback};
use deputy::repo_auth::{AuthorizeFuture, RepoAuthorizer, RepoDecision};
use deputy::vault::{CallPolicy, TokenVault};
use deputy_core::policy::PolicyTable;
use deputy_core::{Operation, RepoRef};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyMapping};

use crate::errors::config_error;
use crate::runtime::block_on;
use crate::settings::{Fallback, GithubApp, Verifier, seconds};

/// Every option a resolver takes besides `workload`.
pub const OPTIONS: &[&str] = &[
    "endpoint",
    "region",
    "policy",
    "features",
    "return_url",
    "orchestrator",
    "verifiers",
    "obo_actors",
    "cache_size",
    "cache_buffer",
    "deadline",
    "consent_session_ttl",
    "opaque_token_ttl",
    "record_user_ids",
    "repo_authorizer",
    "repo_decision_max_age",
    "github_app",
    "fallback",
];

fn opt<'py, T: FromPyObjectOwned<'py>>(
    options: Option<&Bound<'py, PyDict>>,
    name: &str,
) -> PyResult<Option<T>> {
    match options.map(|o| o.get_item(name)).transpose()?.flatten() {
        Some(value) if !value.is_none() => value.extract::<T>().map(Some).map_err(|e| {
            let e: PyErr = e.into();
            config_error(format!("option {name}: {e}"))
        }),
        _ => Ok(None),
    }
}

fn opt_seconds(options: Option<&Bound<'_, PyDict>>, name: &str) -> PyResult<Option<Duration>> {
    opt::<f64>(options, name)?
        .map(|s| seconds(name, s))
        .transpose()
}

/// The decision table: TOML text (a `str`) or a file (a `pathlib.Path`/`os.PathLike`), the
/// built-in one when absent, with `features` switched.
fn policy(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Option<PolicyTable>> {
    let value = options.map(|o| o.get_item("policy")).transpose()?.flatten();
    let features = opt::<Bound<'_, PyMapping>>(options, "features")?;
    let mut table = match value {
        None if features.is_none() => return Ok(None),
        Some(value) if !value.is_none() => {
            if let Ok(text) = value.extract::<String>() {
                PolicyTable::from_toml("policy", &text).map_err(|e| config_error(e.to_string()))?
            } else {
                let path: std::path::PathBuf = py
                    .import("os")?
                    .call_method1("fspath", (value,))?
                    .extract()?;
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| config_error(format!("reading policy {}: {e}", path.display())))?;
                PolicyTable::from_toml(&path.display().to_string(), &text)
                    .map_err(|e| config_error(e.to_string()))?
            }
        }
        _ => PolicyTable::built_in().map_err(|e| config_error(e.to_string()))?,
    };
    if let Some(features) = features {
        for item in features.items()?.iter() {
            let (name, on): (String, bool) = item.extract()?;
            table = table
                .with_feature(&name, on)
                .map_err(|e| config_error(e.to_string()))?;
        }
    }
    Ok(Some(table))
}

/// A Python callable `(principal, repo, op) -> bool | str | None` as a repository authorizer:
/// `True` allows, `False` or a string (the reason) refuses, `None` means "no decision". It runs
/// on a blocking thread, never on the runtime's workers.
struct PyRepoAuthorizer(Arc<Py<PyAny>>);

impl RepoAuthorizer for PyRepoAuthorizer {
    fn authorize<'a>(
        &'a self,
        principal: &'a str,
        repo: &'a RepoRef,
        op: Operation,
    ) -> AuthorizeFuture<'a> {
        let callable = Arc::clone(&self.0);
        let (principal, repo) = (principal.to_owned(), repo.as_str().to_owned());
        Box::pin(async move {
            let asked = tokio::task::spawn_blocking(move || {
                Python::attach(|py| -> PyResult<RepoDecision> {
                    let answer = callable.call1(py, (principal, repo, op.name()))?;
                    let answer = answer.bind(py);
                    if answer.is_none() {
                        Ok(RepoDecision::Unknown)
                    } else if let Ok(reason) = answer.extract::<String>() {
                        Ok(RepoDecision::Deny { reason })
                    } else if answer.is_truthy()? {
                        Ok(RepoDecision::Allow {
                            decided_at: SystemTime::now(),
                        })
                    } else {
                        Ok(RepoDecision::Deny {
                            reason: "the repository authorizer said no".into(),
                        })
                    }
                })
            })
            .await;
            match asked {
                Ok(Ok(decision)) => decision,
                Ok(Err(_)) | Err(_) => RepoDecision::Deny {
                    reason: "the repository authorizer raised an exception".into(),
                },
            }
        })
    }
}

/// Builds the resolver for `workload` from `options`.
pub fn resolver(
    py: Python<'_>,
    workload: String,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<deputy::Resolver> {
    if let Some(options) = options {
        for key in options.keys() {
            let key: String = key.extract()?;
            if !OPTIONS.contains(&key.as_str()) {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "unknown resolver option {key:?}; the options are {OPTIONS:?}"
                )));
            }
        }
    }
    let endpoint: Option<String> = opt(options, "endpoint")?;
    let region: Option<String> = opt(options, "region")?;
    let mut builder = deputy::Resolver::builder().workload(workload);
    if let Some(table) = policy(py, options)? {
        builder = builder.policy(table);
    }
    if let Some(url) = opt::<String>(options, "return_url")? {
        builder = builder.return_url(url);
    }
    if let Some(name) = opt::<String>(options, "orchestrator")? {
        builder = builder.orchestrator(name);
    }
    if let Some(verifiers) = opt::<Bound<'_, PyMapping>>(options, "verifiers")? {
        for item in verifiers.items()?.iter() {
            let (provider, verifier): (String, PyRef<'_, Verifier>) = item.extract()?;
            builder = builder.verifier(provider, verifier.build());
        }
    }
    if let Some(actors) = opt::<Bound<'_, PyMapping>>(options, "obo_actors")? {
        for item in actors.items()?.iter() {
            let (provider, actor): (String, String) = item.extract()?;
            builder = builder.obo_actor(provider, actor);
        }
    }
    let cache_size = opt::<u64>(options, "cache_size")?;
    let cache_buffer = opt_seconds(options, "cache_buffer")?;
    if cache_size.is_some() || cache_buffer.is_some() {
        builder = builder.cache(
            cache_size.unwrap_or(100_000),
            cache_buffer.unwrap_or(Duration::from_secs(60)),
        );
    }
    if let Some(deadline) = opt_seconds(options, "deadline")? {
        builder = builder.deadline(deadline);
    }
    if let Some(ttl) = opt_seconds(options, "consent_session_ttl")? {
        builder = builder.consent_session_ttl(ttl);
    }
    if let Some(ttl) = opt_seconds(options, "opaque_token_ttl")? {
        builder = builder.opaque_token_ttl(ttl);
    }
    if let Some(on) = opt::<bool>(options, "record_user_ids")? {
        builder = builder.record_user_ids(on);
    }
    if let Some(callable) = opt::<Py<PyAny>>(options, "repo_authorizer")? {
        let max_age =
            opt_seconds(options, "repo_decision_max_age")?.unwrap_or(Duration::from_secs(300));
        builder = builder.repo_authorizer(Arc::new(PyRepoAuthorizer(Arc::new(callable))), max_age);
    }
    if let Some(app) = opt::<PyRef<'_, GithubApp>>(options, "github_app")? {
        builder = builder.github_app(app.build());
    }
    let fallback = opt::<PyRef<'_, Fallback>>(options, "fallback")?
        .map(|f| (f.latch_file.clone(), f.enabled, f.secrets_endpoint.clone()));
    let built = block_on(py, async move {
        let sdk = deputy::aws::sdk_config(endpoint.as_deref(), region.as_deref()).await;
        let builder = builder.vault(TokenVault::connect(&sdk, &CallPolicy::default()));
        let builder = match fallback {
            None => builder,
            Some((latch_file, enabled, secrets_endpoint)) => {
                let latch = DowngradeLatch::open(latch_file)
                    .await
                    .map_err(|e| e.to_string())?;
                let secrets = match secrets_endpoint {
                    Some(endpoint) => {
                        deputy::aws::sdk_config(Some(&endpoint), region.as_deref()).await
                    }
                    None => sdk,
                };
                let enabled = enabled.unwrap_or_else(SecretsManagerFallback::enabled_by_env);
                builder.fallback(Arc::new(SecretsManagerFallback::new(
                    SecretReader::new(secrets),
                    latch,
                    enabled,
                )))
            }
        };
        builder.build().map_err(|e| e.to_string())
    });
    built.map_err(config_error)
}
