//! Which request headers reach the target: an allow-list, minus any header whose value carries
//! a credential the client sent.

use std::collections::BTreeMap;

use crate::setup::SetupError;

/// Headers that carry credentials and are never forwarded, whatever the configuration says.
const NEVER: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-amz-security-token",
];

/// The allow-list of forwarded headers, lower-cased.
pub(crate) struct ForwardHeaders {
    allowed: Vec<String>,
}

impl ForwardHeaders {
    /// The allow-list, refusing a header that carries credentials or the user's token.
    pub(crate) fn new(names: &[String], user_token_header: &str) -> Result<Self, SetupError> {
        let mut allowed = Vec::with_capacity(names.len());
        for name in names {
            let lower = name.trim().to_ascii_lowercase();
            if NEVER.contains(&lower.as_str()) || lower == user_token_header.to_ascii_lowercase() {
                return Err(SetupError::Config(format!(
                    "forward_headers names {name}, which carries credentials; remove it (the target gets its credential in Authorization)"
                )));
            }
            if lower.is_empty() {
                return Err(SetupError::Config(
                    "forward_headers has an empty header name".into(),
                ));
            }
            allowed.push(lower);
        }
        Ok(ForwardHeaders { allowed })
    }

    /// The allow-listed headers of `headers` whose values contain none of `secrets` (the
    /// user's token, the gateway's own bearer token), with the names as received.
    pub(crate) fn select(
        &self,
        headers: Option<&BTreeMap<String, String>>,
        secrets: &[&str],
    ) -> BTreeMap<String, String> {
        headers
            .into_iter()
            .flatten()
            .filter(|(name, _)| self.allowed.iter().any(|a| a.eq_ignore_ascii_case(name)))
            .filter(|(_, value)| {
                secrets
                    .iter()
                    .all(|secret| secret.is_empty() || !value.contains(secret))
            })
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }
}

/// `value` without a leading `Bearer ` (any case) and surrounding blanks.
pub(crate) fn bearer_value(value: &str) -> &str {
    let value = value.trim();
    match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => value[7..].trim(),
        _ => value,
    }
}
