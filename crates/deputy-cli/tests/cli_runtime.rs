//! `deputy demo`, `deputy vault serve|token` and `deputy resolve` as processes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use deputy_tests::process::{ChildGuard, free_port};

mod common;
use common::{deputy, serve, text};

#[test]
fn the_demo_walks_every_step_and_prints_no_token() {
    let out = deputy().arg("demo").output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for expected in [
        "via user_federation (rule github-interactive-read), source vault",
        "via user_federation (rule github-interactive-read), source cache",
        "via m2m (rule service-read), source vault",
        "fail closed: consent required from provider \"github\"",
        "via on_behalf_of (rule aws-native-obo)",
        "acted for by aws-native",
        "refused (policy_denied)",
        "\"deputy.cache\":\"hit\"",
        "\"deputy.actor_chain.observed\"",
        "target: verified a token for audience aws-native: sub alice, acted for by aws-native",
        // The OBO actor is declared, so the audit of the demo's own spans finds nothing.
        r#"\"agent\":\"aws-native\",\"workload\":\"deputy-agent\""#,
        // The forwarded link: alice approves mallory's consent, and nothing is bound.
        "mallory's agent needs her GitHub consent; she sends the link to alice instead",
        "the return URL sees alice signed in, not mallory: 403 (nothing bound)",
        "mallory's agent asks again: refused (consent_required, a new session of her own), she gets no one's token",
        // Five tokens issued, five refusals recorded too (#20 item 6), none a finding.
        "audit: 10 abca.audit.v1 records (5 refused), 0 findings",
        "refused: denied aws-native write (policy_denied)",
        "refused: consent_pending github write (consent_required)",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    let spans = stdout.lines().filter(|l| l.starts_with('{')).count();
    assert_eq!(spans, 10, "{stdout}");
    for line in stdout.lines().chain(stderr.lines()) {
        assert!(
            deputy_core::audit::looks_like_secret(line).is_none(),
            "token-shaped output: {line}"
        );
    }
}

#[test]
fn serve_token_and_resolve_work_across_processes() {
    let (_serve, endpoint) = serve();
    let out = deputy()
        .args(["vault", "token", "--user", "alice", "--endpoint", &endpoint])
        .output()
        .unwrap();
    let (jwt, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(jwt.trim().split('.').count(), 3, "a JWT");

    let out = deputy()
        .args([
            "resolve",
            "linear",
            "--op",
            "read",
            "--headless",
            "--endpoint",
            &endpoint,
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("token sha256:") && stdout.contains("via m2m (rule service-read"),
        "{stdout}"
    );

    let out = deputy()
        .args([
            "resolve",
            "jira",
            "--op",
            "read",
            "--user",
            "alice",
            "--endpoint",
            &endpoint,
        ])
        .args(["--return-url", "http://127.0.0.1:9/deputy/callback"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("consent required from provider \"jira\"")
            && stderr.contains("/idp/authorize"),
        "{stderr}"
    );

    let out = deputy()
        .args([
            "resolve",
            "aws-native",
            "--op",
            "write",
            "--webhook-user",
            "dev+alice",
            "--endpoint",
            &endpoint,
        ])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("denied by rule \"aws-native-webhook-write\""),
        "{stderr}"
    );

    // On-behalf-of: refused unverified, resolved once the provider's issuer is given.
    let obo = |verify: Option<String>| {
        let mut cmd = deputy();
        cmd.args([
            "resolve",
            "aws-native",
            "--op",
            "write",
            "--user",
            "alice",
            "--endpoint",
            &endpoint,
        ]);
        if let Some(v) = verify {
            cmd.args(["--verify", &v]);
        }
        cmd.output().unwrap()
    };
    let out = obo(None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("no verifier is configured"),
        "{:?}",
        text(&out)
    );
    let out = obo(Some(format!(
        "provider=aws-native,issuer={endpoint}/idp,audience=aws-native"
    )));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("via on_behalf_of (rule aws-native-obo"),
        "{stdout}"
    );
    let out = obo(Some("provider=aws-native,audience=aws-native".into()));
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses a malformed --verify"
    );
    assert!(
        text(&out).1.contains("issuer=URL is missing"),
        "{:?}",
        text(&out)
    );

    let out = deputy()
        .args(["resolve", "linear", "--op", "read", "--endpoint", &endpoint])
        .output()
        .unwrap();
    assert!(
        text(&out)
            .1
            .contains("--user NAME, --webhook-user ID or --headless")
    );
}

#[tokio::test]
async fn resolve_waits_for_consent_through_its_own_return_url() {
    use std::io::{BufRead, BufReader};
    let (_serve, endpoint) = serve();
    let port = free_port();
    let return_url = format!("http://127.0.0.1:{port}/deputy/callback");
    let mut child = deputy()
        .args([
            "resolve",
            "slack",
            "--op",
            "read",
            "--user",
            "bob",
            "--endpoint",
            &endpoint,
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
    let link = tokio::task::spawn_blocking(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with("http"))
            .expect("a consent link")
    })
    .await
    .unwrap();
    let seen = deputy_vault_local::complete_consent_as_browser(&link, "bob", "bob")
        .await
        .unwrap();
    // The return URL binds nothing for a browser with no sign-in, or signed in as someone
    // else: it sends the browser to sign in, and bob signs in as himself.
    let wrong =
        deputy_tests::signed_in_browser::open_return_url(&seen.return_url, "bob", "not-bobs")
            .await
            .unwrap();
    assert_eq!(wrong, 401, "a wrong password signs no one in");
    let status = deputy_tests::signed_in_browser::open_return_url(&seen.return_url, "bob", "bob")
        .await
        .unwrap();
    assert_eq!(status, 200);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("via user_federation (rule slack-interactive"),
        "{stdout}"
    );
}

