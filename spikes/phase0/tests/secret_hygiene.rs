//! Secret hygiene of the three spike binaries (issue #8): each runs against one local vault
//! through a recording proxy (which collects the WATs, user JWTs and access tokens the spikes
//! received), with `RUST_LOG=trace` and `RUST_BACKTRACE=1`; their stdout and stderr hold none
//! of those secrets and no token-shaped text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use deputy_tests::recording_proxy::RecordingProxy;
use deputy_vault_local::{LocalVault, VaultConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_spike_prints_a_secret_it_received() {
    let vault = LocalVault::start(VaultConfig::development(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let proxy = RecordingProxy::start(&vault.endpoint()).await;
    let return_url = "http://127.0.0.1:9/phase0/callback";
    let runs: [(&str, &[&str]); 3] = [
        (env!("CARGO_BIN_EXE_phase0-m2m"), &[]),
        (env!("CARGO_BIN_EXE_phase0-obo"), &["--user", "bob"]),
        (
            env!("CARGO_BIN_EXE_phase0-user-federation"),
            &["--return-url", return_url, "--consent-timeout", "1"],
        ),
    ];
    // The IdP side is the vault's own dev IdP, named directly; the AgentCore calls go through
    // the proxy.
    let discovery = format!("{}/idp/.well-known/openid-configuration", vault.endpoint());
    let mut outputs = Vec::new();
    for (bin, extra) in runs {
        let out = tokio::process::Command::new(bin)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "1")
            .env_remove("PHASE0_USER_JWT")
            .args(["--endpoint", &proxy.endpoint, "--discovery-url", &discovery])
            .args(extra)
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let record: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON record");
        assert!(out.status.success(), "{bin}: {}", record["verdict"]);
        outputs.push((format!("{bin} stdout"), stdout));
        outputs.push((
            format!("{bin} stderr"),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    let canary = proxy.canary();
    let labels = canary.labels().join(" ");
    for expected in [
        "workloadAccessToken",
        "accessToken",
        "/idp/dev/user-token.token",
    ] {
        assert!(
            labels.contains(expected),
            "the spikes received no {expected}: {labels}"
        );
    }
    for (name, text) in &outputs {
        canary.assert_clean(name, text);
    }
    vault.shutdown().await;
}
