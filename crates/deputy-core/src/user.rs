//! IdP-namespaced user identifiers.
//!
//! # The rule
//!
//! A [`UserId`] is `<prefix>+<sub>`, built only from a *verified* token's `(iss, sub)`:
//!
//! 1. The token's `iss` is looked up in an [`IssuerMap`] after dropping one trailing `/`
//!    (so `https://idp.example/` and `https://idp.example` are the same issuer). The match is
//!    exact otherwise: no prefix guessing from the URL, because two tenants of one IdP product
//!    must never collapse into one namespace.
//! 2. An issuer that is not in the map is refused ([`UserIdError::UnknownIssuer`]); the
//!    operator adds it with the prefix they choose (`cognito`, `okta`, `entra`, …).
//! 3. The prefix is `[a-z][a-z0-9-]{0,31}` and so never contains `+`; the first `+` in a
//!    [`UserId`] therefore always separates prefix from `sub`, and `sub` may contain `+`.
//! 4. `sub` is kept byte for byte (it is case-sensitive in OIDC), must be non-empty printable
//!    ASCII without spaces, and the whole id must fit AgentCore's `userId` limit of 128.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest user id AgentCore Identity accepts (`userId`, 1–128).
pub const MAX_USER_ID_LEN: usize = 128;

/// An IdP-namespaced user identifier, `<prefix>+<sub>`.
///
/// ```
/// use deputy_core::{IssuerMap, UserId};
/// let mut issuers = IssuerMap::new();
/// issuers.insert("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc", "cognito").unwrap();
/// let user = UserId::from_verified_claims(
///     "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc/", "8f1c-42", &issuers).unwrap();
/// assert_eq!(user.as_str(), "cognito+8f1c-42");
/// assert_eq!(user.idp(), "cognito");
/// assert_eq!(user.sub(), "8f1c-42");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId {
    value: String,
    split: usize,
}

/// Why a user id could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserIdError {
    /// The issuer has no configured prefix.
    #[error(
        "issuer {iss:?} is not in the issuer map; add it with the namespace prefix to use (e.g. \"okta\") before accepting its tokens"
    )]
    UnknownIssuer {
        /// The token's issuer.
        iss: String,
    },
    /// The prefix is not `[a-z][a-z0-9-]{0,31}`.
    #[error(
        "invalid IdP prefix {prefix:?}: use 1-32 characters of a-z, 0-9 and '-', starting with a letter"
    )]
    InvalidPrefix {
        /// The rejected prefix.
        prefix: String,
    },
    /// The `sub` is empty or has characters outside printable ASCII.
    #[error("invalid subject: `sub` must be non-empty printable ASCII without spaces")]
    InvalidSub,
    /// The combined id is too long for AgentCore.
    #[error("user id is {len} characters; AgentCore Identity accepts at most {MAX_USER_ID_LEN}")]
    TooLong {
        /// The combined length.
        len: usize,
    },
    /// The prefix already names another issuer.
    #[error(
        "IdP prefix {prefix:?} already names issuer {issuer:?}; give each issuer its own prefix"
    )]
    PrefixTaken {
        /// The prefix.
        prefix: String,
        /// The issuer it names.
        issuer: String,
    },
    /// The string has no `+` separating prefix and sub.
    #[error("user id must have the form <idp>+<sub>")]
    MissingSeparator,
}

impl UserId {
    /// Builds the id from a verified token's `iss` and `sub`, per the rule in the module docs.
    pub fn from_verified_claims(
        iss: &str,
        sub: &str,
        issuers: &IssuerMap,
    ) -> Result<Self, UserIdError> {
        let prefix = issuers
            .prefix_for(iss)
            .ok_or_else(|| UserIdError::UnknownIssuer {
                iss: iss.to_owned(),
            })?;
        Self::from_parts(prefix, sub)
    }

    /// Builds the id from an already-chosen prefix and a subject.
    pub fn from_parts(prefix: &str, sub: &str) -> Result<Self, UserIdError> {
        validate_prefix(prefix)?;
        if sub.is_empty() || !sub.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UserIdError::InvalidSub);
        }
        let len = prefix.len() + 1 + sub.len();
        if len > MAX_USER_ID_LEN {
            return Err(UserIdError::TooLong { len });
        }
        Ok(UserId {
            value: format!("{prefix}+{sub}"),
            split: prefix.len(),
        })
    }

    /// Parses an id previously produced by this type (e.g. asserted by a webhook).
    ///
    /// ```
    /// use deputy_core::UserId;
    /// let user = UserId::parse("okta+00u1+x").unwrap();
    /// assert_eq!((user.idp(), user.sub()), ("okta", "00u1+x"));
    /// assert!(UserId::parse("no-separator").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<Self, UserIdError> {
        let (prefix, sub) = value.split_once('+').ok_or(UserIdError::MissingSeparator)?;
        Self::from_parts(prefix, sub)
    }

    /// The whole id.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The IdP prefix.
    pub fn idp(&self) -> &str {
        &self.value[..self.split]
    }

    /// The subject as the IdP issued it.
    pub fn sub(&self) -> &str {
        &self.value[self.split + 1..]
    }
}

