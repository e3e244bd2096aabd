//! `deputy git-credential get|store|erase`: git's credential-helper protocol
//! (`git help credential`), answering with a token scoped to the task's repository.
//!
//! git starts the helper with the action as its only argument and writes `key=value` lines on
//! its stdin. For `get`, deputy answers `username=x-access-token` and `password=<token>` only
//! for `<base>/OWNER/REPO(.git)` where the base is one of `--git-base` (default
//! `https://github.com`) and the repository is on the task's `--allow-repo` list; anything else
//! gets no answer, so git reports an authentication failure. `store` and `erase` read their
//! input and write nothing anywhere: the vault, not git, keeps credentials.

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use deputy::ResolveError;
use deputy_core::{Integration, Operation, RepoRef};

use crate::task_args::{ResolverArgs, TaskArgs};

/// The most input git may send (its requests are a few hundred bytes).
const MAX_INPUT_BYTES: u64 = 64 * 1024;

/// Arguments of `deputy git-credential`.
#[derive(Debug, Args)]
pub struct GitCredentialArgs {
    /// The action git asks for.
    action: Action,
    /// Where repositories live: `https://HOST[:PORT]` (repeatable, or comma-separated in the
    /// variable). `http://` is accepted for loopback hosts only.
    #[arg(
        long = "git-base",
        env = "DEPUTY_GIT_BASES",
        value_delimiter = ',',
        default_value = "https://github.com",
        value_parser = parse_base
    )]
    bases: Vec<Base>,
    /// The integration whose token git gets.
    #[arg(
        long = "git-integration",
        env = "DEPUTY_GIT_INTEGRATION",
        default_value = "github"
    )]
    integration: Integration,
    /// The operation to resolve for (a push needs write).
    #[arg(long = "git-op", env = "DEPUTY_GIT_OP", default_value = "read")]
    operation: Operation,
    #[command(flatten)]
    task: TaskArgs,
    #[command(flatten)]
    resolver: ResolverArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Action {
    Get,
    Store,
    Erase,
}

/// A scheme and authority repositories are served from, e.g. `https://github.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Base {
    protocol: String,
    host: String,
}

fn parse_base(value: &str) -> Result<Base, String> {
    let url = reqwest::Url::parse(value).map_err(|e| format!("{value:?}: {e}"))?;
    let host = url
        .host_str()
        .ok_or_else(|| format!("{value:?} names no host"))?;
    let loopback = matches!(host, "127.0.0.1" | "[::1]" | "localhost");
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "{value:?}: tokens are sent over https only (http is accepted for loopback hosts)"
            ));
        }
        other => return Err(format!("{value:?}: unsupported scheme {other:?}")),
    }
    if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
        return Err(format!(
            "{value:?}: give the scheme and host only, e.g. https://github.com"
        ));
    }
    let host = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    Ok(Base {
        protocol: url.scheme().to_owned(),
        host: host.to_ascii_lowercase(),
    })
}

/// What git asked, as far as deputy needs it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Request {
    protocol: Option<String>,
    host: Option<String>,
    path: Option<String>,
}

/// Reads git's `key=value` lines (up to a blank line or the end). Unknown keys are ignored,
/// as the protocol asks; a line without `=` or a NUL byte is an error.
fn parse_request(input: &str) -> Result<Request, String> {
    let mut request = Request::default();
    for line in input.lines() {
        if line.is_empty() {
            break;
        }
        if line.contains('\0') {
            return Err("git sent a NUL byte".into());
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("git sent a line without `=` ({} bytes)", line.len()))?;
        let slot = match key {
            "protocol" => &mut request.protocol,
            "host" => &mut request.host,
            "path" => &mut request.path,
            _ => continue,
        };
        *slot = Some(value.to_owned());
    }
    Ok(request)
}

/// Why a request gets no answer (said on stderr; git then fails the authentication).
fn repository(
    request: &Request,
    bases: &[Base],
    allowed: &deputy::repo_auth::RepoAllowList,
) -> Result<RepoRef, String> {
    let (Some(protocol), Some(host)) = (&request.protocol, &request.host) else {
        return Err("git named no protocol and host".into());
    };
    let host = host.to_ascii_lowercase();
    if !bases
        .iter()
        .any(|b| &b.protocol == protocol && b.host == host)
    {
        return Err(format!(
            "{protocol}://{host} is not a --git-base of this task; no credential"
        ));
    }
    let path = request.path.as_deref().ok_or(
        "git sent no repository path: run `git config credential.useHttpPath true` so each repository gets its own token",
    )?;
    let name = path.strip_suffix(".git").unwrap_or(path);
    let repo: RepoRef = name.parse().map_err(|_| {
        format!("{protocol}://{host}/{path} is not a repository URL (OWNER/REPO); no credential")
    })?;
    if !allowed.contains(&repo) {
        return Err(format!(
            "{repo} is not one of this task's repositories (--allow-repo); no credential"
        ));
    }
    Ok(repo)
}

