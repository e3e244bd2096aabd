//! `deputy exec` as a process: the child gets its tokens in its environment, and nothing else
//! ever shows them; a missing consent or an unauthorized repository runs nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

mod common;
use common::{consent, deputy, serve, text};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deputy-exec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A shell command that writes `$VAR` into `dir/VAR` for each variable, then exits 7.
fn child_writing(dir: &std::path::Path, vars: &[&str]) -> String {
    let mut script = String::new();
    for var in vars {
        script.push_str(&format!(
            "printf '%s' \"${var}\" > '{}/{var}'; ",
            dir.display()
        ));
    }
    script.push_str("exit 7");
    script
}

fn print_token(endpoint: &str, args: &[&str]) -> String {
    let out = deputy()
        .args(["resolve", "--endpoint", endpoint, "--print-token"])
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    stdout.trim().to_owned()
}

#[test]
fn exec_gives_the_child_its_tokens_and_shows_them_nowhere_else() {
    let (_vault, endpoint) = serve();
    let dir = scratch("tokens");
    let out = deputy()
        .args(["exec", "--headless", "--endpoint", &endpoint])
        .args(["--allow-repo", "acme/app"])
        .args(["--env", "LINEAR_API_TOKEN=linear:read"])
        .args(["--env", "GITHUB_TOKEN=github:read:acme/app"])
        .env("DEPUTY_LOG", "trace")
        .args([
            "--",
            "sh",
            "-c",
            &child_writing(&dir, &["LINEAR_API_TOKEN", "GITHUB_TOKEN"]),
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(7),
        "the child's exit code: {stderr}"
    );
    let linear = std::fs::read_to_string(dir.join("LINEAR_API_TOKEN")).unwrap();
    let github = std::fs::read_to_string(dir.join("GITHUB_TOKEN")).unwrap();
    assert_eq!(
        linear,
        print_token(&endpoint, &["linear", "--op", "read", "--headless"])
    );
    assert_eq!(
        github,
        print_token(
            &endpoint,
            &[
                "github",
                "--op",
                "read",
                "--headless",
                "--repo",
                "acme/app",
                "--allow-repo",
                "acme/app"
            ]
        )
    );
    for token in [&linear, &github] {
        assert!(token.len() > 16, "a real token: {token:?}");
        assert!(
            !stdout.contains(token.as_str()) && !stderr.contains(token.as_str()),
            "a token reached deputy's output or logs"
        );
    }
    assert!(!stderr.is_empty(), "trace logs were written and checked");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn exec_runs_nothing_for_a_repository_outside_the_allow_list() {
    let (_vault, endpoint) = serve();
    let dir = scratch("refused");
    let out = deputy()
        .args(["exec", "--headless", "--endpoint", &endpoint])
        .args(["--allow-repo", "acme/app"])
        .args(["--env", "GITHUB_TOKEN=github:read:acme/other"])
        .args(["--", "sh", "-c", &child_writing(&dir, &["GITHUB_TOKEN"])])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("GITHUB_TOKEN=github:read:acme/other") && stderr.contains("allow-list"),
        "{stderr}"
    );
    // Without DEPUTY_LOG, deputy logs nothing: the refusal is its only line.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!dir.join("GITHUB_TOKEN").exists(), "the child never ran");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn exec_without_consent_prints_the_link_and_runs_nothing_until_the_user_approves() {
    let (_vault, endpoint) = serve();
    let dir = scratch("consent");
    let exec = |dir: &std::path::Path| {
        deputy()
            .args(["exec", "--user", "alice", "--endpoint", &endpoint])
            .args(["--allow-repo", "acme/app"])
            .args(["--return-url", "http://127.0.0.1:9/deputy/callback"])
            .args(["--env", "GITHUB_TOKEN=github:write:acme/app"])
            .args(["--", "sh", "-c", &child_writing(dir, &["GITHUB_TOKEN"])])
            .output()
            .unwrap()
    };
    let out = exec(&dir);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("GITHUB_TOKEN: github needs consent from provider \"github\"")
            && stderr.contains("/idp/authorize")
            && stderr.contains("not running \"sh\""),
        "{stderr}"
    );
    assert!(!dir.join("GITHUB_TOKEN").exists(), "the child never ran");

    let repo = ["--repo", "acme/app", "--allow-repo", "acme/app"];
    consent(&endpoint, "github", "write", "alice", &repo).await;
    let out = exec(&dir);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    let token = std::fs::read_to_string(dir.join("GITHUB_TOKEN")).unwrap();
    let mut args = vec!["github", "--op", "write", "--user", "alice"];
    args.extend(["--return-url", "http://127.0.0.1:9/deputy/callback"]);
    args.extend(repo);
    assert_eq!(token, print_token(&endpoint, &args));
    assert!(!stdout.contains(&token) && !stderr.contains(&token));
    std::fs::remove_dir_all(dir).unwrap();
}
