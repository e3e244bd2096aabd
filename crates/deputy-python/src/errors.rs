//! Typed Python exceptions mirroring [`deputy::ResolveError`], [`deputy::task::TaskError`] and
//! the configuration errors.
//!
//! Every resolve failure is a subclass of `deputy.ResolveError` carrying `kind` (the Rust
//! [`RustError::kind`] name) and `integration`; a few carry more (`authorization_url`,
//! `retry_after`, …). The message is the Rust error's text: it names no secret.

use std::time::{Duration, SystemTime};

use deputy::ResolveError as RustError;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::{PyTypeInfo, create_exception};

create_exception!(
    deputy,
    ResolveError,
    PyException,
    "A resolve failed; `kind` and `integration` say how and where."
);
create_exception!(
    deputy,
    ConsentRequired,
    ResolveError,
    "Send the user to `authorization_url`, then retry."
);
create_exception!(
    deputy,
    ConsentFailed,
    ResolveError,
    "The consent session failed or expired."
);
create_exception!(
    deputy,
    PolicyDenied,
    ResolveError,
    "The decision table refuses this request."
);
create_exception!(
    deputy,
    NoRule,
    ResolveError,
    "The decision table has no rule for this cell."
);
create_exception!(
    deputy,
    RepoNotAuthorized,
    ResolveError,
    "The repository authorizer refused the write."
);
create_exception!(
    deputy,
    MissingContext,
    ResolveError,
    "The task lacks a fact the flow needs."
);
create_exception!(
    deputy,
    AccessDenied,
    ResolveError,
    "IAM (or the vault) denied the call."
);
create_exception!(
    deputy,
    NotFound,
    ResolveError,
    "The workload or provider does not exist."
);
create_exception!(
    deputy,
    VaultUnavailable,
    ResolveError,
    "The vault is throttling or unavailable; see `retry_after`."
);
create_exception!(
    deputy,
    InvalidToken,
    ResolveError,
    "A token failed verification."
);
create_exception!(
    deputy,
    GithubAppError,
    ResolveError,
    "GitHub refused or failed to mint an installation token."
);
create_exception!(
    deputy,
    FallbackFailed,
    ResolveError,
    "The vault was unavailable and the fallback failed too."
);
create_exception!(
    deputy,
    DeadlineExceeded,
    ResolveError,
    "No answer within the resolver's deadline."
);
create_exception!(
    deputy,
    ConsentUserMismatch,
    ResolveError,
    "The browser's user did not start this consent; nothing was bound."
);
create_exception!(
    deputy,
    RandomFailed,
    ResolveError,
    "The system random number generator failed."
);
create_exception!(
    deputy,
    CallbackRejected,
    ResolveError,
    "A consent callback did not match a session this resolver started."
);
create_exception!(
    deputy,
    VaultError,
    ResolveError,
    "The vault rejected the request or answered something unexpected."
);
create_exception!(
    deputy,
    TaskError,
    PyValueError,
    "A task cannot be built (e.g. its user disagrees with its WAT's binding)."
);
create_exception!(
    deputy,
    ConfigError,
    PyValueError,
    "A resolver setting is missing or invalid."
);

/// Registers the exception classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ResolveError", py.get_type::<ResolveError>())?;
    macro_rules! add {
        ($($name:ident),*) => { $( m.add(stringify!($name), py.get_type::<$name>())?; )* };
    }
    add!(
        ConsentRequired,
        ConsentFailed,
        PolicyDenied,
        NoRule,
        RepoNotAuthorized,
        MissingContext,
        AccessDenied,
        NotFound,
        VaultUnavailable,
        InvalidToken,
        GithubAppError,
        FallbackFailed,
        DeadlineExceeded,
        ConsentUserMismatch,
        RandomFailed,
        CallbackRejected,
        VaultError,
        TaskError,
        ConfigError
    );
    Ok(())
}

fn epoch_seconds(at: SystemTime) -> f64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// The exception class for a resolve error.
fn class_of<'py>(py: Python<'py>, error: &RustError) -> Bound<'py, pyo3::types::PyType> {
    match error {
        RustError::ConsentRequired(..) => ConsentRequired::type_object(py),
        RustError::ConsentFailed { .. } => ConsentFailed::type_object(py),
        RustError::PolicyDenied { .. } => PolicyDenied::type_object(py),
        RustError::NoRule(_) => NoRule::type_object(py),
        RustError::RepoNotAuthorized { .. } => RepoNotAuthorized::type_object(py),
        RustError::MissingContext { .. } => MissingContext::type_object(py),
        RustError::AccessDenied { .. } => AccessDenied::type_object(py),
        RustError::NotFound { .. } => NotFound::type_object(py),
        RustError::Unavailable { .. } => VaultUnavailable::type_object(py),
        RustError::InvalidToken { .. } => InvalidToken::type_object(py),
        RustError::GithubApp { .. } => GithubAppError::type_object(py),
        RustError::FallbackFailed { .. } => FallbackFailed::type_object(py),
        RustError::DeadlineExceeded { .. } => DeadlineExceeded::type_object(py),
        RustError::ConsentUserMismatch { .. } => ConsentUserMismatch::type_object(py),
        RustError::RandomFailed { .. } => RandomFailed::type_object(py),
        RustError::CallbackRejected(_) => CallbackRejected::type_object(py),
        RustError::Vault { .. } => VaultError::type_object(py),
    }
}

