//! Secret hygiene of the `deputy` binary as real processes (issue #8): one `deputy vault serve`
//! with an SQLite store, every other subcommand against it through a recording proxy (which is
//! how the test learns the WATs, access tokens, API keys and user JWTs the processes received),
//! all at the most verbose log level. Then every stdout and stderr, the audit outputs and the
//! vault's SQLite file (with its journal files) are searched for every secret and token shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod hygiene;

use std::process::Stdio;
use std::time::Duration;

use deputy_tests::canary::Canary;
use deputy_tests::moto::Moto;
use deputy_tests::process::{free_port, wait_for_port};
use deputy_tests::recording_proxy::RecordingProxy;
use deputy_vault_local::config::DEVELOPMENT_TOML;
use deputy_vault_local::pattern::SESSION_URI_PREFIX;
use hygiene::steps::{audit, simulate_gateway};
use hygiene::{
    Outputs, contains, deputy, run, spawn_logged, sqlite_files, stop_and_collect, store_canary,
    tail, unique,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_binary_output_and_no_byte_of_the_vault_file_holds_a_secret() {
    let dir = std::env::temp_dir().join(unique("deputy-hygiene-"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("vault.db");
    let mut canary = Canary::default();
    let mut outputs = Outputs::default();

    // Secrets that only live in configuration.
    let api_key = unique("sk-canary-api-key-");
    let client_secret = unique("canary-client-secret-");
    let pat = format!("ghp_{}", unique("CanaryPat").replace('-', ""));
    canary.add("config api_key", &api_key);
    canary.add("config dev client_secret", &client_secret);
    canary.add("fallback PAT", &pat);
    let config = format!(
        "{DEVELOPMENT_TOML}\n[store]\npath = {db:?}\n\n[[api_keys]]\nname = \"canary-llm\"\napi_key = \"{api_key}\"\n\n[[dev_idp.clients]]\nclient_id = \"canary-client\"\nclient_secret = \"{client_secret}\"\n"
    );
    std::fs::write(dir.join("vault.toml"), config).unwrap();

    let port = free_port();
    let vault = spawn_logged(
        &[
            "vault",
            "serve",
            "--config",
            dir.join("vault.toml").to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
        &dir,
        "vault-serve",
    );
    wait_for_port(port, "deputy vault serve").await;
    let proxy = RecordingProxy::start(&format!("http://127.0.0.1:{port}")).await;
    let endpoint = proxy.endpoint.clone();
    let ep = endpoint.as_str();

    // User JWTs: `vault token` prints one on stdout by design, and only it.
    let mut jwts = Vec::new();
    for audience in ["deputy", "docs-mcp"] {
        let (out, stdout, stderr) = run(
            &mut outputs,
            &format!("vault token {audience}"),
            &[
                "vault",
                "token",
                "--user",
                "alice",
                "--audience",
                audience,
                "--endpoint",
                ep,
            ],
        )
        .await;
        assert!(out.status.success(), "{stderr}");
        let jwt = stdout.trim().to_owned();
        assert_eq!(jwt.split('.').count(), 3);
        canary.add(&format!("user JWT for {audience}"), &jwt);
        outputs
            .0
            .retain(|(name, _)| !name.ends_with(&format!("{audience} stdout")));
        jwts.push(jwt);
    }

    // One resolve per flow. The CLI configures no verifier for on-behalf-of tokens, so the
    // vault issues one and the resolver refuses it: an error path that holds a real token.
    let resolves: [(&str, &[&str], &str); 3] = [
        (
            "m2m",
            &["linear", "--op", "read", "--headless"],
            "via m2m (rule service-read",
        ),
        (
            "webhook read",
            &["jira", "--op", "read", "--webhook-user", "dev+bob"],
            "via m2m",
        ),
        (
            "obo",
            &["aws-native", "--op", "read", "--user", "alice"],
            "failed verification",
        ),
    ];
    for (name, args, expected) in resolves {
        let mut full = vec!["resolve"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--endpoint", ep]);
        let (_, stdout, stderr) = run(&mut outputs, &format!("resolve {name}"), &full).await;
        assert!(
            stdout.contains(expected) || stderr.contains(expected),
            "{name}: {}",
            tail(&stderr)
        );
    }
    let (out, _, stderr) = run(
        &mut outputs,
        "resolve consent pending",
        &[
            "resolve",
            "jira",
            "--op",
            "read",
            "--user",
            "alice",
            "--endpoint",
            ep,
            "--return-url",
            "http://127.0.0.1:9/deputy/callback",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("consent required from provider \"jira\""));

    // 3LO to the end: consent in a (scripted) browser, the token stored in the SQLite file.
    let return_url = format!("http://127.0.0.1:{}/deputy/callback", free_port());
    let mut child = deputy(&[
        "resolve",
        "slack",
        "--op",
        "read",
        "--user",
        "bob",
        "--endpoint",
        ep,
        "--return-url",
        &return_url,
        "--wait",
        "30",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (link_tx, link_rx) = tokio::sync::oneshot::channel();
    let drained = tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let (mut all, mut link_tx) = (String::new(), Some(link_tx));
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("http")
                && let Some(tx) = link_tx.take()
            {
                let _ = tx.send(line.clone());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let link = tokio::time::timeout(Duration::from_secs(30), link_rx)
        .await
        .unwrap()
        .unwrap();
    let seen = deputy_vault_local::complete_consent_as_browser(&link, "bob", "bob")
        .await
        .unwrap();
    assert_eq!(
        deputy_tests::signed_in_browser::open_return_url(&seen.return_url, "bob", "bob")
            .await
            .unwrap(),
        200
    );
    let out = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("via user_federation"),
        "{stdout}"
    );
    outputs.add("resolve 3LO stdout", stdout);
    outputs.add("resolve 3LO stderr", drained.await.unwrap());

    // An API key through a table with an api_key rule.
    let keys = dir.join("keys.toml");
    std::fs::write(&keys, "version = 1\n[[rule]]\nid = \"llm\"\nintegrations = [\"llm\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"api_key\"\nprovider = \"canary-llm\"\n[[rule]]\nid = \"rest\"\nintegrations = [\"github\", \"linear\", \"jira\", \"slack\", \"aws-native\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"deny\"\nreason = \"not in this test\"\n").unwrap();
    let (out, stdout, stderr) = run(
        &mut outputs,
        "resolve api key",
        &[
            "resolve",
            "llm",
            "--op",
            "read",
            "--headless",
            "--policy",
            keys.to_str().unwrap(),
            "--endpoint",
            ep,
        ],
    )
    .await;
    assert!(
        out.status.success() && stdout.contains("via api_key"),
        "{stdout}{stderr}"
    );

    // doctor, reading the fallback PAT from Secrets Manager (moto).
    let moto = Moto::start().await;
    moto.put_secret("deputy-github-pat", &pat).await;
    let fallback_policy = dir.join("fallback.toml");
    std::fs::write(
        &fallback_policy,
        deputy_core::policy::PolicyTable::built_in_source().replace(
            "id = \"github-service-read\"",
            "id = \"github-service-read\"\nsecrets_manager_fallback = true",
        ) + "\n[fallback.github]\nsecret_id = \"deputy-github-pat\"\nshape = \"raw\"\n",
    )
    .unwrap();
    let out = deputy(&[
        "doctor",
        "--endpoint",
        ep,
        "--secrets-endpoint",
        &moto.endpoint,
        "--policy",
        fallback_policy.to_str().unwrap(),
    ])
    .env("DEPUTY_FALLBACK", "secrets-manager")
    .output()
    .await
    .unwrap();
    let (stdout, _) = outputs.add_output("doctor", &out);
    assert!(
        stdout.contains("OK   fallback secret deputy-github-pat for github"),
        "{stdout}"
    );

    // gateway simulate: passthrough and an on-behalf-of exchange through the vault.
    simulate_gateway(&mut canary, &mut outputs, &dir, port, ep, &jwts).await;

    // The in-process demo, the latch and the audit pipeline.
    let (out, _, stderr) = run(&mut outputs, "demo", &["demo"]).await;
    assert!(out.status.success(), "{stderr}");
    let latch = dir.join("latch.json");
    deputy::fallback::DowngradeLatch::open(&latch)
        .await
        .unwrap()
        .mark("workload:deputy-agent", "github")
        .await
        .unwrap();
    let (out, _, _) = run(
        &mut outputs,
        "fallback latched",
        &[
            "fallback",
            "latched",
            "--latch-file",
            latch.to_str().unwrap(),
        ],
    )
    .await;
    assert!(out.status.success());
    audit(&mut outputs, &dir, &jwts[0]).await;

    // Stop the vault; read its file as raw bytes before anything opens it again.
    stop_and_collect(vault, &dir, "vault-serve", &mut outputs).await;
    let files = sqlite_files(&db);
    let (seen, stored) = (proxy.canary(), store_canary(&db));
    let labels = [seen.labels(), stored.labels(), canary.labels()]
        .concat()
        .join(" ");
    for expected in [
        "workloadAccessToken",
        "accessToken",
        "apiKey",
        "store.access_token",
        "store.refresh_token",
        "store.code_verifier",
        "store.code",
        "target bearer",
    ] {
        assert!(
            labels.contains(expected),
            "the run handled no {expected}: {labels}"
        );
    }

    canary.merge(&seen);
    canary.merge(&stored);
    for (name, text) in &outputs.0 {
        canary.assert_clean(name, text);
    }
    // The search works on these bytes: the session id is a plaintext column.
    let session_id = proxy
        .exchanges()
        .iter()
        .filter_map(|e| serde_json::from_slice::<serde_json::Value>(&e.response).ok())
        .find_map(|v| {
            v["sessionUri"]
                .as_str()
                .map(|u| u.trim_start_matches(SESSION_URI_PREFIX).to_owned())
        })
        .expect("a consent session");
    assert!(
        files
            .iter()
            .any(|(_, bytes)| contains(bytes, session_id.as_bytes())),
        "the marker is in the file"
    );
    for (path, bytes) in &files {
        for (label, value) in canary.values() {
            assert!(
                !contains(bytes, value),
                "{label} in plaintext in {}",
                path.display()
            );
        }
        canary.assert_clean(&path.display().to_string(), &String::from_utf8_lossy(bytes));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
