//! `deputy.Token`: a resolved token whose value shows only through `reveal()`.

use std::time::SystemTime;

use deputy::ResolvedToken;
use pyo3::prelude::*;

/// A resolved token. `repr()`/`str()` show its fingerprint and provenance, never its value;
/// `reveal()` returns the value for the one place that must send it. It cannot be pickled.
#[pyclass(module = "deputy", name = "Token", frozen)]
pub struct Token {
    resolved: ResolvedToken,
}

impl Token {
    /// Wraps a resolved token.
    pub fn new(resolved: ResolvedToken) -> Self {
        Token { resolved }
    }
}

#[pymethods]
impl Token {
    /// The token's value. Send it; do not log it.
    fn reveal(&self) -> &str {
        self.resolved.token.expose()
    }

    /// `sha256:<hex>` of the value: what spans and audit records carry.
    #[getter]
    fn fingerprint(&self) -> String {
        self.resolved.fingerprint().to_string()
    }

    /// The flow that produced it (`user_federation`, `m2m`, `on_behalf_of`, `api_key`, …).
    #[getter]
    fn flow(&self) -> &'static str {
        self.resolved.flow.name()
    }

    /// The decision-table rule that chose the flow.
    #[getter]
    fn rule_id(&self) -> &str {
        &self.resolved.rule_id
    }

    /// Where it came from this time: `vault`, `cache`, `github-app`, `secrets-manager-fallback`.
    #[getter]
    fn source(&self) -> &'static str {
        self.resolved.source.name()
    }

    /// The credential provider, when the flow has one.
    #[getter]
    fn provider(&self) -> Option<&str> {
        self.resolved.provider.as_deref()
    }

    /// When it expires, as an aware UTC `datetime`.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let seconds = self
            .resolved
            .expires_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let datetime = py.import("datetime")?;
        let utc = datetime.getattr("timezone")?.getattr("utc")?;
        datetime
            .getattr("datetime")?
            .call_method1("fromtimestamp", (seconds, utc))
    }

    /// Why the Secrets Manager fallback served it, when it did.
    #[getter]
    fn fallback_reason(&self) -> Option<&str> {
        self.resolved.fallback_reason.as_deref()
    }

    fn __repr__(&self) -> String {
        format!(
            "Token(flow={:?}, rule_id={:?}, source={:?}, fingerprint={:?})",
            self.resolved.flow.name(),
            &*self.resolved.rule_id,
            self.resolved.source.name(),
            self.resolved.fingerprint().to_string(),
        )
    }

    fn __str__(&self) -> String {
        self.__repr__()
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(pyo3::exceptions::PyTypeError::new_err(
            "deputy.Token cannot be pickled: a token is not copied out of the process; resolve it again where it is needed",
        ))
    }
}

/// Lets the caller tell the resolver a key was rejected downstream (rotation to the backup).
pub fn resolved(token: &Token) -> &ResolvedToken {
    &token.resolved
}
