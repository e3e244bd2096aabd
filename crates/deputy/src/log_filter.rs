//! Log filters that keep other crates' TRACE dumps of capabilities out of a process's logs.
//!
//! deputy never logs a secret, but crates it runs on do at their most verbose levels: the AWS
//! SDK's orchestrator prints every operation's output at TRACE, and the Token Vault's outputs
//! hold consent session URIs (its tokens are redacted by the SDK, the session URI is not);
//! `lambda_runtime` prints the raw invocation event, whose headers carry the user's JWT. Every
//! binary of this workspace caps those targets at DEBUG whatever the operator asks for, and an
//! agent that installs its own subscriber should do the same with [`cap_secret_dumps`].

use tracing_subscriber::EnvFilter;

/// The directives that cap the targets known to dump capabilities (last directive wins).
pub const SECRET_DUMP_CAPS: [&str; 2] = [
    "aws_smithy_runtime::client::orchestrator=debug",
    "lambda_runtime::layers::api_response=debug",
];

/// `filter`, with [`SECRET_DUMP_CAPS`] added.
///
/// ```
/// let filter = deputy::log_filter::cap_secret_dumps(tracing_subscriber::EnvFilter::new("trace"));
/// assert!(filter.to_string().contains("aws_smithy_runtime::client::orchestrator=debug"));
/// ```
pub fn cap_secret_dumps(filter: EnvFilter) -> EnvFilter {
    SECRET_DUMP_CAPS
        .iter()
        .filter_map(|cap| cap.parse().ok())
        .fold(filter, EnvFilter::add_directive)
}
