//! Which credentials can write: the one place that knows each integration's write-capable
//! scopes, and the check that every rule yielding such a credential asks a repository
//! authorizer first.
//!
//! A read and a write of the same integration often get the *same* token (GitHub has no
//! read-only scope for private repositories, and the cache and the vault key tokens by provider
//! and scopes, not by operation), so "is this a write?" is the wrong question. The right one
//! is "can this token write?", and it is answered here for every rule, whatever operations it
//! covers.

use crate::flow::{Flow, PermissionLevel};
use crate::{Integration, Operation};

use super::decision::Decision;
use super::error::Problem;
use super::rule::{INTEGRATION_PLACEHOLDER, Rule};

/// GitHub OAuth scopes that grant no write access of any kind.
///
/// This is an allowlist: every GitHub scope *not* listed here is write-capable. That covers
/// `repo` (full read and write to private and public repositories), `public_repo`,
/// `repo:status`, `repo_deployment`, `workflow`, `delete_repo`, every `write:*` and `admin:*`
/// scope, `gist`, `user`, `project`, `codespace`, and any scope GitHub adds later, so a scope
/// deputy does not know fails safe. An empty scope list is read-only (public data).
pub const GITHUB_READ_ONLY_SCOPES: [&str; 12] = [
    "read:org",
    "read:user",
    "user:email",
    "read:public_key",
    "read:repo_hook",
    "read:gpg_key",
    "read:ssh_signing_key",
    "read:discussion",
    "read:packages",
    "read:project",
    "read:enterprise",
    "read:audit_log",
];

/// Whether an OAuth scope of `integration` lets its token write to a repository.
///
/// Repository authorization is about repositories, so only integrations with repositories
/// declare write-capable scopes: today GitHub (see [`GITHUB_READ_ONLY_SCOPES`]). Another
/// integration declares its own by adding an arm here.
///
/// ```
/// use deputy_core::Integration;
/// use deputy_core::policy::scope_can_write;
/// assert!(scope_can_write(&Integration::Github, "repo"));
/// assert!(scope_can_write(&Integration::Github, "write:packages"));
/// assert!(!scope_can_write(&Integration::Github, "read:org"));
/// assert!(!scope_can_write(&Integration::Linear, "write"));
/// ```
pub fn scope_can_write(integration: &Integration, scope: &str) -> bool {
    match integration {
        Integration::Github => !GITHUB_READ_ONLY_SCOPES.contains(&scope),
        _ => false,
    }
}

impl Decision {
    /// Whether the credential this decision yields for `integration` can write to a
    /// repository: a GitHub App installation token with any write permission, or OAuth scopes
    /// the integration declares write-capable ([`scope_can_write`]). The resolver asks a
    /// repository authorizer before serving such a credential, for reads too.
    ///
    /// ```
    /// use deputy_core::policy::PolicyTable;
    /// use deputy_core::{Integration, Operation, TriggerKind};
    /// let table = PolicyTable::built_in().unwrap();
    /// let read = table
    ///     .decide_cell(&Integration::Github, TriggerKind::Interactive, Operation::Read)
    ///     .unwrap();
    /// assert!(read.token_can_write(&Integration::Github), "`repo` can write");
    /// assert!(read.repo_authorization);
    /// ```
    pub fn token_can_write(&self, integration: &Integration) -> bool {
        match &self.flow {
            Flow::Deny { .. } => false,
            Flow::GithubApp { permissions } => permissions
                .values()
                .any(|level| *level == PermissionLevel::Write),
            _ => self.scopes.iter().any(|s| scope_can_write(integration, s)),
        }
    }
}

/// What identifies one credential: rules that agree on all of it get the same token from the
/// cache and from the vault, whatever operation each covers.
#[derive(PartialEq, Eq)]
struct Credential {
    flow: &'static str,
    provider: String,
    scopes: Vec<String>,
    audiences: Vec<String>,
    resources: Vec<String>,
}

fn credential(rule: &Rule, integration: &Integration) -> Option<Credential> {
    let d = &rule.decision;
    let provider = d.provider.as_deref()?;
    let sorted = |list: &[String]| {
        let mut list = list.to_vec();
        list.sort();
        list.dedup();
        list
    };
    Some(Credential {
        flow: d.flow.name(),
        provider: provider.replace(INTEGRATION_PLACEHOLDER, integration.name()),
        scopes: sorted(&d.scopes),
        audiences: sorted(&d.audiences),
        resources: sorted(&d.resources),
    })
}

/// Refuses every rule that grants a GitHub write, yields a write-capable token, or shares its
/// credential with a rule that needs repository authorization, unless it sets
/// `repo_authorization = true`. Each problem names the rule and its line.
pub(crate) fn check_write_access(
    rules: &[Rule],
    integrations: &[Integration],
    problems: &mut Vec<Problem>,
) {
    for rule in rules.iter().filter(|r| !r.decision.is_deny()) {
        let d = &rule.decision;
        if d.repo_authorization {
            continue;
        }
        let id = &rule.id;
        let mut problem = |message: String| {
            problems.push(Problem {
                line: Some(rule.line),
                message,
            })
        };
        if rule.integrations.matches(&Integration::Github)
            && rule.operations.matches(&Operation::Write)
        {
            problem(format!(
                "rule {id:?}: GitHub writes need repo_authorization = true (a RepoAuthorizer must allow the repository before a write credential is issued)"
            ));
            continue;
        }
        let covered = || integrations.iter().filter(|i| rule.integrations.matches(i));
        if let Some(integration) = covered().find(|i| d.token_can_write(i)) {
            let why = match &d.flow {
                Flow::GithubApp { .. } => "its installation token has a write permission".into(),
                _ => format!(
                    "scope(s) {} can write",
                    d.scopes
                        .iter()
                        .filter(|s| scope_can_write(integration, s))
                        .map(|s| format!("{s:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            problem(format!(
                "rule {id:?}: yields a write-capable token for {integration} ({why}) without repo_authorization = true, so a read would get a token that can write to a repository no RepoAuthorizer allowed; set repo_authorization = true, or request only read-only scopes"
            ));
            continue;
        }
        let shared = covered().find_map(|integration| {
            let mine = credential(rule, integration)?;
            rules
                .iter()
                .filter(|other| other.decision.repo_authorization)
                .filter(|other| other.integrations.matches(integration))
                .find(|other| credential(other, integration).as_ref() == Some(&mine))
                .map(|other| (integration, other))
        });
        if let Some((integration, other)) = shared {
            problem(format!(
                "rule {id:?}: requests the same {integration} credential as rule {:?} (line {}), which needs repository authorization; the cache and the vault serve both rules the same token, so this one can write too; set repo_authorization = true, or give it its own read-only provider or scopes",
                other.id, other.line
            ));
        }
    }
}
