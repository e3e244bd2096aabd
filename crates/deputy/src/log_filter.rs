//! Log filters that keep other crates' TRACE dumps of capabilities out of a process's logs.
//!
//! deputy never logs a secret, but crates it runs on do at their most verbose levels: the AWS
//! SDK's orchestrator prints every operation's output at TRACE, and the Token Vault's outputs
//! hold consent session URIs (its tokens are redacted by the SDK, the session URI is not);
//! `lambda_runtime` prints the raw invocation event, whose headers carry the user's JWT. Every
//! binary of this workspace caps those targets at DEBUG whatever the operator asks for, and an
//! agent that installs its own subscriber should do the same with [`cap_secret_dumps`].

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;

/// The targets known to dump capabilities at TRACE; they are capped at DEBUG.
pub const SECRET_DUMP_TARGETS: [&str; 2] = [
    "aws_smithy_runtime::client::orchestrator",
    "lambda_runtime::layers::api_response",
];

/// A filter that passes everything except TRACE from [`SECRET_DUMP_TARGETS`]. Add it *beside*
/// the operator's filter (both must pass), so it only ever removes events: `DEPUTY_LOG=off`
/// stays off, and `trace` becomes "trace, but never those dumps".
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::EnvFilter::new("off"))
///     .with(deputy::log_filter::secret_dump_caps());
/// tracing::subscriber::with_default(subscriber, || {
///     assert!(!tracing::enabled!(target: "aws_smithy_runtime::client::orchestrator", tracing::Level::DEBUG));
/// });
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::EnvFilter::new("trace"))
///     .with(deputy::log_filter::secret_dump_caps());
/// tracing::subscriber::with_default(subscriber, || {
///     assert!(!tracing::enabled!(target: "aws_smithy_runtime::client::orchestrator", tracing::Level::TRACE));
///     assert!(tracing::enabled!(target: "aws_smithy_runtime::client::orchestrator", tracing::Level::DEBUG));
///     assert!(tracing::enabled!(target: "deputy", tracing::Level::TRACE));
/// });
/// ```
pub fn secret_dump_caps() -> Targets {
    SECRET_DUMP_TARGETS.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |t, target| t.with_target(*target, LevelFilter::DEBUG),
    )
}
