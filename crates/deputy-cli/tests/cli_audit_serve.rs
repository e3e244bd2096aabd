//! `deputy audit serve` beyond loopback: refuses to start without a bearer token, and with
//! one answers requests that lack it `401`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use deputy_tests::process::{ChildGuard, free_port};

const TOKEN: &str = "9d2b7c41e0a35f86b1c4d7e0a2f5c8b3";

fn deputy() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deputy"));
    cmd.env_remove("DEPUTY_AUDIT_TOKEN")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    cmd
}

#[test]
fn serving_beyond_loopback_without_a_token_refuses_to_start() {
    let out = deputy()
        .args(["audit", "serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0 without a bearer token")
            && stderr.contains("--token-file")
            && stderr.contains("DEPUTY_AUDIT_TOKEN"),
        "{stderr}"
    );

    let out = deputy()
        .args(["audit", "serve", "--listen", "0.0.0.0:0"])
        .env("DEPUTY_AUDIT_TOKEN", "short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("shorter than 16 characters"), "{stderr}");
    assert!(
        !stderr.contains("short\n") && !stderr.contains("\"short\""),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_file_requests_need_the_bearer_token() {
    let dir = std::env::temp_dir().join(format!("deputy-audit-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let port = free_port();
    let mut child = ChildGuard(
        deputy()
            .args(["audit", "serve", "--listen", &format!("0.0.0.0:{port}")])
            .arg("--token-file")
            .arg(&token_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap());
    let mut banner = String::new();
    stderr.read_line(&mut banner).unwrap();
    assert!(banner.contains("bearer token required"), "{banner}");
    assert!(!banner.contains(TOKEN));

    let url = format!("http://127.0.0.1:{port}/v1/traces");
    let http = reqwest::Client::new();
    let send = |authorization: Option<String>| {
        let mut request = http
            .post(&url)
            .header("content-type", "application/json")
            .body(r#"{"resourceSpans":[]}"#);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send()
    };
    assert_eq!(send(None).await.unwrap().status(), 401);
    let wrong = send(Some(format!("Bearer {}", &TOKEN[1..]))).await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = send(Some(format!("Bearer {TOKEN}"))).await.unwrap();
    assert_eq!(right.status(), 200);
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
