//! The decision table: the built-in rows of the RFC's tree, and validation of edited tables.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use deputy_core::flow::{ActorToken, Flow, PermissionLevel};
use deputy_core::policy::{Consent, PolicyError, PolicyTable, Verdict};
use deputy_core::{Integration, Operation, TriggerKind};

use Operation::{Read, Write};
use TriggerKind::{Headless, Interactive, Webhook};

fn built_in() -> PolicyTable {
    PolicyTable::built_in().expect("the built-in table is valid")
}

fn problems(text: &str) -> Vec<(Option<usize>, String)> {
    match PolicyTable::from_toml("p.toml", text) {
        Err(PolicyError::Invalid { problems, .. }) => {
            problems.into_iter().map(|p| (p.line, p.message)).collect()
        }
        other => panic!("expected validation problems, got {other:?}"),
    }
}

const HEADER: &str = "version = 1\n";

/// A table that covers everything with one deny, plus the rules under test for `pagerduty`.
fn with_catch_all(extra: &str) -> String {
    format!(
        "{HEADER}[[rule]]\nid = \"deny-builtins\"\nintegrations = [\"github\", \"linear\", \"jira\", \"slack\", \"aws-native\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"deny\"\nreason = \"not used here\"\n{extra}"
    )
}

#[test]
fn every_cell_of_the_built_in_table_is_decided_with_and_without_github_app() {
    for app in [false, true] {
        let table = built_in().with_feature("github-app", app).unwrap();
        for integration in Integration::BUILT_IN {
            for trigger in TriggerKind::ALL {
                for op in Operation::ALL {
                    let d = table.decide_cell(&integration, trigger, op).unwrap();
                    assert!(!d.rule_id.is_empty());
                    if d.flow.needs_user() {
                        assert_ne!(
                            trigger, Headless,
                            "{integration} {op}: user flow for headless"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn rfc_row_1_interactive_write_as_the_user_is_3lo_with_repo_authorization() {
    let d = built_in()
        .decide_cell(&Integration::Github, Interactive, Write)
        .unwrap();
    assert_eq!(d.flow, Flow::UserFederation);
    assert_eq!(d.provider.as_deref(), Some("github"));
    assert_eq!(d.scopes, ["repo"]);
    assert_eq!(d.consent, Consent::Prompt);
    assert!(d.repo_authorization);
    assert!(!d.secrets_manager_fallback);
    assert_eq!(&*d.rule_id, "github-interactive-write");
}

#[test]
fn rfc_row_2_no_user_is_m2m_for_every_integration() {
    let table = built_in();
    for integration in Integration::BUILT_IN {
        for op in Operation::ALL {
            let d = table.decide_cell(&integration, Headless, op).unwrap();
            assert_eq!(d.flow, Flow::M2m, "{integration} {op}");
            assert_eq!(
                d.provider.as_deref(),
                Some(format!("{integration}-service").as_str())
            );
        }
    }
    assert!(
        table
            .decide_cell(&Integration::Github, Headless, Write)
            .unwrap()
            .repo_authorization
    );
}

#[test]
fn rfc_row_3_same_ecosystem_is_obo_with_delegation() {
    for op in Operation::ALL {
        let d = built_in()
            .decide_cell(&Integration::AwsNative, Interactive, op)
            .unwrap();
        assert_eq!(
            d.flow,
            Flow::OnBehalfOf {
                actor: ActorToken::M2m
            }
        );
        assert_eq!(d.flow.oauth2_flow(), Some("ON_BEHALF_OF_TOKEN_EXCHANGE"));
    }
}

#[test]
fn rfc_row_4_downstream_consent_is_user_federation() {
    for (integration, rule) in [
        (Integration::Linear, "linear-interactive"),
        (Integration::Jira, "jira-interactive"),
        (Integration::Slack, "slack-interactive"),
        (Integration::Github, "github-interactive-read"),
    ] {
        let d = built_in()
            .decide_cell(&integration, Interactive, Read)
            .unwrap();
        assert_eq!(
            (d.flow, d.consent, &*d.rule_id),
            (Flow::UserFederation, Consent::Prompt, rule)
        );
    }
}

#[test]
fn rfc_rows_5_and_6_webhook_read_is_m2m_and_webhook_write_fails_closed() {
    let table = built_in();
    for integration in [
        Integration::Github,
        Integration::Linear,
        Integration::Jira,
        Integration::Slack,
    ] {
        let read = table.decide_cell(&integration, Webhook, Read).unwrap();
        assert_eq!(read.flow, Flow::M2m, "{integration}");
        let write = table.decide_cell(&integration, Webhook, Write).unwrap();
        assert_eq!(
            (write.flow, write.consent),
            (Flow::UserFederation, Consent::FailClosed),
            "{integration}"
        );
        assert!(!write.secrets_manager_fallback);
    }
    let aws = table
        .decide_cell(&Integration::AwsNative, Webhook, Write)
        .unwrap();
    assert!(aws.is_deny());
}

#[test]
fn github_app_feature_scopes_writes_to_installation_tokens() {
    let table = built_in().with_feature("github-app", true).unwrap();
    let write = table
        .decide_cell(&Integration::Github, Interactive, Write)
        .unwrap();
    let Flow::GithubApp { permissions } = &write.flow else {
        panic!("{write:?}")
    };
    assert_eq!(permissions.get("contents"), Some(&PermissionLevel::Write));
    assert_eq!(
        permissions.get("pull_requests"),
        Some(&PermissionLevel::Write)
    );
    assert!(write.repo_authorization);
    let read = table
        .decide_cell(&Integration::Github, Webhook, Read)
        .unwrap();
    assert_eq!(&*read.rule_id, "github-app-read");
    // A webhook write stays on fresh user consent: the app never replaces the user's consent.
    let webhook_write = table
        .decide_cell(&Integration::Github, Webhook, Write)
        .unwrap();
    assert_eq!(webhook_write.flow, Flow::UserFederation);
    assert!(built_in().with_feature("no-such-feature", true).is_err());
}

#[test]
fn api_key_integrations_and_environment_prefixes() {
    let text = with_catch_all(
        "[[rule]]\nid = \"pd\"\nintegrations = [\"pagerduty\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"api_key\"\nprovider = \"pagerduty-key\"\n",
    )
    .replace("version = 1\n", "version = 1\nenvironment = \"prod\"\n");
    let table = PolicyTable::from_toml("p.toml", &text).unwrap();
    let pd: Integration = "pagerduty".parse().unwrap();
    let d = table.decide_cell(&pd, Webhook, Write).unwrap();
    assert_eq!(d.flow, Flow::ApiKey);
    assert_eq!(d.provider.as_deref(), Some("prod-pagerduty-key"));
    assert!(table.integrations().contains(&pd));
    let unknown: Integration = "opsgenie".parse().unwrap();
    let err = table.decide_cell(&unknown, Interactive, Read).unwrap_err();
    assert!(err.to_string().contains("\"opsgenie\""), "{err}");
}

#[test]
fn explain_gives_the_trail_for_every_rule() {
    let table = built_in();
    let e = table.explain(&Integration::Github, Webhook, Write);
    assert_eq!(
        &*e.outcome.as_ref().unwrap().rule_id,
        "github-webhook-write"
    );
    assert_eq!(e.trail.len(), table.rules().len());
    let matched: Vec<_> = e
        .trail
        .iter()
        .filter(|c| c.verdict == Verdict::Matched)
        .collect();
    assert_eq!(matched.len(), 1);
    let app = e
        .trail
        .iter()
        .find(|c| c.rule_id == "github-app-write")
        .unwrap();
    assert_eq!(
        app.verdict,
        Verdict::Inactive {
            feature: "github-app".into(),
            needs_on: true
        }
    );
    let read = e
        .trail
        .iter()
        .find(|c| c.rule_id == "github-interactive-read")
        .unwrap();
    let Verdict::NoMatch { reasons } = &read.verdict else {
        panic!()
    };
    assert!(
        reasons
            .iter()
            .any(|r| r == "trigger webhook not in [interactive]"),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r == "operation write not in [read]"),
        "{reasons:?}"
    );
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(
        json["outcome"]["decision"]["flow"]["kind"],
        "user_federation"
    );
    assert_eq!(json["trail"][0]["verdict"], "no_match");
}

#[test]
fn gaps_and_overlaps_name_the_cell_and_the_rules() {
    let text = with_catch_all(concat!(
        "[[rule]]\nid = \"pd-read\"\nintegrations = [\"pagerduty\"]\ntriggers = [\"*\"]\noperations = [\"read\"]\nflow = \"m2m\"\nprovider = \"pd\"\n",
        "[[rule]]\nid = \"pd-webhook\"\nintegrations = [\"pagerduty\"]\ntriggers = [\"webhook\"]\noperations = [\"*\"]\nflow = \"m2m\"\nprovider = \"pd\"\n",
    ));
    let problems = problems(&text);
    let messages: Vec<&str> = problems.iter().map(|p| p.1.as_str()).collect();
    assert!(
        messages.contains(&"overlap: rules \"pd-read\" (line 9) and \"pd-webhook\" (line 16) both cover (pagerduty, webhook, read); exactly one rule may"),
        "{messages:#?}"
    );
    assert!(messages.contains(
        &"gap: no rule covers (pagerduty, interactive, write); add a rule or an explicit deny"
    ));
    assert!(messages.contains(
        &"gap: no rule covers (pagerduty, headless, write); add a rule or an explicit deny"
    ));
    assert_eq!(problems.len(), 3, "{messages:#?}");
    let overlap_line = problems
        .iter()
        .find(|p| p.1.starts_with("overlap"))
        .unwrap()
        .0;
    assert_eq!(overlap_line, Some(16));
}

#[test]
fn a_feature_that_opens_a_gap_is_caught_even_when_off() {
    let text = with_catch_all(
        "[[rule]]\nid = \"pd\"\nintegrations = [\"pagerduty\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nunless = \"beta\"\nflow = \"m2m\"\nprovider = \"pd\"\n",
    )
    .replace(HEADER, "version = 1\n[features]\nbeta = false\n");
    let messages: Vec<String> = problems(&text).into_iter().map(|p| p.1).collect();
    assert!(
        messages
            .iter()
            .any(|m| m
                .contains("gap: no rule covers (pagerduty, interactive, read) (with beta = true)")),
        "{messages:#?}"
    );
}

#[test]
fn unknown_keys_and_wrong_types_name_file_line_and_column() {
    let text =
        format!("{HEADER}[[rule]]\nid = \"x\"\nintegrations = [\"github\"]\nflavour = \"m2m\"\n");
    let err = PolicyTable::from_toml("policies/team.toml", &text).unwrap_err();
    let PolicyError::Syntax {
        line,
        column,
        ref message,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!((line, column), (5, 1), "{message}");
    assert!(message.contains("flavour"), "{message}");
    assert!(
        err.to_string().starts_with("policies/team.toml:5:1: "),
        "{err}"
    );

    let text = format!("{HEADER}[[rule]]\nid = \"x\"\nintegrations = \"github\"\n");
    let err = PolicyTable::from_toml("p.toml", &text).unwrap_err();
    assert!(
        matches!(err, PolicyError::Syntax { line: 4, .. }),
        "{err:?}"
    );

    let err = PolicyTable::from_toml("p.toml", "version = 1\nrule = [\n").unwrap_err();
    assert!(matches!(err, PolicyError::Syntax { .. }), "{err:?}");
}

#[test]
fn rules_inconsistent_with_their_cells_are_refused() {
    let rule = |body: &str| {
        with_catch_all(&format!(
            "[[rule]]\nid = \"r\"\nintegrations = [\"pagerduty\"]\noperations = [\"*\"]\n{body}"
        ))
    };
    let cases = [
        (
            "triggers = [\"*\"]\nflow = \"user_federation\"\nprovider = \"p\"\nconsent = \"fail_closed\"\n",
            "needs a user, but it matches headless tasks",
        ),
        (
            "triggers = [\"webhook\"]\nflow = \"on_behalf_of\"\nprovider = \"p\"\n",
            "webhook tasks only assert their user",
        ),
        (
            "triggers = [\"webhook\"]\nflow = \"user_federation\"\nprovider = \"p\"\nconsent = \"prompt\"\n",
            "consent must be \"fail_closed\"",
        ),
        (
            "triggers = [\"interactive\"]\nflow = \"on_behalf_of\"\nprovider = \"p\"\nactor_token = \"none\"\n",
            "impersonation",
        ),
        ("triggers = [\"*\"]\nflow = \"m2m\"\n", "needs provider"),
        (
            "triggers = [\"*\"]\nflow = \"m2m\"\nprovider = \"bad name\"\n",
            "not a valid credential provider name",
        ),
        (
            "triggers = [\"*\"]\nflow = \"m2m\"\nprovider = \"p\"\nconsent = \"prompt\"\n",
            "consent applies only",
        ),
        ("triggers = [\"*\"]\nflow = \"deny\"\n", "needs a reason"),
        (
            "triggers = [\"*\"]\nflow = \"deny\"\nreason = \"no\"\nsecrets_manager_fallback = true\n",
            "cannot allow the Secrets Manager fallback",
        ),
        (
            "triggers = [\"*\"]\nflow = \"api_key\"\nprovider = \"p\"\nscopes = [\"a\"]\n",
            "API keys have no scopes",
        ),
        (
            "triggers = [\"*\"]\nflow = \"github_app\"\npermissions = { contents = \"read\" }\n",
            "can only serve integrations = [\"github\"]",
        ),
        (
            "triggers = [\"*\", \"webhook\"]\nflow = \"m2m\"\nprovider = \"p\"\n",
            "\"*\" must stand alone",
        ),
        (
            "triggers = []\nflow = \"m2m\"\nprovider = \"p\"\n",
            "triggers is empty",
        ),
        (
            "triggers = [\"nightly\"]\nflow = \"m2m\"\nprovider = \"p\"\n",
            "invalid trigger \"nightly\"",
        ),
        (
            "triggers = [\"*\"]\nwhen = \"ghost\"\nflow = \"m2m\"\nprovider = \"p\"\n",
            "[features] does not declare",
        ),
    ];
    for (body, expected) in cases {
        let found = problems(&rule(body));
        assert!(
            found
                .iter()
                .any(|(line, m)| m.contains(expected) && *line == Some(9)),
            "{expected}: {found:#?}"
        );
    }
}

#[test]
fn table_level_checks() {
    let github_write = "[[rule]]\nid = \"gh\"\nintegrations = [\"github\"]\ntriggers = [\"interactive\"]\noperations = [\"write\"]\nflow = \"user_federation\"\nprovider = \"github\"\nconsent = \"prompt\"\n";
    let found = problems(&format!("{HEADER}{github_write}"));
    assert!(
        found
            .iter()
            .any(|(l, m)| *l == Some(2) && m.contains("repo_authorization = true")),
        "{found:#?}"
    );

    let dup = format!(
        "{HEADER}[[rule]]\nid = \"a\"\nintegrations = [\"*\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"deny\"\nreason = \"x\"\n[[rule]]\nid = \"a\"\nintegrations = [\"*\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"deny\"\nreason = \"x\"\n"
    );
    assert!(
        problems(&dup)
            .iter()
            .any(|(l, m)| *l == Some(9) && m.contains("used twice (first at line 2)"))
    );

    let env = "version = 2\nenvironment = \"qa\"\n[[rule]]\nid = \"a\"\nintegrations = [\"*\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"m2m\"\nprovider = \"prod-x\"\n";
    let found = problems(env);
    assert!(
        found
            .iter()
            .any(|(l, m)| *l == Some(1) && m.contains("unsupported version 2"))
    );
    assert!(
        found
            .iter()
            .any(|(l, m)| *l == Some(2) && m.contains("must be one of"))
    );
    assert!(
        found.iter().any(|m| m
            .1
            .contains("already carries the \"prod\" environment prefix")),
        "{found:#?}"
    );
}

#[test]
fn the_built_in_source_round_trips_and_errors_display_as_lines() {
    let again = PolicyTable::from_toml("copy.toml", PolicyTable::built_in_source()).unwrap();
    assert_eq!(again.rules(), built_in().rules());
    let err = PolicyTable::from_toml("bad.toml", "version = 1\n[[rule]]\nid = \"a\"\nintegrations = [\"github\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"deny\"\nreason = \"x\"\n").unwrap_err();
    let shown = err.to_string();
    assert!(shown.starts_with("bad.toml: "), "{shown}");
    assert!(
        shown.contains("\n  bad.toml: gap: no rule covers (linear, interactive, read)"),
        "{shown}"
    );
}

fn with_fallback_rule(fallback_tables: &str) -> String {
    let text = PolicyTable::built_in_source().replace(
        "id = \"github-service-read\"",
        "id = \"github-service-read\"\nsecrets_manager_fallback = true",
    );
    format!("{text}\n{fallback_tables}")
}

#[test]
fn fallback_secrets_are_declared_per_integration_and_checked() {
    let table = PolicyTable::from_toml(
        "p.toml",
        &with_fallback_rule("[fallback.github]\nsecret_id = \"arn:aws:secretsmanager:us-east-1:111122223333:secret:github-pat\"\nshape = \"raw\"\nrole_arn = \"arn:aws:iam::111122223333:role/central-reader\"\nexternal_id = \"deputy\"\n"),
    )
    .unwrap();
    let secret = table.fallback_secret(&Integration::Github).unwrap();
    assert_eq!(
        secret.assume_role.as_ref().unwrap().external_id.as_deref(),
        Some("deputy")
    );
    assert!(
        table
            .decide_cell(&Integration::Github, Webhook, Read)
            .unwrap()
            .secrets_manager_fallback
    );
    assert!(
        !table
            .decide_cell(&Integration::Github, Webhook, Write)
            .unwrap()
            .secrets_manager_fallback
    );

    let json = PolicyTable::from_toml("p.toml", &with_fallback_rule("[fallback.github]\nsecret_id = \"s\"\nshape = \"json\"\nexpires_field = \"expires_at\"\n")).unwrap();
    assert_eq!(
        json.fallback_secret(&Integration::Github).unwrap().format,
        deputy_core::policy::FallbackFormat::Json {
            token_field: "access_token".into(),
            expires_field: Some("expires_at".into())
        }
    );

    let missing = problems(&with_fallback_rule(""));
    assert!(
        missing.iter().any(|(_, m)| m.contains(
            "allows the Secrets Manager fallback for github, but [fallback.github] names no secret"
        )),
        "{missing:#?}"
    );
    let unused = problems(&with_fallback_rule(
        "[fallback.github]\nsecret_id = \"s\"\nshape = \"raw\"\n[fallback.linear]\nsecret_id = \"l\"\nshape = \"raw\"\n",
    ));
    assert!(
        unused
            .iter()
            .any(|(_, m)| m.contains("fallback.linear: no rule allows the fallback")),
        "{unused:#?}"
    );
    let bad = problems(&with_fallback_rule(
        "[fallback.github]\nsecret_id = \"\"\nshape = \"raw\"\ntoken_field = \"t\"\nrole_arn = \"arn:aws:iam::1:user/x\"\n",
    ));
    for expected in [
        "secret_id must be",
        "token_field and expires_field apply only",
        "is not an IAM role ARN",
    ] {
        assert!(
            bad.iter().any(|(_, m)| m.contains(expected)),
            "{expected}: {bad:#?}"
        );
    }
    let err = PolicyTable::from_toml(
        "p.toml",
        &with_fallback_rule("[fallback.github]\nsecret_id = \"s\"\nshape = \"yaml\"\n"),
    )
    .unwrap_err();
    assert!(matches!(err, PolicyError::Syntax { .. }), "{err}");
}

#[test]
fn api_key_rules_take_a_backup_and_a_pool_with_environment_prefixes() {
    let text = with_catch_all(
        "[[rule]]\nid = \"pd\"\nintegrations = [\"pagerduty\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"api_key\"\nprovider = \"pd-key\"\nbackup_provider = \"pd-key-next\"\npool = [\"pd-a\", \"pd-b\"]\n",
    )
    .replace("version = 1\n", "version = 1\nenvironment = \"staging\"\n");
    let table = PolicyTable::from_toml("p.toml", &text).unwrap();
    let d = table
        .decide_cell(&"pagerduty".parse().unwrap(), Headless, Read)
        .unwrap();
    assert_eq!(d.backup_provider.as_deref(), Some("staging-pd-key-next"));
    assert_eq!(d.provider_pool, ["staging-pd-a", "staging-pd-b"]);
    let bad = with_catch_all(
        "[[rule]]\nid = \"pd\"\nintegrations = [\"pagerduty\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"m2m\"\nprovider = \"p\"\npool = [\"a\"]\n",
    );
    assert!(
        problems(&bad)
            .iter()
            .any(|(_, m)| m.contains("apply only to flow = \"api_key\""))
    );
    let one = with_catch_all(
        "[[rule]]\nid = \"pd\"\nintegrations = [\"pagerduty\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"api_key\"\nprovider = \"p\"\nbackup_provider = \"p\"\npool = [\"a\"]\n",
    );
    let found = problems(&one);
    assert!(
        found
            .iter()
            .any(|(_, m)| m.contains("at least two providers")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|(_, m)| m.contains("backup_provider must differ")),
        "{found:#?}"
    );
}

/// A table whose GitHub writes use an authorized service account, with the GitHub read rule
/// under test; returns the text and the read rule's line.
fn github_read_rule(body: &str) -> (String, usize) {
    let head = format!(
        "{HEADER}[[rule]]\nid = \"deny-rest\"\nintegrations = [\"linear\", \"jira\", \"slack\", \"aws-native\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"deny\"\nreason = \"not used here\"\n[[rule]]\nid = \"gh-write\"\nintegrations = [\"github\"]\ntriggers = [\"*\"]\noperations = [\"write\"]\nflow = \"m2m\"\nprovider = \"gh-service\"\nrepo_authorization = true\n"
    );
    let line = head.lines().count() + 1;
    (
        format!(
            "{head}[[rule]]\nid = \"gh-read\"\nintegrations = [\"github\"]\ntriggers = [\"*\"]\noperations = [\"read\"]\n{body}"
        ),
        line,
    )
}

#[test]
fn every_write_capable_token_needs_repository_authorization() {
    // The built-in table: every cell whose token can write asks a repository authorizer,
    // reads included (GitHub's `repo` scope and the service account both write).
    for app in [false, true] {
        let table = built_in().with_feature("github-app", app).unwrap();
        for integration in Integration::BUILT_IN {
            for trigger in TriggerKind::ALL {
                for op in Operation::ALL {
                    let d = table.decide_cell(&integration, trigger, op).unwrap();
                    if d.token_can_write(&integration) {
                        assert!(d.repo_authorization, "{integration} {trigger} {op}: {d:?}");
                    }
                }
            }
        }
    }
    let table = built_in();
    for trigger in TriggerKind::ALL {
        let read = table
            .decide_cell(&Integration::Github, trigger, Read)
            .unwrap();
        assert!(read.repo_authorization, "github {trigger} read: {read:?}");
    }
    let app_read = built_in()
        .with_feature("github-app", true)
        .unwrap()
        .decide_cell(&Integration::Github, Headless, Read)
        .unwrap();
    assert!(!app_read.token_can_write(&Integration::Github));
    assert!(
        !app_read.repo_authorization,
        "read-only installation tokens need no authorizer"
    );

    // Edited tables: each way a read can end up with a token that can write is refused, with
    // the rule's line.
    let cases = [
        (
            "flow = \"m2m\"\nprovider = \"gh-reader\"\nscopes = [\"read:org\", \"repo\"]\n",
            "rule \"gh-read\": yields a write-capable token for github (scope(s) \"repo\" can write) without repo_authorization = true",
        ),
        (
            "flow = \"m2m\"\nprovider = \"gh-reader\"\nscopes = [\"write:packages\"]\n",
            "scope(s) \"write:packages\" can write",
        ),
        (
            "flow = \"github_app\"\npermissions = { contents = \"write\" }\n",
            "its installation token has a write permission",
        ),
        (
            "flow = \"m2m\"\nprovider = \"gh-service\"\n",
            "rule \"gh-read\": requests the same github credential as rule \"gh-write\" (line 9), which needs repository authorization",
        ),
    ];
    for (body, expected) in cases {
        let (text, line) = github_read_rule(body);
        let found = problems(&text);
        assert!(
            found
                .iter()
                .any(|(l, m)| *l == Some(line) && m.contains(expected)),
            "{expected}: {found:#?}"
        );
    }
    // Read-only scopes, its own provider, or repo_authorization: accepted.
    for body in [
        "flow = \"m2m\"\nprovider = \"gh-reader\"\nscopes = [\"read:org\", \"read:user\"]\n",
        "flow = \"m2m\"\nprovider = \"gh-service\"\nrepo_authorization = true\n",
        "flow = \"github_app\"\npermissions = { contents = \"read\" }\n",
    ] {
        let (text, _) = github_read_rule(body);
        PolicyTable::from_toml("p.toml", &text).unwrap_or_else(|e| panic!("{body}: {e}"));
    }
}

#[test]
fn webhook_write_back_needs_fresh_consent() {
    let table = built_in();
    for integration in [
        Integration::Github,
        Integration::Linear,
        Integration::Jira,
        Integration::Slack,
    ] {
        let d = table.decide_cell(&integration, Webhook, Write).unwrap();
        assert_eq!(
            (d.consent, d.consent_max_age),
            (
                Consent::FailClosed,
                Some(std::time::Duration::from_secs(600))
            ),
            "{integration}"
        );
        let interactive = table.decide_cell(&integration, Interactive, Write);
        if let Ok(d) = interactive {
            assert_eq!(
                d.consent_max_age, None,
                "{integration}: interactive consent is reused"
            );
        }
    }
    let json = serde_json::to_value(
        table
            .decide_cell(&Integration::Github, Webhook, Write)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["consent_max_age_secs"], 600);

    let rule = |body: &str| {
        with_catch_all(&format!(
            "[[rule]]\nid = \"r\"\nintegrations = [\"pagerduty\"]\noperations = [\"*\"]\n{body}"
        ))
    };
    for (body, expected) in [
        (
            "triggers = [\"*\"]\nflow = \"m2m\"\nprovider = \"p\"\nconsent_max_age_secs = 600\n",
            "consent_max_age_secs (fresh consent) applies only to flow = \"user_federation\"",
        ),
        (
            "triggers = [\"webhook\"]\nflow = \"user_federation\"\nprovider = \"p\"\nconsent = \"fail_closed\"\nconsent_max_age_secs = 5\n",
            "consent_max_age_secs = 5 must be between 60 and 86400 seconds",
        ),
    ] {
        let found = problems(&rule(body));
        assert!(
            found
                .iter()
                .any(|(line, m)| m.contains(expected) && *line == Some(9)),
            "{expected}: {found:#?}"
        );
    }
}

#[test]
fn the_fallback_never_replaces_a_users_token_unless_the_table_says_so() {
    let rule = |body: &str| {
        with_catch_all(&format!(
            "[[rule]]\nid = \"r\"\nintegrations = [\"pagerduty\"]\noperations = [\"*\"]\nsecrets_manager_fallback = true\n{body}[fallback.pagerduty]\nsecret_id = \"pd\"\nshape = \"raw\"\n"
        ))
    };
    let interactive = "triggers = [\"interactive\"]\nflow = \"user_federation\"\nprovider = \"p\"\nconsent = \"prompt\"\n[[rule]]\nid = \"rest\"\nintegrations = [\"pagerduty\"]\ntriggers = [\"webhook\", \"headless\"]\noperations = [\"*\"]\nflow = \"m2m\"\nprovider = \"p-service\"\n";
    for (body, expected) in [
        (
            "triggers = [\"interactive\"]\nflow = \"on_behalf_of\"\nprovider = \"p\"\n",
            "cannot allow the Secrets Manager fallback: an on-behalf-of token carries the user's identity",
        ),
        (
            "triggers = [\"webhook\"]\nflow = \"user_federation\"\nprovider = \"p\"\nconsent = \"fail_closed\"\nfallback_replaces_user = true\n",
            "cannot allow the Secrets Manager fallback: a fail-closed rule serves the user's own token or nothing",
        ),
        (
            "triggers = [\"interactive\"]\nflow = \"user_federation\"\nprovider = \"p\"\nconsent = \"prompt\"\nconsent_max_age_secs = 600\nfallback_replaces_user = true\n",
            "cannot allow the Secrets Manager fallback: a fresh-consent rule",
        ),
        (
            interactive,
            "would replace the user's own token with the shared secret; set fallback_replaces_user = true",
        ),
        (
            "triggers = [\"*\"]\nflow = \"m2m\"\nprovider = \"p\"\nfallback_replaces_user = true\n",
            "fallback_replaces_user applies only to a flow = \"user_federation\" rule",
        ),
    ] {
        let found = problems(&rule(body));
        assert!(
            found
                .iter()
                .any(|(line, m)| m.contains(expected) && *line == Some(9)),
            "{expected}: {found:#?}"
        );
    }
    // Said explicitly, a plain user-federation rule may fall back; a service rule needs nothing.
    let accepted = rule(&interactive.replacen(
        "consent = \"prompt\"\n",
        "consent = \"prompt\"\nfallback_replaces_user = true\n",
        1,
    ));
    let table = PolicyTable::from_toml("p.toml", &accepted).unwrap();
    let d = table
        .decide_cell(&"pagerduty".parse().unwrap(), Interactive, Read)
        .unwrap();
    assert!(d.secrets_manager_fallback && d.fallback_replaces_user);
    assert!(
        !built_in()
            .rules()
            .iter()
            .any(|r| r.decision.fallback_replaces_user)
    );
}
