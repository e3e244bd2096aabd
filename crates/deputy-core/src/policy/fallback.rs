//! `[fallback.<integration>]`: the shared secret the Secrets Manager fallback may read.
//!
//! A rule allows the fallback (`secrets_manager_fallback = true`); this table says *which*
//! secret serves it and how to read it. Whether the fallback is switched on at all is a
//! deployment flag (`DEPUTY_FALLBACK=secrets-manager`), not part of the table.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Rule;
use super::error::{Problem, line_col};
use super::schema::{ConsentName, FallbackEntry, FallbackShapeName, FlowName, RuleEntry};
use crate::Integration;

/// How the secret's value holds the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum FallbackFormat {
    /// The whole value is the token (a GitHub PAT).
    Raw,
    /// A JSON object with the token (and optionally its expiry) in named fields.
    Json {
        /// The field holding the token (default `access_token`).
        token_field: String,
        /// The field holding the expiry (Unix seconds or RFC 3339), if any.
        expires_field: Option<String>,
    },
}

/// A role to assume to read a secret kept in another (central) account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssumeRole {
    /// The role's ARN.
    pub role_arn: String,
    /// The external id the role's trust policy requires, if any.
    pub external_id: Option<String>,
}

/// The shared secret for one integration.
///
/// ```
/// use deputy_core::policy::{FallbackFormat, PolicyTable};
/// let mut text = PolicyTable::built_in_source().replace(
///     "id = \"github-service-read\"",
///     "id = \"github-service-read\"\nsecrets_manager_fallback = true",
/// );
/// text.push_str("\n[fallback.github]\nsecret_id = \"github-pat\"\nshape = \"raw\"\n");
/// let table = PolicyTable::from_toml("p.toml", &text).unwrap();
/// let secret = table.fallback_secret(&deputy_core::Integration::Github).unwrap();
/// assert_eq!(secret.format, FallbackFormat::Raw);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FallbackSecret {
    /// The secret's name or ARN.
    pub secret_id: String,
    /// How to read the token out of it.
    pub format: FallbackFormat,
    /// The role to assume first, for a secret in a central account.
    pub assume_role: Option<AssumeRole>,
}

pub(crate) fn compile(
    integration: &str,
    entry: FallbackEntry,
    line: usize,
    problems: &mut Vec<Problem>,
) -> Option<FallbackSecret> {
    let before = problems.len();
    let mut problem = |message: String| {
        problems.push(Problem {
            line: Some(line),
            message,
        })
    };
    if entry.secret_id.is_empty() || entry.secret_id.len() > 2048 {
        problem(format!(
            "fallback.{integration}: secret_id must be a secret name or ARN (1-2048 characters)"
        ));
    }
    let format = match entry.shape {
        FallbackShapeName::Raw => {
            if entry.token_field.is_some() || entry.expires_field.is_some() {
                problem(format!(
                    "fallback.{integration}: token_field and expires_field apply only to shape = \"json\""
                ));
            }
            FallbackFormat::Raw
        }
        FallbackShapeName::Json => FallbackFormat::Json {
            token_field: entry
                .token_field
                .unwrap_or_else(|| "access_token".to_owned()),
            expires_field: entry.expires_field,
        },
    };
    let assume_role = match (entry.role_arn, entry.external_id) {
        (Some(role_arn), external_id) => {
            if !is_role_arn(&role_arn) {
                problem(format!(
                    "fallback.{integration}: role_arn {role_arn:?} is not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)"
                ));
            }
            Some(AssumeRole {
                role_arn,
                external_id,
            })
        }
        (None, Some(_)) => {
            problem(format!(
                "fallback.{integration}: external_id needs role_arn"
            ));
            None
        }
        (None, None) => None,
    };
    (problems.len() == before).then_some(FallbackSecret {
        secret_id: entry.secret_id,
        format,
        assume_role,
    })
}

