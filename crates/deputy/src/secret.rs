//! Secrets as types: tokens that never reach `Debug`, logs, spans or errors.
//!
//! Each value is shared (`Arc`): a clone, e.g. a cache hit handing out a token, copies no
//! secret bytes, and the one copy is zeroized when its last holder drops it. Its fingerprint's
//! 128 bits are hashed once, on first use, and shared the same way (16 bytes, not the rendered
//! text: a cached token's allocation stays in the allocator's 64-byte class).

use std::fmt;
use std::sync::{Arc, OnceLock};

use deputy_core::audit::TokenFingerprint;
use secrecy::{ExposeSecret, SecretString};

/// The one copy of a secret value and, once asked for, its fingerprint's bits.
struct Shared {
    value: SecretString,
    fingerprint: OnceLock<[u8; 16]>,
}

impl Shared {
    fn new(value: String) -> Arc<Self> {
        Arc::new(Shared {
            value: SecretString::from(value),
            fingerprint: OnceLock::new(),
        })
    }

    fn fingerprint(&self) -> TokenFingerprint {
        let bits = self
            .fingerprint
            .get_or_init(|| TokenFingerprint::bits(self.value.expose_secret()));
        TokenFingerprint::from_bits(*bits)
    }
}

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(Arc<Shared>);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(Shared::new(value.into()))
            }

            /// The value, for the one place that must send it.
            pub fn expose(&self) -> &str {
                self.0.value.expose_secret()
            }

            /// The fingerprint that spans and audit records carry instead of the value
            /// (hashed on first use).
            pub fn fingerprint(&self) -> TokenFingerprint {
                self.0.fingerprint()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.fingerprint())
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.expose() == other.expose()
            }
        }

        impl Eq for $name {}
    };
}

secret_type!(
    /// A downstream access token (OAuth access token, installation token or API key).
    ///
    /// ```
    /// use deputy::AccessToken;
    /// let token = AccessToken::new("gho_secretvalue");
    /// assert!(!format!("{token:?}").contains("secretvalue"));
    /// assert_eq!(token.expose(), "gho_secretvalue");
    /// ```
    AccessToken
);

secret_type!(
    /// A Workload Access Token: buys vault tokens for one workload (and user); useless elsewhere.
    ///
    /// ```
    /// use deputy::WorkloadAccessToken;
    /// let wat = WorkloadAccessToken::new("opaque-wat");
    /// assert!(format!("{wat:?}").starts_with("WorkloadAccessToken(sha256:"));
    /// ```
    WorkloadAccessToken
);

secret_type!(
    /// A user's inbound JWT, kept to mint a JWT-bound WAT and to bind consent sessions.
    ///
    /// ```
    /// use deputy::UserToken;
    /// let jwt = UserToken::new("eyJ.header.sig");
    /// assert!(!format!("{jwt:?}").contains("eyJ"));
    /// ```
    UserToken
);
