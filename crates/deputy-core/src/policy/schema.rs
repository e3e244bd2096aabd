//! The policy file as written: TOML, parsed with unknown keys refused.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyFile {
    /// Schema version; only 1 exists.
    pub version: Spanned<u32>,
    /// `dev`, `staging` or `prod`: provider names get this prefix.
    #[serde(default)]
    pub environment: Option<Spanned<String>>,
    /// Every feature the rules may depend on, with its default state.
    #[serde(default)]
    pub features: BTreeMap<String, bool>,
    /// The rules, in file order.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Spanned<RuleEntry>>,
    /// Shared secrets the fallback may read, per integration.
    #[serde(default)]
    pub fallback: BTreeMap<String, Spanned<FallbackEntry>>,
}

/// One `[[rule]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleEntry {
    pub id: String,
    #[serde(default)]
    pub summary: Option<String>,
    pub integrations: Vec<String>,
    pub triggers: Vec<String>,
    pub operations: Vec<String>,
    #[serde(default)]
    pub when: Option<String>,
    #[serde(default)]
    pub unless: Option<String>,
    pub flow: FlowName,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub audiences: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub consent: Option<ConsentName>,
    #[serde(default)]
    pub consent_max_age_secs: Option<u64>,
    #[serde(default)]
    pub secrets_manager_fallback: bool,
    #[serde(default)]
    pub fallback_replaces_user: bool,
    #[serde(default)]
    pub repo_authorization: bool,
    #[serde(default)]
    pub actor_token: Option<crate::flow::ActorToken>,
    #[serde(default)]
    pub allow_impersonation: bool,
    #[serde(default)]
    pub permissions: Option<BTreeMap<String, crate::flow::PermissionLevel>>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub backup_provider: Option<String>,
    #[serde(default)]
    pub pool: Vec<String>,
}

/// One `[fallback.<integration>]` table: the shared secret the Secrets Manager fallback reads.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FallbackEntry {
    pub secret_id: String,
    pub shape: FallbackShapeName,
    #[serde(default)]
    pub token_field: Option<String>,
    #[serde(default)]
    pub expires_field: Option<String>,
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// `shape = "raw" | "json"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FallbackShapeName {
    Raw,
    Json,
}

/// `flow = "…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FlowName {
    UserFederation,
    OnBehalfOf,
    M2m,
    GithubApp,
    ApiKey,
    Deny,
}

/// `consent = "…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ConsentName {
    Prompt,
    FailClosed,
}
