//! `deputy exec`: resolve tokens, put them in one child process's environment, run it.
//!
//! In the style of `aws-vault exec`: the tokens exist in the child's environment only (never on
//! deputy's stdout, stderr or logs), and on Unix deputy replaces itself with the child, so the
//! exit code and signals are the child's own. When a token needs the user's consent, the links
//! are printed and the command is not run (exit 3).

use std::fmt;
use std::process::ExitCode;
use std::str::FromStr;

use clap::Args;
use deputy::{AccessToken, ResolveError};
use deputy_core::{Integration, Operation, RepoRef};

use crate::task_args::{ResolverArgs, TaskArgs};

/// Arguments of `deputy exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// A variable to set in the child: `NAME=INTEGRATION:OP[:OWNER/REPO]`, e.g.
    /// `GITHUB_TOKEN=github:write:acme/app` or `LINEAR_API_TOKEN=linear:read` (repeatable).
    #[arg(
        long = "env",
        value_name = "NAME=INTEGRATION:OP[:OWNER/REPO]",
        required = true
    )]
    env: Vec<EnvSpec>,
    #[command(flatten)]
    task: TaskArgs,
    #[command(flatten)]
    resolver: ResolverArgs,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

/// One `--env` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSpec {
    name: String,
    integration: Integration,
    operation: Operation,
    repo: Option<RepoRef>,
}

impl FromStr for EnvSpec {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let usage = || {
            format!(
                "--env {value:?}: expected NAME=INTEGRATION:OP[:OWNER/REPO], e.g. GITHUB_TOKEN=github:write:acme/app"
            )
        };
        let (name, request) = value.split_once('=').ok_or_else(usage)?;
        let mut bytes = name.bytes();
        let name_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !name_ok {
            return Err(format!(
                "--env {value:?}: {name:?} is not an environment variable name (letters, digits and _, not starting with a digit)"
            ));
        }
        let mut parts = request.splitn(3, ':');
        let (Some(integration), Some(operation)) = (parts.next(), parts.next()) else {
            return Err(usage());
        };
        let integration = integration
            .parse()
            .map_err(|e| format!("--env {value:?}: {e}"))?;
        let operation = operation
            .parse()
            .map_err(|e| format!("--env {value:?}: {e}"))?;
        let repo = parts
            .next()
            .map(|repo| repo.parse().map_err(|e| format!("--env {value:?}: {e}")))
            .transpose()?;
        Ok(EnvSpec {
            name: name.to_owned(),
            integration,
            operation,
            repo,
        })
    }
}

impl fmt::Display for EnvSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}:{}", self.name, self.integration, self.operation)?;
        match &self.repo {
            Some(repo) => write!(f, ":{repo}"),
            None => Ok(()),
        }
    }
}

/// What `deputy exec` leaves to do once the async runtime is gone: run the child, or exit.
pub enum Prepared {
    /// Run this command (its environment holds the tokens).
    Run(std::process::Command),
    /// Exit without running it.
    Exit(ExitCode),
}

/// Resolves every `--env` token and prepares the child; nothing runs unless all resolved.
pub async fn prepare(args: &ExecArgs) -> Result<Prepared, String> {
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = args.env.iter().find(|spec| !seen.insert(&spec.name)) {
        return Err(format!("--env {}: the variable is set twice", twice.name));
    }
    let resolver = args.resolver.build().await?;
    let task = args.task.task(args.resolver.endpoint.as_deref()).await?;
    let mut tokens: Vec<(&str, AccessToken)> = Vec::with_capacity(args.env.len());
    let mut consents = Vec::new();
    for spec in &args.env {
        let task = match &spec.repo {
            Some(repo) => task.clone().with_repo(repo.clone()),
            None => task.clone(),
        };
        match resolver
            .resolve_token(&task, &spec.integration, spec.operation)
            .await
        {
            Ok(resolved) => tokens.push((&spec.name, resolved.token)),
            Err(ResolveError::ConsentRequired(consent, integration)) => {
                consents.push(format!(
                    "{}: {integration} needs consent from provider {:?}. Open:\n{}",
                    spec.name, consent.provider, consent.authorization_url
                ));
            }
            Err(e) => return Err(format!("--env {spec}: {e}")),
        }
    }
    if !consents.is_empty() {
        for consent in &consents {
            eprintln!("{consent}");
        }
        eprintln!(
            "deputy: not running {:?}: approve the link(s) above, then run the same command again",
            args.command[0]
        );
        return Ok(Prepared::Exit(ExitCode::from(3)));
    }
    let mut command = std::process::Command::new(&args.command[0]);
    command.args(&args.command[1..]);
    for (name, token) in &tokens {
        command.env(name, token.expose());
    }
    Ok(Prepared::Run(command))
}

/// Runs the prepared child: on Unix deputy becomes it (exit code and signals are its own);
/// elsewhere deputy waits and exits with its code.
pub fn run(mut command: std::process::Command) -> ExitCode {
    let program = command.get_program().to_string_lossy().into_owned();
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = command.exec();
        eprintln!("deputy: cannot run {program:?}: {error}");
        ExitCode::from(127)
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8),
        Err(error) => {
            eprintln!("deputy: cannot run {program:?}: {error}");
            ExitCode::from(127)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_requests_name_a_variable_an_integration_an_operation_and_maybe_a_repo() {
        let spec: EnvSpec = "GITHUB_TOKEN=github:write:acme/app".parse().unwrap();
        assert_eq!(spec.name, "GITHUB_TOKEN");
        assert_eq!(spec.integration, Integration::Github);
        assert_eq!(spec.operation, Operation::Write);
        assert_eq!(spec.repo, Some("acme/app".parse().unwrap()));
        assert_eq!(spec.to_string(), "GITHUB_TOKEN=github:write:acme/app");
        let spec: EnvSpec = "LINEAR_API_TOKEN=linear:read".parse().unwrap();
        assert_eq!((spec.repo, spec.operation), (None, Operation::Read));
        for bad in [
            "GITHUB_TOKEN",
            "1X=github:read",
            "A-B=github:read",
            "=github:read",
            "X=github",
            "X=github:delete",
            "X=github:read:not a repo",
        ] {
            assert!(bad.parse::<EnvSpec>().is_err(), "{bad}");
        }
    }
}