fn validate_prefix(prefix: &str) -> Result<(), UserIdError> {
    let mut chars = prefix.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && prefix.len() <= 32;
    if ok {
        Ok(())
    } else {
        Err(UserIdError::InvalidPrefix {
            prefix: prefix.to_owned(),
        })
    }
}

impl std::str::FromStr for UserId {
    type Err = UserIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UserId::parse(s)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.value)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl Serialize for UserId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.value)
    }
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        UserId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Maps trusted token issuers to the namespace prefix of their users.
///
/// ```
/// use deputy_core::IssuerMap;
/// let mut issuers = IssuerMap::new();
/// issuers.insert("https://example.okta.com", "okta").unwrap();
/// assert_eq!(issuers.prefix_for("https://example.okta.com/"), Some("okta"));
/// assert_eq!(issuers.prefix_for("https://evil.example"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IssuerMap {
    entries: std::collections::BTreeMap<String, String>,
}

impl IssuerMap {
    /// An empty map: every issuer is unknown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces an issuer's prefix. A prefix names one issuer: giving it to a second
    /// one is refused ([`UserIdError::PrefixTaken`]), or two tenants' users with the same `sub`
    /// would be one user id, and a consent one started could be completed by the other.
    ///
    /// ```
    /// use deputy_core::IssuerMap;
    /// let mut issuers = IssuerMap::new();
    /// issuers.insert("https://tenant-a.example", "okta").unwrap();
    /// issuers.insert("https://tenant-a.example/", "okta").unwrap(); // the same issuer
    /// assert!(issuers.insert("https://tenant-b.example", "okta").is_err());
    /// ```
    pub fn insert(&mut self, iss: &str, prefix: &str) -> Result<(), UserIdError> {
        validate_prefix(prefix)?;
        let iss = normalize_issuer(iss);
        if let Some((other, _)) = self
            .entries
            .iter()
            .find(|(other, taken)| *taken == prefix && other.as_str() != iss)
        {
            return Err(UserIdError::PrefixTaken {
                prefix: prefix.to_owned(),
                issuer: other.clone(),
            });
        }
        self.entries.insert(iss.to_owned(), prefix.to_owned());
        Ok(())
    }

    /// The prefix for an issuer, if it is trusted.
    pub fn prefix_for(&self, iss: &str) -> Option<&str> {
        self.entries.get(normalize_issuer(iss)).map(String::as_str)
    }
}

fn normalize_issuer(iss: &str) -> &str {
    iss.strip_suffix('/').unwrap_or(iss)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuers() -> IssuerMap {
        let mut map = IssuerMap::new();
        map.insert("https://idp.example/tenant-a/", "okta").unwrap();
        map.insert("https://idp.example/tenant-b", "okta-b")
            .unwrap();
        map
    }

    #[test]
    fn namespaces_by_exact_issuer() {
        let map = issuers();
        let a = UserId::from_verified_claims("https://idp.example/tenant-a", "42", &map).unwrap();
        let b = UserId::from_verified_claims("https://idp.example/tenant-b/", "42", &map).unwrap();
        assert_eq!(a.as_str(), "okta+42");
        assert_eq!(b.as_str(), "okta-b+42");
        assert_ne!(a, b, "same sub at two issuers must stay two users");
    }

    #[test]
    fn refuses_unknown_and_lookalike_issuers() {
        let map = issuers();
        for iss in [
            "https://idp.example/tenant-a/x",
            "https://idp.example",
            "HTTPS://idp.example/tenant-a",
        ] {
            assert_eq!(
                UserId::from_verified_claims(iss, "42", &map),
                Err(UserIdError::UnknownIssuer { iss: iss.into() })
            );
        }
    }

    #[test]
    fn validates_sub_prefix_and_length() {
        assert_eq!(UserId::from_parts("okta", ""), Err(UserIdError::InvalidSub));
        assert_eq!(
            UserId::from_parts("okta", "a b"),
            Err(UserIdError::InvalidSub)
        );
        assert_eq!(
            UserId::from_parts("okta", "é"),
            Err(UserIdError::InvalidSub)
        );
        assert!(matches!(
            UserId::from_parts("Okta", "1"),
            Err(UserIdError::InvalidPrefix { .. })
        ));
        assert!(matches!(
            UserId::from_parts("a+b", "1"),
            Err(UserIdError::InvalidPrefix { .. })
        ));
        let long = "x".repeat(MAX_USER_ID_LEN - 4);
        assert!(UserId::from_parts("okt", &long).is_ok());
        assert_eq!(
            UserId::from_parts("okta", &long),
            Err(UserIdError::TooLong {
                len: MAX_USER_ID_LEN + 1
            })
        );
    }

    #[test]
    fn parse_splits_on_first_plus_and_round_trips() {
        let user = UserId::parse("entra+a+b").unwrap();
        assert_eq!(user.idp(), "entra");
        assert_eq!(user.sub(), "a+b");
        let json = serde_json::to_string(&user).unwrap();
        assert_eq!(json, "\"entra+a+b\"");
        assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), user);
        assert!(serde_json::from_str::<UserId>("\"nope\"").is_err());
    }
}
