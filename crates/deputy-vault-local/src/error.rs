//! Errors returned by the vault's library API (not the wire errors, see [`crate::aws_error`]).

use std::net::SocketAddr;

/// An error starting, configuring or driving a [`crate::LocalVault`].
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The configuration text is not valid TOML for [`crate::VaultConfig`].
    #[error("invalid vault configuration: {0}")]
    Config(String),
    /// The bind address is not a loopback address and `allow_remote` is off.
    #[error(
        "refusing to bind {0}: the local vault only listens on loopback addresses unless `allow_remote = true` (CLI: --allow-remote)"
    )]
    RemoteBindRefused(SocketAddr),
    /// A file or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the vault was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The SQLite store failed.
    #[error("token store error: {0}")]
    Store(String),
    /// A cryptographic operation failed (key generation, encryption, signing).
    #[error("crypto error: {0}")]
    Crypto(String),
    /// A named dev IdP user does not exist.
    #[error("unknown dev IdP user '{0}' (configured users are listed under [dev_idp.users])")]
    UnknownUser(String),
    /// A request to a running vault (started elsewhere) failed.
    #[error("vault request failed: {0}")]
    Client(String),
    /// The browser emulation of a consent flow failed.
    #[error("browser consent emulation failed: {0}")]
    Browser(String),
}

impl VaultError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
