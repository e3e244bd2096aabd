//! Commit trailers that name the person and the task behind a commit made with an App token.
//!
//! An installation token commits as the App (`my-app[bot]`). The trailers put the rest of the
//! actor chain into the commit itself: `Co-authored-by:` for the user when their GitHub identity
//! is known (GitHub shows them as co-author), and a machine-readable `On-behalf-of:` (the
//! IdP-namespaced user id) / `Task-Id:` pair that audit tooling can join with the resolve spans.

use std::fmt;

use deputy_core::TaskId;
use deputy_core::actor::AssertedChain;

/// A user's GitHub identity, as an identity mapping (SCIM, a login table) knows it.
///
/// ```
/// use deputy::github_app::GithubIdentity;
/// let who = GithubIdentity::new("octocat", 583231).with_name("The Octocat");
/// assert_eq!(who.noreply_email(), "583231+octocat@users.noreply.github.com");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubIdentity {
    /// The login.
    pub login: String,
    /// The numeric user id (stable across login renames).
    pub id: u64,
    /// The display name, if known.
    pub name: Option<String>,
    /// A verified commit email, if known; else the `noreply` address is used.
    pub email: Option<String>,
}

impl GithubIdentity {
    /// An identity from a login and numeric id.
    pub fn new(login: impl Into<String>, id: u64) -> Self {
        GithubIdentity {
            login: login.into(),
            id,
            name: None,
            email: None,
        }
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the commit email.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// GitHub's `noreply` address, which attributes the commit to the account.
    pub fn noreply_email(&self) -> String {
        format!("{}+{}@users.noreply.github.com", self.id, self.login)
    }
}

/// The trailers for one commit, in the order they are written.
///
/// ```
/// use deputy::github_app::{CommitTrailers, GithubIdentity};
/// use deputy_core::actor::AssertedChain;
/// use deputy_core::{TaskId, UserId};
/// let chain = AssertedChain {
///     user: Some(UserId::parse("okta+42").unwrap()),
///     orchestrator: None,
///     agent: "deputy-agent".into(),
///     workload: None,
/// };
/// let task = TaskId::new("task-7").unwrap();
/// let trailers = CommitTrailers::new(&chain, &task, Some(&GithubIdentity::new("octocat", 1)));
/// assert_eq!(
///     trailers.to_string(),
///     "Co-authored-by: octocat <1+octocat@users.noreply.github.com>\nOn-behalf-of: okta+42\nTask-Id: task-7"
/// );
/// assert!(trailers.append_to("Fix the build").starts_with("Fix the build\n\nCo-authored-by:"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitTrailers {
    lines: Vec<(&'static str, String)>,
}

impl CommitTrailers {
    /// The trailers for a commit made for `chain`'s user in task `task`. Without a user (a
    /// headless task) only `Task-Id:` is written: the commit names no person it was not for.
    pub fn new(chain: &AssertedChain, task: &TaskId, github: Option<&GithubIdentity>) -> Self {
        let mut lines = Vec::new();
        if let Some(user) = &chain.user {
            if let Some(identity) = github {
                let name = identity
                    .name
                    .as_deref()
                    .map(clean)
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| clean(&identity.login));
                let email = identity
                    .email
                    .as_deref()
                    .map(clean)
                    .filter(|e| !e.is_empty())
                    .unwrap_or_else(|| clean(&identity.noreply_email()));
                lines.push(("Co-authored-by", format!("{name} <{email}>")));
            }
            lines.push(("On-behalf-of", clean(user.as_str())));
        }
        lines.push(("Task-Id", clean(task.as_str())));
        CommitTrailers { lines }
    }

    /// The trailers as `(key, value)` pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.lines.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// `message` with the trailers appended as the final paragraph.
    pub fn append_to(&self, message: &str) -> String {
        format!("{}\n\n{self}", message.trim_end())
    }
}

impl fmt::Display for CommitTrailers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.lines.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{key}: {value}")?;
        }
        Ok(())
    }
}

/// One line, no control characters and no angle brackets: a value from an identity mapping
/// cannot inject another trailer or break the `Name <email>` form.
fn clean(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control() && *c != '<' && *c != '>')
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use deputy_core::UserId;

    fn chain(user: Option<&str>) -> AssertedChain {
        AssertedChain {
            user: user.map(|u| UserId::parse(u).unwrap()),
            orchestrator: Some("orchestrator".into()),
            agent: "agent".into(),
            workload: None,
        }
    }

    #[test]
    fn names_the_user_when_their_github_identity_is_known() {
        let task = TaskId::new("t-1").unwrap();
        let who = GithubIdentity::new("alice-gh", 7)
            .with_name("Alice Liddell")
            .with_email("alice@example.com");
        let trailers = CommitTrailers::new(&chain(Some("okta+alice")), &task, Some(&who));
        assert_eq!(
            trailers.pairs().collect::<Vec<_>>(),
            vec![
                ("Co-authored-by", "Alice Liddell <alice@example.com>"),
                ("On-behalf-of", "okta+alice"),
                ("Task-Id", "t-1"),
            ]
        );
    }

    #[test]
    fn without_a_github_identity_only_the_machine_readable_pair() {
        let task = TaskId::new("t-2").unwrap();
        let trailers = CommitTrailers::new(&chain(Some("okta+bob")), &task, None);
        assert_eq!(trailers.to_string(), "On-behalf-of: okta+bob\nTask-Id: t-2");
    }

    #[test]
    fn headless_names_only_the_task() {
        let task = TaskId::new("nightly").unwrap();
        let who = GithubIdentity::new("ignored", 1);
        let trailers = CommitTrailers::new(&chain(None), &task, Some(&who));
        assert_eq!(trailers.to_string(), "Task-Id: nightly");
    }

    #[test]
    fn identity_values_cannot_inject_trailers() {
        let task = TaskId::new("t-3").unwrap();
        let who = GithubIdentity::new("mallory", 9)
            .with_name("Mallory\nOn-behalf-of: okta+admin")
            .with_email("m@x>\r\nTask-Id: other");
        let text = CommitTrailers::new(&chain(Some("okta+mallory")), &task, Some(&who))
            .append_to("Subject\n\n");
        assert_eq!(text.lines().count(), 5, "{text}");
        let starting = |key: &str| text.lines().filter(|l| l.starts_with(key)).count();
        assert_eq!(
            (starting("On-behalf-of:"), starting("Task-Id:")),
            (1, 1),
            "{text}"
        );
        assert!(
            text.ends_with("On-behalf-of: okta+mallory\nTask-Id: t-3"),
            "{text}"
        );
        assert!(
            text.starts_with("Subject\n\nCo-authored-by: Mallory"),
            "{text}"
        );
    }
}
