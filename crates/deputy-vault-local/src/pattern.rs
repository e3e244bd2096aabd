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
    /// `[^\s?#]+/\.well-known/(openid-configuration|oauth-authorization-server)(/[^\s?#]+)?`.
    DiscoveryUrl,
    /// `[a-zA-Z0-9\s._:/=+@-]*` (tag keys and values).
    Tag,
    /// `[a-zA-Z0-9\-_]+` (token vault ids, the same set as provider names).
    TokenVaultId,
    /// `arn:aws(|-cn|-us-gov):kms:[a-zA-Z0-9-]*:[0-9]{12}:key/[a-zA-Z0-9-]{36}`.
    KmsKeyArn,
}

impl Pattern {
    pub(crate) fn matches(self, value: &str) -> bool {
        match self {
            Self::WorkloadName => {
                all_chars(value, |c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            }
            Self::ProviderName | Self::TokenVaultId => {
                all_chars(value, |c| c.is_ascii_alphanumeric() || "-_".contains(c))
            }
            Self::DiscoveryUrl => discovery_url(value),
            Self::Tag => value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || "._:/=+@-".contains(c)),
            Self::KmsKeyArn => kms_key_arn(value),
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
            Self::DiscoveryUrl => {
                "[^\\s?#]+/\\.well-known/(openid-configuration|oauth-authorization-server)(/[^\\s?#]+)?"
            }
            Self::Tag => "[a-zA-Z0-9\\s._:/=+@-]*",
            Self::TokenVaultId => "[a-zA-Z0-9\\-_]+",
            Self::KmsKeyArn => {
                "arn:aws(|-cn|-us-gov):kms:[a-zA-Z0-9-]*:[0-9]{12}:key/[a-zA-Z0-9-]{36}"
            }
        }
    }
}

/// The prefix of every `sessionUri`.
pub const SESSION_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The whole of `value` matches the model's `DiscoveryUrlType` pattern.
fn discovery_url(value: &str) -> bool {
    const MARK: &str = "/.well-known/";
    let plain = |c: char| !(c.is_whitespace() || c == '?' || c == '#');
    if value.is_empty() || !value.chars().all(plain) {
        return false;
    }
    value.match_indices(MARK).any(|(i, _)| {
        let rest = &value[i + MARK.len()..];
        i > 0
            && ["openid-configuration", "oauth-authorization-server"]
                .iter()
                .any(|doc| {
                    rest.strip_prefix(doc).is_some_and(|tail| {
                        tail.is_empty() || tail.len() > 1 && tail.starts_with('/')
                    })
                })
    })
}

/// The whole of `value` matches the model's `KmsKeyArn` pattern.
fn kms_key_arn(value: &str) -> bool {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let [arn, partition, kms, region, account, key] = parts.as_slice() else {
        return false;
    };
    *arn == "arn"
        && ["aws", "aws-cn", "aws-us-gov"].contains(partition)
        && *kms == "kms"
        && region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && key.strip_prefix("key/").is_some_and(|id| {
            id.len() == 36 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

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
        for good in [
            "https://idp.example/.well-known/openid-configuration",
            "http://127.0.0.1:1/idp/.well-known/oauth-authorization-server",
            "https://idp.example/.well-known/openid-configuration/tenant",
        ] {
            assert!(Pattern::DiscoveryUrl.matches(good), "{good}");
        }
        for bad in [
            "https://idp.example/openid-configuration",
            "https://idp.example/.well-known/openid-configuration?x=1",
            "https://idp.example/.well-known/openid-configuration#frag",
            "https://idp.example/.well-known/openid-configurationX",
            "https://idp.example/.well-known/openid-configuration/",
            "/.well-known/openid-configuration",
            "https://idp example/.well-known/openid-configuration",
        ] {
            assert!(!Pattern::DiscoveryUrl.matches(bad), "{bad}");
        }
        assert!(Pattern::KmsKeyArn.matches(
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        ));
        assert!(!Pattern::KmsKeyArn.matches("arn:aws:kms:us-east-1:1234:key/x"));
        assert!(Pattern::Tag.matches(""));
        assert!(!Pattern::Tag.matches("a<b"));
    }
}
