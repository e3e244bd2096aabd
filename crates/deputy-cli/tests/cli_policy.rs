//! `deputy explain` and `deputy policy` as a user runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn deputy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deputy"))
        .args(args)
        .env_remove("DEPUTY_POLICY")
        .output()
        .expect("run deputy")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deputy-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn explain_json(integration: &str, trigger: &str, op: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "explain",
        "--integration",
        integration,
        "--trigger",
        trigger,
        "--op",
        op,
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = deputy(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn explain_answers_every_row_of_the_rfc_tree() {
    // (integration, trigger, op) -> (flow kind, rule id, consent)
    let rows = [
        (
            "github",
            "interactive",
            "write",
            "user_federation",
            "github-interactive-write",
            "prompt",
        ),
        (
            "linear",
            "headless",
            "write",
            "m2m",
            "headless-write",
            "not_applicable",
        ),
        (
            "github",
            "headless",
            "read",
            "m2m",
            "github-service-read",
            "not_applicable",
        ),
        (
            "aws-native",
            "interactive",
            "write",
            "on_behalf_of",
            "aws-native-obo",
            "not_applicable",
        ),
        (
            "slack",
            "interactive",
            "read",
            "user_federation",
            "slack-interactive",
            "prompt",
        ),
        (
            "jira",
            "webhook",
            "read",
            "m2m",
            "service-read",
            "not_applicable",
        ),
        (
            "jira",
            "webhook",
            "write",
            "user_federation",
            "jira-webhook-write",
            "fail_closed",
        ),
        (
            "aws-native",
            "webhook",
            "write",
            "deny",
            "aws-native-webhook-write",
            "not_applicable",
        ),
    ];
    for (integration, trigger, op, flow, rule, consent) in rows {
        let json = explain_json(integration, trigger, op, &[]);
        let decision = &json["outcome"]["decision"];
        assert_eq!(
            decision["flow"]["kind"], flow,
            "{integration} {trigger} {op}"
        );
        assert_eq!(decision["rule_id"], rule);
        assert_eq!(decision["consent"], consent);
        let matched = json["trail"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["verdict"] == "matched")
            .count();
        assert_eq!(matched, 1);
    }
    let obo = explain_json("aws-native", "interactive", "read", &[]);
    assert_eq!(obo["outcome"]["decision"]["flow"]["actor"], "m2m");
}

#[test]
fn explain_text_shows_decision_and_trail() {
    let out = deputy(&[
        "explain",
        "--integration",
        "github",
        "--trigger",
        "webhook",
        "--op",
        "write",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("decision  user_federation (rule github-webhook-write)"),
        "{text}"
    );
    assert!(text.contains("fail closed"), "{text}");
    assert!(text.contains("MATCH    github-webhook-write"), "{text}");
    assert!(text.contains("inactive github-app-write (line "), "{text}");
    assert!(
        text.contains(
            "skip     github-interactive-write (line 26): trigger webhook not in [interactive]"
        ),
        "{text}"
    );
}

#[test]
fn features_switch_rules() {
    let json = explain_json(
        "github",
        "interactive",
        "write",
        &["--feature", "github-app"],
    );
    assert_eq!(json["outcome"]["decision"]["flow"]["kind"], "github_app");
    assert_eq!(
        json["outcome"]["decision"]["flow"]["permissions"]["contents"],
        "write"
    );
    let out = deputy(&[
        "explain",
        "--integration",
        "github",
        "--trigger",
        "interactive",
        "--op",
        "write",
        "--feature",
        "bogus",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown feature \"bogus\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn malformed_policy_names_file_line_and_problem() {
    let path = temp_file(
        "typo.toml",
        "version = 1\n\n[[rule]]\nid = \"a\"\nintegrations = [\"*\"]\ntriggers = [\"*\"]\noperatons = [\"*\"]\n",
    );
    let out = deputy(&[
        "explain",
        "--integration",
        "github",
        "--trigger",
        "webhook",
        "--op",
        "write",
        "--policy",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}:7:1: unknown field `operatons`",
            path.display()
        )),
        "{err}"
    );

    let overlap = temp_file(
        "overlap.toml",
        "version = 1\n[[rule]]\nid = \"all\"\nintegrations = [\"*\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"deny\"\nreason = \"x\"\n[[rule]]\nid = \"gh\"\nintegrations = [\"github\"]\ntriggers = [\"headless\"]\noperations = [\"read\"]\nflow = \"m2m\"\nprovider = \"gh\"\n",
    );
    let out = deputy(&["policy", "check", overlap.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:9: overlap: rules \"all\" (line 2) and \"gh\" (line 9) both cover (github, headless, read)", overlap.display())), "{err}");

    let missing = deputy(&["policy", "check", "/nonexistent/policy.toml"]);
    assert!(stderr(&missing).contains("cannot read policy file /nonexistent/policy.toml"));
}

#[test]
fn the_default_table_checks_and_shows() {
    let default = deputy(&["policy", "default"]);
    let path = temp_file("default.toml", &stdout(&default));
    let check = deputy(&["policy", "check", path.to_str().unwrap()]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(stdout(&check).contains("17 rules cover 5 integrations x 3 triggers x 2 operations exactly once under 2 feature combination(s)"), "{}", stdout(&check));
    let show = deputy(&["policy", "show", "--policy", path.to_str().unwrap()]);
    assert!(
        stdout(&show).contains("| aws-native | **on_behalf_of** `aws-native` |"),
        "{}",
        stdout(&show)
    );
}

#[test]
fn custom_integration_without_a_rule_and_bad_arguments() {
    let out = deputy(&[
        "explain",
        "--integration",
        "pagerduty",
        "--trigger",
        "headless",
        "--op",
        "read",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("no rule covers (pagerduty, headless, read)"),
        "{}",
        stdout(&out)
    );
    let out = deputy(&[
        "explain",
        "--integration",
        "github",
        "--trigger",
        "nightly",
        "--op",
        "read",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid trigger \"nightly\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn policy_check_refuses_a_write_capable_read_naming_the_line() {
    let path = temp_file(
        "write-capable-read.toml",
        "version = 1\n[[rule]]\nid = \"rest\"\nintegrations = [\"linear\", \"jira\", \"slack\", \"aws-native\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"deny\"\nreason = \"x\"\n[[rule]]\nid = \"gh-write\"\nintegrations = [\"github\"]\ntriggers = [\"interactive\"]\noperations = [\"write\"]\nflow = \"user_federation\"\nprovider = \"github\"\nscopes = [\"repo\"]\nconsent = \"prompt\"\nrepo_authorization = true\n[[rule]]\nid = \"gh-read\"\nintegrations = [\"github\"]\ntriggers = [\"interactive\"]\noperations = [\"read\"]\nflow = \"user_federation\"\nprovider = \"github\"\nscopes = [\"repo\"]\nconsent = \"prompt\"\n[[rule]]\nid = \"gh-service\"\nintegrations = [\"github\"]\ntriggers = [\"webhook\", \"headless\"]\noperations = [\"*\"]\nflow = \"deny\"\nreason = \"x\"\n",
    );
    let out = deputy(&["policy", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}:19: rule \"gh-read\": yields a write-capable token for github (scope(s) \"repo\" can write) without repo_authorization = true",
            path.display()
        )),
        "{err}"
    );
    let fixed = temp_file(
        "write-capable-read-fixed.toml",
        &std::fs::read_to_string(&path).unwrap().replace(
            "consent = \"prompt\"\n[[rule]]\nid = \"gh-service\"",
            "consent = \"prompt\"\nrepo_authorization = true\n[[rule]]\nid = \"gh-service\"",
        ),
    );
    let out = deputy(&["policy", "check", fixed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}
