//! [`Outbound`]: the one HTTP client the vault uses to reach IdPs, and [`OutboundError`].

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::OutboundHttpConfig;
use crate::error::VaultError;

/// Why an outbound request failed. The text names the limit that was hit (and its setting),
/// never a header or a body.
///
/// ```
/// use deputy_vault_local::outbound::OutboundError;
/// let error = OutboundError::Timeout { ms: 10_000, setting: "timeout_ms" };
/// assert_eq!(error.to_string(), "the request timed out after 10000 ms (outbound_http.timeout_ms)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// No answer within `outbound_http.timeout_ms` (or no connection within
    /// `outbound_http.connect_timeout_ms`).
    #[error("the request timed out after {ms} ms (outbound_http.{setting})")]
    Timeout {
        /// The limit, in milliseconds.
        ms: u64,
        /// The setting that holds it.
        setting: &'static str,
    },
    /// The server could not be reached (the text is the transport's reason, e.g.
    /// "Connection refused").
    #[error("the server could not be reached: {0}")]
    Unreachable(String),
    /// The server answered with a non-success status.
    #[error("the server answered HTTP status {0}")]
    Status(u16),
    /// The response body is larger than `outbound_http.max_response_bytes`.
    #[error("the response is larger than {max} bytes (outbound_http.max_response_bytes)")]
    TooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// The response body is not the JSON expected.
    #[error("the response is not the JSON document expected")]
    NotJson,
}

/// The vault's outbound HTTP client: no redirects, both timeouts on every request, bounded
/// response bodies. Cloning is cheap (the connection pool is shared).
///
/// ```
/// use deputy_vault_local::outbound::{Outbound, OutboundHttpConfig};
/// let outbound = Outbound::new(&OutboundHttpConfig::default()).unwrap();
/// let request = outbound.client().get("http://127.0.0.1:9/.well-known/openid-configuration");
/// # let _ = request;
/// ```
#[derive(Debug, Clone)]
pub struct Outbound {
    client: reqwest::Client,
    config: OutboundHttpConfig,
}

impl Outbound {
    /// Builds the client from `[outbound_http]`.
    pub fn new(config: &OutboundHttpConfig) -> Result<Self, VaultError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .timeout(Duration::from_millis(config.timeout_ms))
            .build()
            .map_err(|e| VaultError::Config(format!("building the outbound HTTP client: {e}")))?;
        Ok(Self {
            client,
            config: config.clone(),
        })
    }

    /// The client, to build a request with (send it with [`Outbound::fetch_json`]).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `request` and reads a JSON body of a success status, bounded by
    /// `max_response_bytes`. Holds no lock: callers must not either.
    pub async fn fetch_json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, OutboundError> {
        let mut response = request.send().await.map_err(|e| self.classify(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(OutboundError::Status(status.as_u16()));
        }
        let max = self.config.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX))
        {
            return Err(OutboundError::TooLarge { max });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(&e))? {
            if body.len().saturating_add(chunk.len()) > max {
                return Err(OutboundError::TooLarge { max });
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|_| OutboundError::NotJson)
    }

    fn classify(&self, error: &reqwest::Error) -> OutboundError {
        if error.is_timeout() {
            // reqwest reports a connect timeout as a connect error that is also a timeout.
            if error.is_connect() {
                OutboundError::Timeout {
                    ms: self.config.connect_timeout_ms,
                    setting: "connect_timeout_ms",
                }
            } else {
                OutboundError::Timeout {
                    ms: self.config.timeout_ms,
                    setting: "timeout_ms",
                }
            }
        } else {
            let mut cause: &dyn std::error::Error = error;
            while let Some(next) = cause.source() {
                cause = next;
            }
            OutboundError::Unreachable(cause.to_string())
        }
    }
}
