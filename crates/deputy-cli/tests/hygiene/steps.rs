//! Steps of the hygiene run that need their own peers: `gateway simulate` with a target, and
//! the audit pipeline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use deputy_tests::canary::Canary;
use deputy_tests::process::{free_port, wait_for_port};

use super::{Outputs, deputy, spawn_logged, stop_and_collect};

/// `deputy gateway simulate` in front of a target that records the bearer tokens it receives.
pub async fn simulate_gateway(
    canary: &mut Canary,
    outputs: &mut Outputs,
    dir: &Path,
    vault_port: u16,
    ep: &str,
    jwts: &[String],
) {
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = received.clone();
    let target = axum::Router::new().route(
        "/mcp",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::Json<serde_json::Value>| {
                let sink = sink.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    sink.lock()
                        .unwrap()
                        .push(auth.trim_start_matches("Bearer ").to_owned());
                    axum::Json(
                        serde_json::json!({"jsonrpc": "2.0", "id": body.0["id"], "result": {}}),
                    )
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, target).await });
    let issuer = format!("http://127.0.0.1:{vault_port}/idp");
    let config = dir.join("gateway.toml");
    std::fs::write(&config, format!(
        "workload = \"deputy-agent\"\nvault_endpoint = \"{ep}\"\nregion = \"us-east-1\"\n\
         [inbound]\nissuer = \"{issuer}\"\njwks_uri = \"{issuer}/jwks\"\naudiences = [\"deputy\"]\nidp_prefix = \"dev\"\n\
         [[target]]\nname = \"docs\"\nmode = \"passthrough\"\nissuer = \"{issuer}\"\njwks_uri = \"{issuer}/jwks\"\naudience = \"docs-mcp\"\n\
         [[target]]\nname = \"aws\"\nmode = \"exchange\"\nintegration = \"aws-native\"\nissuer = \"{issuer}\"\njwks_uri = \"{issuer}/jwks\"\naudience = \"aws-native\"\n"
    )).unwrap();
    let port = free_port();
    let sim = spawn_logged(
        &[
            "gateway",
            "simulate",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--target",
            &target_url,
        ],
        dir,
        "gateway-simulate",
    );
    wait_for_port(port, "deputy gateway simulate").await;
    let http = reqwest::Client::new();
    for (tool, jwt) in [
        ("docs___search", &jwts[1]),
        ("aws___describe", &jwts[0]),
        ("docs___search", &format!("{}x", jwts[1])),
    ] {
        let call = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {}}});
        let answer = http
            .post(format!("http://127.0.0.1:{port}/mcp"))
            .header("X-Custom-UserToken", jwt)
            .json(&call)
            .send()
            .await
            .unwrap();
        let text = answer.text().await.unwrap();
        outputs.add(&format!("gateway answer {tool}"), text);
    }
    let received = received.lock().unwrap().clone();
    assert_eq!(
        received.len(),
        2,
        "passthrough and exchange reach the target, the forgery does not"
    );
    assert_eq!(received[0], jwts[1]);
    for token in &received {
        canary.add("target bearer", token);
    }
    stop_and_collect(sim, dir, "gateway-simulate", outputs).await;
}

/// `deputy audit ingest` of a clean span and of one that carries a user JWT, then `report`.
pub async fn audit(outputs: &mut Outputs, dir: &Path, jwt: &str) {
    let span = |extra: &str| {
        format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"deputy.resolve","endTimeUnixNano":"1795000000000000000","attributes":[{{"key":"task_id","value":{{"stringValue":"t-cli"}}}},{{"key":"deputy.integration","value":{{"stringValue":"jira"}}}},{{"key":"deputy.operation","value":{{"stringValue":"read"}}}},{{"key":"deputy.flow","value":{{"stringValue":"m2m"}}}},{{"key":"deputy.rule_id","value":{{"stringValue":"service-read"}}}},{{"key":"deputy.source","value":{{"stringValue":"vault"}}}},{{"key":"deputy.consent","value":{{"stringValue":"not_required"}}}}{extra}]}}]}}]}}]}}"#
        )
    };
    let input = dir.join("spans.jsonl");
    let leaky = format!(
        r#",{{"key":"http.request.header.authorization","value":{{"stringValue":"Bearer {jwt}"}}}}"#
    );
    std::fs::write(
        &input,
        format!(
            "{}\n{}\n",
            span(""),
            span(&leaky).replace("00f067aa0ba902b7", "00f067aa0ba902b8")
        ),
    )
    .unwrap();
    let (records, findings, html) = (
        dir.join("records.jsonl"),
        dir.join("findings.jsonl"),
        dir.join("report.html"),
    );
    let out = deputy(&[
        "audit",
        "ingest",
        input.to_str().unwrap(),
        "--out",
        records.to_str().unwrap(),
        "--findings",
        findings.to_str().unwrap(),
    ])
    .output()
    .await
    .unwrap();
    let (_, stderr) = outputs.add_output("audit ingest", &out);
    assert!(stderr.contains("1 records, 1 refused"), "{stderr}");
    let out = deputy(&[
        "audit",
        "report",
        "--in",
        records.to_str().unwrap(),
        "--out",
        html.to_str().unwrap(),
        "--findings",
        findings.to_str().unwrap(),
    ])
    .output()
    .await
    .unwrap();
    outputs.add_output("audit report", &out);
    assert!(out.status.success());
    for file in [&records, &findings, &html] {
        outputs.add(
            &file.display().to_string(),
            std::fs::read_to_string(file).unwrap(),
        );
    }
}