/// The integration a resolve error is about, when it names one.
fn integration_of(error: &RustError) -> Option<String> {
    use RustError as E;
    match error {
        E::ConsentRequired(_, integration)
        | E::ConsentFailed { integration, .. }
        | E::PolicyDenied { integration, .. }
        | E::RepoNotAuthorized { integration, .. }
        | E::MissingContext { integration, .. }
        | E::AccessDenied { integration, .. }
        | E::NotFound { integration, .. }
        | E::Unavailable { integration, .. }
        | E::InvalidToken { integration, .. }
        | E::GithubApp { integration, .. }
        | E::FallbackFailed { integration, .. }
        | E::DeadlineExceeded { integration, .. }
        | E::ConsentUserMismatch { integration, .. }
        | E::RandomFailed { integration } => Some(integration.name().to_owned()),
        E::Vault { integration, .. } => Some(integration.name().to_owned()),
        E::NoRule(_) | E::CallbackRejected(_) => None,
    }
}

/// The Python exception for a resolve error, with its attributes set.
pub fn resolve_error(error: RustError) -> PyErr {
    Python::attach(|py| {
        let class = class_of(py, &error);
        let err = PyErr::from_type(class, error.to_string());
        // Attributes are best effort: a failure to set one must not hide the error itself.
        let _ = set_attributes(py, &err, &error);
        err
    })
}

fn set_attributes(py: Python<'_>, err: &PyErr, error: &RustError) -> PyResult<()> {
    let value = err.value(py);
    value.setattr("kind", error.kind())?;
    value.setattr("integration", integration_of(error))?;
    let retry_after = error.retry_after().map(|d: Duration| d.as_secs_f64());
    value.setattr("retry_after", retry_after)?;
    match error {
        RustError::ConsentRequired(consent, _) => {
            value.setattr("authorization_url", consent.authorization_url.as_str())?;
            value.setattr("session_uri", consent.session_uri.as_str())?;
            value.setattr("provider", consent.provider.as_str())?;
            value.setattr("scopes", consent.scopes.clone())?;
            value.setattr("expires_at", epoch_seconds(consent.expires_at))?;
        }
        RustError::ConsentFailed { provider, .. } | RustError::InvalidToken { provider, .. } => {
            value.setattr("provider", provider.as_str())?;
        }
        RustError::ConsentUserMismatch { provider, .. } => {
            value.setattr("provider", provider.as_deref())?;
        }
        RustError::PolicyDenied {
            rule_id, reason, ..
        } => {
            value.setattr("rule_id", rule_id.as_str())?;
            value.setattr("reason", reason.as_str())?;
        }
        RustError::RepoNotAuthorized {
            repo,
            principal,
            reason,
            ..
        } => {
            value.setattr("repo", repo.as_str())?;
            value.setattr("principal", principal.as_str())?;
            value.setattr("reason", reason.as_str())?;
        }
        RustError::DeadlineExceeded { deadline, .. } => {
            value.setattr("deadline", deadline.as_secs_f64())?;
        }
        RustError::AccessDenied { source, .. }
        | RustError::NotFound { source, .. }
        | RustError::Unavailable { source, .. }
        | RustError::Vault { source, .. } => {
            value.setattr("operation", source.operation)?;
            value.setattr("request_id", source.request_id.as_deref())?;
        }
        _ => {}
    }
    Ok(())
}

/// A `deputy.TaskError` with its `kind`.
pub fn task_error(error: &deputy::task::TaskError) -> PyErr {
    use deputy::task::TaskError as E;
    let kind = match error {
        E::UserMismatch { .. } => "user_mismatch",
        E::UnverifiedInteractive { .. } => "unverified_interactive",
        E::RuntimeHeaders { .. } => "runtime_headers",
        E::RuntimeUserId { .. } => "runtime_user_id",
    };
    kind_error::<TaskError>(kind, error.to_string())
}

/// An exception of class `T` with a `kind` attribute.
pub fn kind_error<T: PyTypeInfo>(kind: &'static str, message: String) -> PyErr {
    Python::attach(|py| {
        let err = PyErr::new::<T, _>(message);
        let _ = err.value(py).setattr("kind", kind);
        err
    })
}

/// A `deputy.ConfigError`.
pub fn config_error(message: impl Into<String>) -> PyErr {
    kind_error::<ConfigError>("config", message.into())
}
