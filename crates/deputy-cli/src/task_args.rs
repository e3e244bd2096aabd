//! The settings `deputy resolve`, `deputy exec` and `deputy git-credential` share: which
//! resolver to build (workload, vault, policy, verifiers) and whom the task acts for.
//!
//! Every setting has an environment variable too, so a credential helper that git starts with
//! no arguments of ours can be configured from the environment. None of them holds a token.

use std::sync::Arc;
use std::time::Duration;

use clap::{ArgAction, Args};
use deputy::repo_auth::RepoAllowList;
use deputy::task::Task;
use deputy::user_jwt::UserJwt;
use deputy::{Resolver, UserToken};
use deputy_core::{RepoRef, TaskId, UserId};
use deputy_vault_local::fetch_user_token;

use crate::policy::PolicySource;
use crate::sign_in::DevIdp;
use crate::verify_arg::VerifyArg;

/// How long a repository allow-list decision stays fresh (it never changes within a process).
const ALLOW_LIST_FRESH_FOR: Duration = Duration::from_secs(3600);

/// Which resolver to build.
#[derive(Debug, Args)]
pub struct ResolverArgs {
    /// The workload identity to act as.
    #[arg(long, env = "DEPUTY_WORKLOAD", default_value = "deputy-agent")]
    pub workload: String,
    /// A local vault endpoint; the real AgentCore endpoint of the region when absent.
    #[arg(long, env = "DEPUTY_VAULT_ENDPOINT")]
    pub endpoint: Option<String>,
    /// The AWS region.
    #[arg(long, env = "DEPUTY_REGION")]
    pub region: Option<String>,
    #[command(flatten)]
    pub source: PolicySource,
    /// The consent return URL (must be on the workload's allow-list), e.g.
    /// `http://127.0.0.1:8788/deputy/callback`.
    #[arg(long, env = "DEPUTY_RETURN_URL")]
    pub return_url: Option<String>,
    /// Verify tokens from a provider: `provider=NAME,issuer=URL,audience=AUD[,jwks=URL]`
    /// (repeatable). On-behalf-of tokens are refused unless their provider is verified.
    #[arg(long = "verify", value_name = "SETTINGS")]
    pub verify: Vec<VerifyArg>,
    /// Declare the actor subject the workload acts as on an on-behalf-of provider:
    /// `PROVIDER=SUBJECT` (repeatable), e.g. `aws-native=0oa1agentclientid`. The resolve then
    /// asserts that subject as the agent, so audit compares the token's `act.sub` with it.
    #[arg(long = "obo-actor", value_name = "PROVIDER=SUBJECT", value_parser = parse_obo_actor)]
    pub obo_actor: Vec<(String, String)>,
    /// A repository (`owner/name`) you vouch the task's user may write to (repeatable, or
    /// comma-separated in the variable). Tokens that can write are refused for any other
    /// repository; with none, every write-capable token fails closed.
    #[arg(
        long = "allow-repo",
        value_name = "OWNER/REPO",
        env = "DEPUTY_ALLOW_REPOS",
        value_delimiter = ','
    )]
    pub allow_repo: Vec<RepoRef>,
}

impl ResolverArgs {
    /// Builds the resolver these settings describe.
    pub async fn build(&self) -> Result<Resolver, String> {
        let policy = self.source.load()?;
        let vault =
            crate::sdk::vault_client(self.endpoint.as_deref(), self.region.as_deref()).await;
        let mut builder = Resolver::builder()
            .policy(policy)
            .vault(vault)
            .workload(&self.workload);
        if let Some(url) = &self.return_url {
            builder = builder.return_url(url);
        }
        for verify in &self.verify {
            builder = builder.verifier(&verify.provider, verify.verifier());
        }
        for (provider, actor) in &self.obo_actor {
            builder = builder.obo_actor(provider, actor);
        }
        if !self.allow_repo.is_empty() {
            builder = builder.repo_authorizer(
                Arc::new(RepoAllowList::new(self.allow_repo.iter().cloned())),
                ALLOW_LIST_FRESH_FOR,
            );
        }
        builder.build().map_err(|e| e.to_string())
    }

    /// The allow-list given with `--allow-repo`.
    pub fn allowed_repos(&self) -> RepoAllowList {
        RepoAllowList::new(self.allow_repo.iter().cloned())
    }
}

/// Whom the task acts for: exactly one of a development-IdP user, a webhook user or nobody.
#[derive(Debug, Args)]
pub struct TaskArgs {
    /// Interactive task for this development-IdP user (the JWT is fetched from the vault's dev IdP).
    #[arg(long, env = "DEPUTY_TASK_USER", conflicts_with_all = ["webhook_user", "headless"])]
    pub user: Option<String>,
    /// Webhook task asserting this user id (`<idp>+<sub>`).
    #[arg(long, env = "DEPUTY_TASK_WEBHOOK_USER", conflicts_with = "headless")]
    pub webhook_user: Option<UserId>,
    /// Headless task (no user).
    #[arg(long, env = "DEPUTY_TASK_HEADLESS", action = ArgAction::SetTrue)]
    pub headless: bool,
    /// The task id.
    #[arg(long, env = "DEPUTY_TASK_ID", default_value = "cli")]
    pub task_id: String,
}

impl TaskArgs {
    /// Builds the task; `endpoint` is the local vault whose dev IdP signs `--user` in.
    pub async fn task(&self, endpoint: Option<&str>) -> Result<Task, String> {
        let task_id = TaskId::new(&self.task_id).map_err(|e| e.to_string())?;
        if let Some(user) = &self.user {
            let endpoint = endpoint
                .ok_or("--user fetches a dev IdP token and needs --endpoint (a local vault)")?;
            let jwt = fetch_user_token(endpoint, user, user, "deputy")
                .await
                .map_err(|e| e.to_string())?;
            // The user is the verified token's own `iss`+`sub`.
            let idp = DevIdp::discover(endpoint).await?;
            let jwt = UserJwt::verify(UserToken::new(jwt), &idp.verifier(), &idp.issuers()?)
                .await
                .map_err(|e| e.to_string())?;
            Ok(Task::interactive(task_id, jwt))
        } else if let Some(user) = &self.webhook_user {
            Ok(Task::webhook(task_id, user.clone()))
        } else if self.headless {
            Ok(Task::headless(task_id))
        } else {
            Err("say who the task is for: --user NAME, --webhook-user ID or --headless".into())
        }
    }
}

/// Parses `--obo-actor PROVIDER=SUBJECT`.
fn parse_obo_actor(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((provider, actor)) if !provider.is_empty() && !actor.is_empty() => {
            Ok((provider.to_owned(), actor.to_owned()))
        }
        _ => Err(format!(
            "`{value}` is not PROVIDER=SUBJECT (e.g. aws-native=0oa1agentclientid)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obo_actor_arguments_need_a_provider_and_a_subject() {
        assert_eq!(
            parse_obo_actor("aws-native=0oa1agent").unwrap(),
            ("aws-native".to_owned(), "0oa1agent".to_owned())
        );
        for bad in ["aws-native", "=0oa1agent", "aws-native=", ""] {
            assert!(
                parse_obo_actor(bad)
                    .unwrap_err()
                    .contains("PROVIDER=SUBJECT"),
                "{bad}"
            );
        }
    }
}