/// Runs one helper action.
pub async fn run(args: &GitCredentialArgs) -> Result<ExitCode, String> {
    let mut input = String::new();
    std::io::stdin()
        .take(MAX_INPUT_BYTES)
        .read_to_string(&mut input)
        .map_err(|e| format!("git-credential: cannot read git's request: {e}"))?;
    if args.action != Action::Get {
        // The vault keeps credentials; git's store/erase have nothing to do.
        return Ok(ExitCode::SUCCESS);
    }
    let request = parse_request(&input).map_err(|e| format!("git-credential: {e}"))?;
    let repo = match repository(&request, &args.bases, &args.resolver.allowed_repos()) {
        Ok(repo) => repo,
        Err(why) => {
            eprintln!("deputy git-credential: {why}");
            return Ok(ExitCode::SUCCESS);
        }
    };
    let resolver = args.resolver.build().await?;
    let task = args
        .task
        .task(args.resolver.endpoint.as_deref())
        .await?
        .with_repo(repo.clone());
    let resolved = match resolver
        .resolve_token(&task, &args.integration, args.operation)
        .await
    {
        Ok(resolved) => resolved,
        Err(ResolveError::ConsentRequired(consent, _)) => {
            eprintln!(
                "deputy git-credential: {repo} needs consent from provider {:?}; open this link, approve, and run git again:\n{}",
                consent.provider, consent.authorization_url
            );
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(format!("git-credential for {repo}: {e}")),
    };
    let token = resolved.token.expose();
    if token.bytes().any(|b| b.is_ascii_control()) {
        return Err(format!(
            "git-credential for {repo}: the token holds a control character and cannot be given to git"
        ));
    }
    let expiry = resolved
        .expires_at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let answer =
        format!("username=x-access-token\npassword={token}\npassword_expiry_utc={expiry}\n\n");
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(answer.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("git-credential: cannot answer git: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use deputy::repo_auth::RepoAllowList;

    fn github() -> Vec<Base> {
        vec![parse_base("https://github.com").unwrap()]
    }

    fn allowed() -> RepoAllowList {
        RepoAllowList::new(["acme/app".parse().unwrap()])
    }

    fn ask(input: &str) -> Result<RepoRef, String> {
        repository(&parse_request(input).unwrap(), &github(), &allowed())
    }

    #[test]
    fn only_the_tasks_repositories_on_its_bases_get_an_answer() {
        let ok = "protocol=https\nhost=github.com\npath=acme/app.git\n\n";
        assert_eq!(ask(ok).unwrap().as_str(), "acme/app");
        assert_eq!(
            ask("protocol=https\nhost=GitHub.com\npath=acme/app\n")
                .unwrap()
                .as_str(),
            "acme/app"
        );
        for (input, why) in [
            (
                "protocol=https\nhost=github.com\npath=acme/other.git\n",
                "not one of",
            ),
            (
                "protocol=https\nhost=evil.example\npath=acme/app.git\n",
                "not a --git-base",
            ),
            (
                "protocol=http\nhost=github.com\npath=acme/app.git\n",
                "not a --git-base",
            ),
            ("protocol=https\nhost=github.com\n", "useHttpPath"),
            (
                "protocol=https\nhost=github.com\npath=acme/app/../other\n",
                "not a repository",
            ),
            (
                "protocol=https\nhost=github.com\npath=acme/app.git/info/refs\n",
                "not a repository",
            ),
            ("host=github.com\npath=acme/app\n", "no protocol"),
            // Lines after the blank line are not part of the request.
            (
                "protocol=https\n\nhost=github.com\npath=acme/app\n",
                "no protocol",
            ),
        ] {
            let err = ask(input).unwrap_err();
            assert!(err.contains(why), "{input:?}: {err}");
        }
    }

    #[test]
    fn malformed_requests_are_refused_and_bases_send_tokens_over_https_only() {
        assert!(parse_request("protocol=https\nnonsense\n").is_err());
        assert!(parse_request("protocol=ht\0tps\n").is_err());
        assert!(parse_base("http://github.com").is_err());
        assert!(parse_base("https://github.com/acme").is_err());
        assert!(parse_base("https://user@github.com").is_err());
        assert_eq!(
            parse_base("http://127.0.0.1:8080").unwrap(),
            Base {
                protocol: "http".into(),
                host: "127.0.0.1:8080".into()
            }
        );
    }
}