/// Whether a rule may allow the fallback. A shared secret must never stand in for a user where
/// the table promised that user's own credential or nothing: not on a deny, an on-behalf-of, a
/// fail-closed or a fresh-consent rule (a throttling error a caller can provoke would otherwise
/// swap the user's token for the shared secret). On a plain (prompt) user-federation rule it is
/// allowed only with `fallback_replaces_user = true`.
pub(crate) fn check_rule_fallback(id: &str, entry: &RuleEntry, problem: &mut impl FnMut(String)) {
    if entry.fallback_replaces_user
        && !(entry.secrets_manager_fallback && entry.flow == FlowName::UserFederation)
    {
        problem(format!(
            "rule {id:?}: fallback_replaces_user applies only to a flow = \"user_federation\" rule with secrets_manager_fallback = true"
        ));
    }
    if !entry.secrets_manager_fallback {
        return;
    }
    let refused = match entry.flow {
        FlowName::Deny => Some("a deny rule issues no credential"),
        FlowName::OnBehalfOf => Some(
            "an on-behalf-of token carries the user's identity, and the shared secret does not",
        ),
        FlowName::UserFederation if entry.consent == Some(ConsentName::FailClosed) => Some(
            "a fail-closed rule serves the user's own token or nothing, never another credential",
        ),
        FlowName::UserFederation if entry.consent_max_age_secs.is_some() => {
            Some("a fresh-consent rule serves only a token the user just consented to")
        }
        _ => None,
    };
    if let Some(why) = refused {
        problem(format!(
            "rule {id:?}: cannot allow the Secrets Manager fallback: {why} (a throttling error a caller can provoke would swap it for the shared secret)"
        ));
    } else if entry.flow == FlowName::UserFederation && !entry.fallback_replaces_user {
        problem(format!(
            "rule {id:?}: the Secrets Manager fallback would replace the user's own token with the shared secret; set fallback_replaces_user = true if you accept that (each such issuance says so in its audit record), or remove secrets_manager_fallback"
        ));
    }
}

fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if partition.starts_with("aws")
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty()))
}

/// Compiles `[fallback.*]`, and checks that every rule allowing the fallback has a secret for
/// each integration it covers and that no secret is configured that no rule allows.
pub(super) fn compile_all(
    entries: BTreeMap<String, toml::Spanned<FallbackEntry>>,
    rules: &[Rule],
    integrations: &[Integration],
    text: &str,
    problems: &mut Vec<Problem>,
) -> BTreeMap<Integration, FallbackSecret> {
    let mut secrets = BTreeMap::new();
    for (name, spanned) in entries {
        let line = line_col(text, spanned.span().start).0;
        let integration = match name.parse::<Integration>() {
            Ok(i) => i,
            Err(e) => {
                problems.push(Problem {
                    line: Some(line),
                    message: format!("fallback.{name}: {e}"),
                });
                continue;
            }
        };
        let allowed = rules
            .iter()
            .any(|r| r.decision.secrets_manager_fallback && r.integrations.matches(&integration));
        if !allowed {
            problems.push(Problem {
                line: Some(line),
                message: format!("fallback.{name}: no rule allows the fallback for {name}; set secrets_manager_fallback = true on a rule, or remove this secret"),
            });
        }
        if let Some(secret) = compile(&name, spanned.into_inner(), line, problems) {
            secrets.insert(integration, secret);
        }
    }
    for rule in rules.iter().filter(|r| r.decision.secrets_manager_fallback) {
        for integration in integrations.iter().filter(|i| rule.integrations.matches(i)) {
            if !secrets.contains_key(integration) {
                problems.push(Problem {
                    line: Some(rule.line),
                    message: format!(
                        "rule {:?} allows the Secrets Manager fallback for {integration}, but [fallback.{integration}] names no secret",
                        rule.id
                    ),
                });
            }
        }
    }
    secrets
}

#[cfg(test)]
mod tests {
    use super::is_role_arn;

    #[test]
    fn role_arns() {
        assert!(is_role_arn(
            "arn:aws:iam::111122223333:role/central-secrets-reader"
        ));
        assert!(is_role_arn("arn:aws-us-gov:iam::111122223333:role/path/r"));
        assert!(!is_role_arn("arn:aws:iam::1111:role/r"));
        assert!(!is_role_arn("arn:aws:iam::111122223333:user/u"));
        assert!(!is_role_arn("arn:aws:sts::111122223333:role/r"));
    }
}
