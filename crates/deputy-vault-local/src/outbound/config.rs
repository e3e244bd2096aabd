//! `[outbound_http]`: the limits on every request the vault makes to an IdP.

use serde::Deserialize;

/// Limits on the vault's outbound HTTP: token endpoints, discovery documents and JWKS.
///
/// Every request gets both timeouts, and a response body is read up to
/// `max_response_bytes`; past any of them the request fails with an error that names the
/// limit. In TOML:
///
/// ```
/// use deputy_vault_local::VaultConfig;
/// let config = VaultConfig::from_toml_str(
///     "[outbound_http]\nconnect_timeout_ms = 1000\ntimeout_ms = 5000",
/// ).unwrap();
/// assert_eq!(config.outbound_http.timeout_ms, 5000);
/// assert_eq!(config.outbound_http.max_response_bytes, 1024 * 1024);
/// ```
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundHttpConfig {
    /// Longest wait for a TCP (and TLS) connection, in milliseconds (default 3000).
    pub connect_timeout_ms: u64,
    /// Longest a whole request may take, from connecting to the last body byte, in
    /// milliseconds (default 10000).
    pub timeout_ms: u64,
    /// Largest response body read, in bytes (default 1 MiB).
    pub max_response_bytes: usize,
}

impl Default for OutboundHttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout_ms: 3_000,
            timeout_ms: 10_000,
            max_response_bytes: 1024 * 1024,
        }
    }
}
