//! How hard deputy tries one vault call: bounded retries with jittered exponential backoff
//! and timeouts (both the SDK's standard machinery, configured here), and the circuit
//! breaker around them.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_bedrockagentcore::config::retry::RetryConfig;
use aws_sdk_bedrockagentcore::config::timeout::TimeoutConfig;

use super::TokenVault;
use crate::breaker::BreakerPolicy;

/// Retry, timeout and circuit-breaker settings for the Token Vault client.
///
/// The defaults keep a whole call (all attempts) under five seconds so that a resolve, which
/// makes at most two vault calls, finishes inside the resolver's default deadline.
///
/// ```no_run
/// # async fn run() {
/// use deputy::vault::{CallPolicy, TokenVault};
/// let sdk = deputy::aws::sdk_config(Some("http://127.0.0.1:8787"), None).await;
/// let vault = TokenVault::connect(&sdk, &CallPolicy::default());
/// # let _ = vault; }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallPolicy {
    /// Attempts per call, the first included (the SDK's standard retry mode, which retries
    /// throttling, 5xx, timeouts and connection failures with full-jitter backoff).
    pub max_attempts: u32,
    /// The first backoff; later ones double, each drawn at random below the cap.
    pub initial_backoff: Duration,
    /// The largest backoff between attempts.
    pub max_backoff: Duration,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for one attempt.
    pub attempt_timeout: Duration,
    /// Time for the whole call, retries included.
    pub operation_timeout: Duration,
    /// When to stop calling a vault that cannot answer.
    pub breaker: BreakerPolicy,
}

impl Default for CallPolicy {
    fn default() -> Self {
        CallPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            attempt_timeout: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(5),
            breaker: BreakerPolicy::default(),
        }
    }
}

impl TokenVault {
    /// A vault client built from AWS settings with `policy`'s retries, timeouts and breaker.
    pub fn connect(sdk: &SdkConfig, policy: &CallPolicy) -> TokenVault {
        let config = aws_sdk_bedrockagentcore::config::Builder::from(sdk)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(policy.max_attempts.max(1))
                    .with_initial_backoff(policy.initial_backoff)
                    .with_max_backoff(policy.max_backoff),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(policy.connect_timeout)
                    .operation_attempt_timeout(policy.attempt_timeout)
                    .operation_timeout(policy.operation_timeout)
                    .build(),
            )
            .build();
        TokenVault::new(aws_sdk_bedrockagentcore::Client::from_conf(config))
            .with_breaker(policy.breaker)
    }
}
