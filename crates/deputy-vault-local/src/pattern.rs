//! The character-level patterns of the AgentCore Identity service model, checked without a
//! regex engine.

/// A character-level pattern from the service model.
#[derive(Debug, Clone, Copy)]
pub enum Pattern {
    /// `[A-Za-z0-9_.-]+` (workload names).
    WorkloadName,
    /// `[a-zA-Z0-9\-_]+` (credential provider names).
    ProviderName,
    /// Three dot-separated base64url segments (user JWTs).
    Jwt,
    /// `urn:ietf:params:oauth:request_uri:[a-zA-Z0-9-._~]+`.
    SessionUri,
    /// `\w+:(\/?\/?)[^\s]+` (return URLs).
    Url,
    /// `[a-zA-Z0-9\-_\.]+` (custom parameter keys).
    ParamKey,
}

impl Pattern {
    pub(crate) fn matches(self, value: &str) -> bool {
        match self {
            Self::WorkloadName => {
                all_chars(value, |c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            }
            Self::ProviderName => {
                all_chars(value, |c| c.is_ascii_alphanumeric() || "-_".contains(c))
            }
            Self::ParamKey => all_chars(value, |c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            Self::Jwt => {
                let parts: Vec<&str> = value.split('.').collect();
                parts.len() == 3
                    && parts
                        .iter()
                        .all(|p| all_chars(p, |c| c.is_ascii_alphanumeric() || "-_=".contains(c)))
            }
            Self::SessionUri => value.strip_prefix(SESSION_URI_PREFIX).is_some_and(|id| {
                all_chars(id, |c| c.is_ascii_alphanumeric() || "-._~".contains(c))
            }),
            Self::Url => value.split_once(':').is_some_and(|(scheme, rest)| {
                all_chars(scheme, |c| c.is_alphanumeric() || c == '_')
                    && !rest.trim_start_matches('/').is_empty()
                    && !rest.chars().any(char::is_whitespace)
            }),
        }
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::WorkloadName => "[A-Za-z0-9_.-]+",
            Self::ProviderName => "[a-zA-Z0-9\\-_]+",
            Self::Jwt => "[A-Za-z0-9-_=]+.[A-Za-z0-9-_=]+.[A-Za-z0-9-_=]+",
            Self::SessionUri => "urn:ietf:params:oauth:request_uri:[a-zA-Z0-9-._~]+",
            Self::Url => "\\w+:(\\/?\\/?)[^\\s]+",
            Self::ParamKey => "[a-zA-Z0-9\\-_\\.]+",
        }
    }
}

/// The prefix of every `sessionUri`.
pub const SESSION_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

fn all_chars(value: &str, ok: impl Fn(char) -> bool) -> bool {
    !value.is_empty() && value.chars().all(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_accept_and_reject() {
        assert!(Pattern::WorkloadName.matches("deputy-agent_1.0"));
        assert!(!Pattern::WorkloadName.matches("bad name"));
        assert!(Pattern::Jwt.matches("aGVh.cGF5.c2ln"));
        assert!(!Pattern::Jwt.matches("not-a-jwt"));
        assert!(Pattern::SessionUri.matches("urn:ietf:params:oauth:request_uri:abc-123"));
        assert!(!Pattern::SessionUri.matches("urn:ietf:params:oauth:request_uri:"));
        assert!(Pattern::Url.matches("http://127.0.0.1:9/cb"));
        assert!(!Pattern::Url.matches("no scheme here"));
    }
}
