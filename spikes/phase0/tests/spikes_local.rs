//! The three spike binaries against a local vault: each record has its checks, its verdict
//! and no token, and everything the spike created is gone afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use aws_sdk_bedrockagentcore::config::Credentials;
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig};
use serde_json::Value;

async fn vault() -> RunningVault {
    LocalVault::start(VaultConfig::development(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn spike(bin: &str, vault: &RunningVault, extra: &[&str]) -> Command {
    let mut command = Command::new(bin);
    command
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env_remove("PHASE0_USER_JWT")
        .args(["--endpoint", &vault.endpoint()])
        .args(extra);
    command
}

async fn run(bin: &str, vault: &RunningVault, extra: &[&str]) -> (bool, Value, String) {
    let output = tokio::task::spawn_blocking({
        let mut command = spike(bin, vault, extra);
        move || command.output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let record: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
    (output.status.success(), record, stdout)
}

fn statuses(record: &Value) -> Vec<(String, String)> {
    record["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn assert_check(record: &Value, name: &str, status: &str) {
    let all = statuses(record);
    assert!(
        all.contains(&(name.to_owned(), status.to_owned())),
        "{name} is not {status}: {record:#}"
    );
}

/// Nothing named phase0-* is left in the vault.
async fn assert_cleaned(vault: &RunningVault) {
    let control = aws_sdk_bedrockagentcorecontrol::Client::from_conf(
        aws_sdk_bedrockagentcorecontrol::Config::builder()
            .behavior_version(aws_sdk_bedrockagentcorecontrol::config::BehaviorVersion::latest())
            .region(aws_sdk_bedrockagentcorecontrol::config::Region::new(
                "us-east-1",
            ))
            .credentials_provider(Credentials::new("t", "t", None, None, "test"))
            .endpoint_url(vault.endpoint())
            .build(),
    );
    let workloads = control
        .list_workload_identities()
        .max_results(20)
        .send()
        .await
        .unwrap();
    assert!(
        workloads
            .workload_identities()
            .iter()
            .all(|w| !w.name().starts_with("phase0-"))
    );
    let providers = control
        .list_oauth2_credential_providers()
        .max_results(20)
        .send()
        .await
        .unwrap();
    assert!(
        providers
            .credential_providers()
            .iter()
            .all(|p| !p.name().starts_with("phase0-"))
    );
}

fn assert_no_token(text: &str) {
    assert!(!text.contains("eyJ"), "the record holds a JWT");
    assert!(
        !text.contains("AgV4"),
        "the record holds a workload access token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m2m_spike_is_go_and_cleans_up() {
    let vault = vault().await;
    let (ok, record, text) = run(env!("CARGO_BIN_EXE_phase0-m2m"), &vault, &[]).await;
    assert!(ok, "{record:#}");
    assert_eq!(record["verdict"], "GO");
    assert_eq!(record["flow"], "m2m");
    assert_eq!(record["target_kind"], "endpoint");
    assert_eq!(record["target"], vault.endpoint());
    assert!(record["date"].as_str().unwrap().ends_with('Z'));
    for check in [
        "workload_identity_created",
        "provider_created",
        "workload_access_token",
        "m2m_token_issued",
        "m2m_token_is_the_clients",
        "cleanup",
    ] {
        assert_check(&record, check, "pass");
    }
    assert_no_token(&text);
    assert_cleaned(&vault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obo_spike_checks_the_act_claim() {
    let vault = vault().await;
    let (ok, record, text) =
        run(env!("CARGO_BIN_EXE_phase0-obo"), &vault, &["--user", "bob"]).await;
    assert!(ok, "{record:#}");
    assert_eq!(record["verdict"], "GO", "{record:#}");
    for check in [
        "jwt_bound_workload_access_token",
        "obo_token_issued",
        "obo_subject_is_the_user",
        "obo_act_names_the_m2m_actor",
        "cleanup",
    ] {
        assert_check(&record, check, "pass");
    }
    assert_no_token(&text);
    assert_cleaned(&vault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_spike_is_no_go_and_still_cleans_up() {
    let vault = vault().await;
    // alice's may_act names only `aws-native`, so the IdP refuses the throwaway actor.
    let (ok, record, _) = run(
        env!("CARGO_BIN_EXE_phase0-obo"),
        &vault,
        &["--user", "alice"],
    )
    .await;
    assert!(!ok);
    assert_eq!(record["verdict"], "NO-GO", "{record:#}");
    assert_check(&record, "run", "fail");
    assert_check(&record, "cleanup", "pass");
    assert_cleaned(&vault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_federation_without_consent_is_go_likely() {
    let vault = vault().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let return_url = format!("http://127.0.0.1:{port}/phase0/callback");
    let (ok, record, text) = run(
        env!("CARGO_BIN_EXE_phase0-user-federation"),
        &vault,
        &["--return-url", &return_url, "--consent-timeout", "1"],
    )
    .await;
    assert!(ok, "{record:#}");
    assert_eq!(record["verdict"], "GO-LIKELY", "{record:#}");
    for check in [
        "authorization_url_returned",
        "session_uri_is_a_request_uri",
        "par_request_uri_stays_at_the_vault",
        "cleanup",
    ] {
        assert_check(&record, check, "pass");
    }
    for check in ["consent", "session_binding", "token_after_consent"] {
        assert_check(&record, check, "skipped");
    }
    assert_no_token(&text);
    assert_cleaned(&vault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_federation_with_consent_is_go() {
    let vault = vault().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let return_url = format!("http://127.0.0.1:{port}/phase0/callback");
    let mut child = spike(
        env!("CARGO_BIN_EXE_phase0-user-federation"),
        &vault,
        &[
            "--return-url",
            &return_url,
            "--consent-timeout",
            "60",
            "--user",
            "bob",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let stderr = child.stderr.take().unwrap();
    // Read stderr to the end (a closed pipe would break the spike's last messages), handing
    // over the consent URL when it appears.
    let (found, url) = std::sync::mpsc::channel();
    let drain = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("phase0: consent URL: ") {
                let _ = found.send(url.to_owned());
            }
        }
    });
    let url =
        tokio::task::spawn_blocking(move || url.recv().expect("the spike printed no consent URL"))
            .await
            .unwrap();
    // A person signs in and allows; the browser then lands on the spike's return URL.
    let outcome = deputy_vault_local::complete_consent_as_browser(&url, "bob", "bob")
        .await
        .unwrap();
    let landing = reqwest::Url::parse_with_params(
        &return_url,
        &[("session_id", outcome.session_id.as_str())],
    )
    .unwrap();
    let landed = reqwest::get(landing).await.map(|p| p.status().is_success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    drain.join().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let record: Value = serde_json::from_str(&text).unwrap();
    assert!(matches!(landed, Ok(true)), "{landed:?} {record:#}");
    assert!(output.status.success(), "{record:#}");
    assert_eq!(record["verdict"], "GO", "{record:#}");
    for check in [
        "consent",
        "session_binding",
        "token_after_consent",
        "cleanup",
    ] {
        assert_check(&record, check, "pass");
    }
    assert_no_token(&text);
    assert_cleaned(&vault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_calls_and_makes_none() {
    let vault = vault().await;
    let output = spike(
        env!("CARGO_BIN_EXE_phase0-obo"),
        &vault,
        &["--dry-run", "--out", "/dev/null"],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success());
    assert!(
        stdout.contains("GetWorkloadAccessTokenForJWT") && stdout.contains("actorTokenContent=M2M"),
        "{stdout}"
    );
    assert_eq!(vault.call_count("GetWorkloadAccessTokenForJWT"), 0);
    assert_eq!(vault.call_count("GetResourceOauth2Token"), 0);
}
