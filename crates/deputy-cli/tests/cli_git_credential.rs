//! `deputy git-credential` with the real `git`: a clone and a push over smart HTTP to
//! `git http-backend` behind a front that accepts only the token minted for the repository; a
//! push to a repository the task does not own gets no credential; no token is left anywhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use deputy_tests::git_http::{GitServer, git};

mod common;
use common::{consent, deputy, serve, text};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `git` with a private HOME and no system config, never prompting a terminal.
fn git_in(home: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(git());
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1");
    cmd
}

fn ok(out: Output, what: &str) -> String {
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{what}: {stdout}\n{stderr}");
    stdout
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_clones_and_pushes_with_a_repository_scoped_token_and_keeps_none() {
    let (_vault, endpoint) = serve();
    let scratch = Scratch(std::env::temp_dir().join(format!("deputy-git-{}", std::process::id())));
    let (root, home) = (scratch.0.join("repos"), scratch.0.join("home"));
    for dir in [root.join("acme"), home.clone()] {
        std::fs::create_dir_all(dir).unwrap();
    }

    // alice consents once; the vault then holds her GitHub token.
    let repo = ["--repo", "acme/app", "--allow-repo", "acme/app"];
    consent(&endpoint, "github", "write", "alice", &repo).await;
    let out = deputy()
        .args(["resolve", "github", "--op", "write", "--user", "alice"])
        .args(["--endpoint", &endpoint, "--print-token"])
        .args(["--return-url", "http://127.0.0.1:9/deputy/callback"])
        .args(repo)
        .output()
        .unwrap();
    let token = ok(out, "resolve").trim().to_owned();
    assert!(token.len() > 16);

    // Two bare repositories; acme/app gets a first commit (over the file system).
    for name in ["app", "other"] {
        ok(
            git_in(&home, &root)
                .args(["init", "--bare", "-b", "main", &format!("acme/{name}.git")])
                .output()
                .unwrap(),
            "init --bare",
        );
    }
    let helper = format!("!'{}' git-credential", env!("CARGO_BIN_EXE_deputy"));
    for (key, value) in [
        ("user.name", "Alice"),
        ("user.email", "alice@example.com"),
        ("init.defaultBranch", "main"),
        ("credential.helper", helper.as_str()),
        ("credential.useHttpPath", "true"),
    ] {
        ok(
            git_in(&home, &home)
                .args(["config", "--global", key, value])
                .output()
                .unwrap(),
            "config",
        );
    }
    let seed = home.join("seed");
    std::fs::create_dir_all(&seed).unwrap();
    std::fs::write(seed.join("README"), "app\n").unwrap();
    for args in [
        vec!["init", "-q"],
        vec!["add", "README"],
        vec!["commit", "-q", "-m", "first"],
    ] {
        ok(git_in(&home, &seed).args(&args).output().unwrap(), "seed");
    }
    let bare_app = root.join("acme/app.git");
    ok(
        git_in(&home, &seed)
            .args(["push", "-q", bare_app.to_str().unwrap(), "main"])
            .output()
            .unwrap(),
        "seed push",
    );

    let server = GitServer::start(&root).await;
    server.accept("acme/app", &token);
    let base = server.base();
    let helper_env = |cmd: &mut Command| {
        cmd.env("DEPUTY_VAULT_ENDPOINT", &endpoint)
            .env("DEPUTY_TASK_USER", "alice")
            .env("DEPUTY_TASK_ID", "git-task")
            .env("DEPUTY_ALLOW_REPOS", "acme/app")
            .env("DEPUTY_GIT_BASES", &base)
            .env("DEPUTY_GIT_OP", "write")
            .env("DEPUTY_RETURN_URL", "http://127.0.0.1:9/deputy/callback");
    };

    // Clone, commit and push acme/app over HTTP: the helper answers with alice's token.
    let work = home.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mut clone = git_in(&home, &work);
    helper_env(&mut clone);
    let url = format!("{base}/acme/app.git");
    let out = tokio::task::spawn_blocking(move || clone.args(["clone", "-q", &url]).output())
        .await
        .unwrap()
        .unwrap();
    ok(out, "clone");
    let app = work.join("app");
    std::fs::write(app.join("CHANGE"), "by alice's agent\n").unwrap();
    for args in [vec!["add", "CHANGE"], vec!["commit", "-q", "-m", "change"]] {
        ok(git_in(&home, &app).args(&args).output().unwrap(), "commit");
    }
    let mut push = git_in(&home, &app);
    helper_env(&mut push);
    let out =
        tokio::task::spawn_blocking(move || push.args(["push", "-q", "origin", "main"]).output())
            .await
            .unwrap()
            .unwrap();
    ok(out, "push");
    let log = ok(
        git_in(&home, &root)
            .args([
                "--git-dir",
                bare_app.to_str().unwrap(),
                "log",
                "--format=%s",
            ])
            .output()
            .unwrap(),
        "log",
    );
    assert_eq!(log.lines().collect::<Vec<_>>(), ["change", "first"]);

    // A repository the task does not own: no credential, so git cannot authenticate (it
    // would prompt for a user name; prompts are off).
    let mut push = git_in(&home, &app);
    helper_env(&mut push);
    let other = format!("{base}/acme/other.git");
    let out = tokio::task::spawn_blocking(move || push.args(["push", &other, "main"]).output())
        .await
        .unwrap()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("acme/other is not one of this task's repositories")
            && stderr.contains("could not read Username"),
        "{stderr}"
    );
    assert!(
        server
            .log()
            .iter()
            .filter(|line| line.contains("/acme/other.git/"))
            .all(|line| line.ends_with("-> 401")),
        "{:?}",
        server.log()
    );

    // store/erase kept nothing: no token in git's config, a credential store or cache, or
    // any file of the home directory (clones included) or the served repositories.
    assert!(!home.join(".git-credentials").exists());
    assert!(!home.join(".cache/git/credential").exists());
    let config = ok(
        git_in(&home, &app)
            .args(["config", "--list", "--show-origin"])
            .output()
            .unwrap(),
        "config --list",
    );
    assert!(!config.contains(&token));
    assert_eq!(
        files_containing(&scratch.0, token.as_bytes()),
        Vec::<PathBuf>::new()
    );
}