#[test]
fn doctor_reports_and_fails_on_what_is_broken() {
    let (_serve, endpoint) = serve();
    let out = deputy()
        .args(["doctor", "--endpoint", &endpoint])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("OK   m2m provider github-service: a token was issued"),
        "{stdout}"
    );
    assert!(stdout.contains("NOTE user provider github"), "{stdout}");
    let out = deputy()
        .args([
            "doctor",
            "--endpoint",
            &endpoint,
            "--workload",
            "ghost-workload",
        ])
        .env("DEPUTY_FALLBACK", "secrets-manager")
        .output()
        .unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "FAIL workload access token for ghost-workload: ghost-workload does not exist"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("FAIL Secrets Manager fallback: DEPUTY_FALLBACK=secrets-manager is set, but the table configures no"), "{stdout}");
}

#[tokio::test]
async fn the_latch_can_be_listed_and_cleared_by_an_operator() {
    let dir = std::env::temp_dir().join(format!("deputy-cli-latch-{}", std::process::id()));
    let file = dir.join("latch.json");
    let latch = deputy::fallback::DowngradeLatch::open(&file).await.unwrap();
    latch.mark("workload:deputy-agent", "github").await.unwrap();
    let file = file.to_str().unwrap().to_owned();
    let list = deputy()
        .args(["fallback", "latched", "--latch-file", &file])
        .output()
        .unwrap();
    assert_eq!(text(&list).0, "workload:deputy-agent\tgithub\n");
    let clear = deputy()
        .args([
            "fallback",
            "clear-latch",
            "--latch-file",
            &file,
            "--principal",
            "workload:deputy-agent",
            "--integration",
            "github",
        ])
        .output()
        .unwrap();
    assert!(clear.status.success(), "{}", text(&clear).1);
    let again = deputy()
        .args([
            "fallback",
            "clear-latch",
            "--latch-file",
            &file,
            "--principal",
            "workload:deputy-agent",
            "--integration",
            "github",
        ])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).1.contains("is not latched"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_simulate_runs_the_interceptor_between_agent_and_target() {
    use std::sync::{Arc, Mutex};
    let (_serve, endpoint) = serve();
    // The target: records what arrives and answers a JSON-RPC result.
    let seen: Arc<Mutex<Vec<(String, serde_json::Value)>>> = Arc::default();
    let sink = seen.clone();
    let target = axum::Router::new().route(
        "/mcp",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::Json<serde_json::Value>| {
            let sink = sink.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                sink.lock().unwrap().push((auth, body.0.clone()));
                axum::Json(serde_json::json!({"jsonrpc": "2.0", "id": body.0["id"], "result": {"ok": true}}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, target).await });

    let config = std::env::temp_dir().join(format!("deputy-sim-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        format!("workload = \"deputy-agent\"\n[[target]]\nname = \"docs\"\nmode = \"passthrough\"\nissuer = \"{endpoint}/idp\"\njwks_uri = \"{endpoint}/idp/jwks\"\naudience = \"docs-mcp\"\n"),
    )
    .unwrap();
    let port = free_port();
    let _sim = ChildGuard(
        deputy()
            .args([
                "gateway",
                "simulate",
                "--config",
                config.to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--target",
                &target_url,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "simulate did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = deputy()
        .args([
            "vault",
            "token",
            "--user",
            "alice",
            "--audience",
            "docs-mcp",
            "--endpoint",
            &endpoint,
        ])
        .output()
        .unwrap();
    let jwt = text(&out).0.trim().to_owned();
    let call = serde_json::json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "docs___search", "arguments": {"q": "deputy"}}});
    let http = reqwest::Client::new();
    let ok = http
        .post(format!("http://127.0.0.1:{port}/mcp"))
        .header("X-Custom-UserToken", &jwt)
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.json::<serde_json::Value>().await.unwrap()["result"]["ok"],
        true
    );
    let (auth, body) = seen.lock().unwrap()[0].clone();
    assert_eq!(auth, format!("Bearer {jwt}"));
    assert_eq!(body, call);
    let forged = http
        .post(format!("http://127.0.0.1:{port}/mcp"))
        .header("X-Custom-UserToken", format!("{jwt}x"))
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let refusal: serde_json::Value = forged.json().await.unwrap();
    assert_eq!(refusal["error"]["code"], -32001);
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "the target is never called for a refused request"
    );
}
