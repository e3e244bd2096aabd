//! How a credential is obtained: the [`Flow`] a decision picks.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What the OBO exchange presents as the actor token (`actorTokenContent` in AgentCore).
///
/// `M2m` makes the issued token carry an `act` claim naming the agent: delegation.
/// `None` issues a token that is indistinguishable from the user's own: impersonation,
/// which the decision table refuses unless a rule opts in explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorToken {
    /// The workload's own client-credentials token (delegation, `act` present).
    M2m,
    /// An AWS IAM identity token as the actor (delegation).
    AwsIamIdTokenJwt,
    /// No actor token (impersonation).
    None,
}

impl ActorToken {
    /// The AgentCore wire value.
    pub fn wire_name(self) -> &'static str {
        match self {
            ActorToken::M2m => "M2M",
            ActorToken::AwsIamIdTokenJwt => "AWS_IAM_ID_TOKEN_JWT",
            ActorToken::None => "NONE",
        }
    }

    /// Whether the issued token records the agent as actor.
    pub fn is_delegation(self) -> bool {
        !matches!(self, ActorToken::None)
    }
}

/// A GitHub App permission level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionLevel {
    /// Read access.
    Read,
    /// Read and write access.
    Write,
}

/// How the credential for one resolve is obtained.
///
/// ```
/// use deputy_core::flow::{ActorToken, Flow};
/// let obo = Flow::OnBehalfOf { actor: ActorToken::M2m };
/// assert_eq!(obo.oauth2_flow(), Some("ON_BEHALF_OF_TOKEN_EXCHANGE"));
/// assert_eq!(obo.to_string(), "on_behalf_of");
/// assert_eq!(Flow::ApiKey.oauth2_flow(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flow {
    /// 3-legged OAuth through the vault; the user consents in the downstream's own app.
    UserFederation,
    /// RFC 8693 exchange of the user's JWT through the vault.
    OnBehalfOf {
        /// The actor token presented with the exchange.
        actor: ActorToken,
    },
    /// Client credentials through the vault; no user.
    M2m,
    /// A GitHub App installation token scoped to the task's repository.
    GithubApp {
        /// The permissions requested, e.g. `contents = write`.
        permissions: BTreeMap<String, PermissionLevel>,
    },
    /// A static API key from the vault's API-key provider.
    ApiKey,
    /// No credential is issued.
    Deny {
        /// Why, for the person reading the error.
        reason: String,
    },
}

impl Flow {
    /// The `oauth2Flow` value sent to `GetResourceOauth2Token`, for vault OAuth flows.
    pub fn oauth2_flow(&self) -> Option<&'static str> {
        match self {
            Flow::UserFederation => Some("USER_FEDERATION"),
            Flow::OnBehalfOf { .. } => Some("ON_BEHALF_OF_TOKEN_EXCHANGE"),
            Flow::M2m => Some("M2M"),
            Flow::GithubApp { .. } | Flow::ApiKey | Flow::Deny { .. } => None,
        }
    }

    /// The short name used in policies, spans and audit records.
    pub fn name(&self) -> &'static str {
        match self {
            Flow::UserFederation => "user_federation",
            Flow::OnBehalfOf { .. } => "on_behalf_of",
            Flow::M2m => "m2m",
            Flow::GithubApp { .. } => "github_app",
            Flow::ApiKey => "api_key",
            Flow::Deny { .. } => "deny",
        }
    }

    /// Whether the flow needs a user in the loop.
    pub fn needs_user(&self) -> bool {
        matches!(self, Flow::UserFederation | Flow::OnBehalfOf { .. })
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_agentcore() {
        assert_eq!(Flow::UserFederation.oauth2_flow(), Some("USER_FEDERATION"));
        assert_eq!(Flow::M2m.oauth2_flow(), Some("M2M"));
        assert_eq!(
            ActorToken::AwsIamIdTokenJwt.wire_name(),
            "AWS_IAM_ID_TOKEN_JWT"
        );
        assert!(!ActorToken::None.is_delegation());
        assert!(ActorToken::M2m.is_delegation());
    }

    #[test]
    fn only_user_flows_need_a_user() {
        assert!(Flow::UserFederation.needs_user());
        assert!(
            Flow::OnBehalfOf {
                actor: ActorToken::M2m
            }
            .needs_user()
        );
        assert!(!Flow::M2m.needs_user());
        assert!(!Flow::ApiKey.needs_user());
    }
}
