//! `Doctor` names what fails and how to fix it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use deputy::doctor::{Doctor, Finding, Status};
use deputy::fallback::SecretReader;
use deputy_core::policy::PolicyTable;
use deputy_vault_local::config::FaultRule;
use deputy_vault_local::{LocalVault, VaultConfig};

fn find<'a>(findings: &'a [Finding], check: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.check == check)
        .unwrap_or_else(|| panic!("no check {check:?} in {findings:#?}"))
}

#[tokio::test]
async fn a_healthy_development_vault_passes_and_user_providers_are_noted() {
    let vault = common::vault().await;
    let policy = PolicyTable::built_in().unwrap();
    let client = common::client(&vault);
    let findings = Doctor {
        policy: &policy,
        vault: &client,
        workload: common::WORKLOAD,
        secrets: None,
        fallback_flag: false,
    }
    .run()
    .await;
    assert!(
        findings.iter().all(|f| f.status != Status::Fail),
        "{findings:#?}"
    );
    assert_eq!(
        find(&findings, "m2m provider slack-service").status,
        Status::Ok
    );
    assert_eq!(find(&findings, "user provider github").status, Status::Note);
}

#[tokio::test]
async fn missing_providers_workloads_permissions_and_fallback_secrets_are_explained() {
    let vault = common::vault().await;
    let client = common::client(&vault);
    let mut text = PolicyTable::built_in_source().replace(
        "provider = \"{integration}-service\"",
        "provider = \"{integration}-ghost\"",
    );
    text = text.replace(
        "id = \"github-service-read\"",
        "id = \"github-service-read\"\nsecrets_manager_fallback = true",
    );
    text.push_str("\n[fallback.github]\nsecret_id = \"no-such-secret\"\nshape = \"raw\"\n");
    let policy = PolicyTable::from_toml("doctor.toml", &text).unwrap();
    let moto = common::moto::Moto::start().await;
    let reader = SecretReader::new(moto.sdk().await);
    let findings = Doctor {
        policy: &policy,
        vault: &client,
        workload: common::WORKLOAD,
        secrets: Some(&reader),
        fallback_flag: true,
    }
    .run()
    .await;
    let ghost = find(&findings, "m2m provider linear-ghost");
    assert_eq!(ghost.status, Status::Fail);
    assert!(
        ghost.detail.contains("linear-ghost does not exist") && ghost.detail.contains("create it"),
        "{ghost:?}"
    );
    let secret = find(&findings, "fallback secret no-such-secret for github");
    assert!(
        secret.detail.contains("ResourceNotFoundException")
            && secret.detail.contains("check secret_id"),
        "{secret:?}"
    );

    let unknown = Doctor {
        policy: &policy,
        vault: &client,
        workload: "no-such-workload",
        secrets: None,
        fallback_flag: false,
    }
    .run()
    .await;
    assert!(
        find(&unknown, "workload access token for no-such-workload")
            .detail
            .contains("create it"),
        "{unknown:#?}"
    );

    let no_secret = PolicyTable::built_in().unwrap();
    let flagged = Doctor {
        policy: &no_secret,
        vault: &client,
        workload: common::WORKLOAD,
        secrets: None,
        fallback_flag: true,
    }
    .run()
    .await;
    assert!(
        find(&flagged, "Secrets Manager fallback")
            .detail
            .contains("configures no [fallback.<integration>] secret")
    );

    let mut config = VaultConfig::development();
    config.faults.push(FaultRule {
        operation: Some("GetWorkloadAccessToken".into()),
        latency_ms: 0,
        error_rate: 1.0,
        status: 403,
        times: None,
    });
    let denied_vault = LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let denied_client = common::client(&denied_vault);
    let denied = Doctor {
        policy: &no_secret,
        vault: &denied_client,
        workload: common::WORKLOAD,
        secrets: None,
        fallback_flag: false,
    }
    .run()
    .await;
    let wat = find(&denied, "workload access token for deputy-agent");
    assert_eq!(wat.status, Status::Fail);
    assert!(
        wat.detail
            .contains("grant bedrock-agentcore:GetWorkloadAccessToken"),
        "{wat:?}"
    );
}
