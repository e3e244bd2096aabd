//! The Python package `deputy` (module `deputy._deputy`): the deputy [`deputy::Resolver`] for
//! Python, built with PyO3 as one abi3 wheel for CPython >= 3.10. See `docs/python.md`.
//!
//! ```no_run
//! // From Python:
//! //   resolver = deputy.Resolver("deputy-agent", endpoint="http://127.0.0.1:8787")
//! //   token = resolver.resolve_linear_token(deputy.Task.headless("t-1"), "read")
//! //   requests.get(url, headers={"Authorization": f"Bearer {token.reveal()}"})
//! ```

mod async_resolver;
mod build;
mod calls;
mod errors;
mod resolver;
mod runtime;
mod settings;
mod task;
mod telemetry;
mod token;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _deputy(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<resolver::Resolver>()?;
    m.add_class::<async_resolver::AsyncResolver>()?;
    m.add_class::<task::Task>()?;
    m.add_class::<token::Token>()?;
    m.add_class::<settings::Verifier>()?;
    m.add_class::<settings::GithubApp>()?;
    m.add_class::<settings::Fallback>()?;
    m.add_function(wrap_pyfunction!(telemetry::init_telemetry, m)?)?;
    m.add_function(wrap_pyfunction!(telemetry::shutdown_telemetry, m)?)?;
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
