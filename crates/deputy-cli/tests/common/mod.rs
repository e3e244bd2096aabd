//! What the CLI's process tests share: running `deputy`, reading its output, serving a vault.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use deputy_tests::process::{ChildGuard, free_port};

/// The `deputy` binary with no AWS or OTLP settings inherited from the machine.
pub fn deputy() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deputy"));
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("DEPUTY_VAULT_ENDPOINT");
    cmd
}

/// stdout and stderr as text.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `deputy vault serve` on a free loopback port, and its endpoint.
pub fn serve() -> (ChildGuard, String) {
    let port = free_port();
    let child = deputy()
        .args(["vault", "serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "vault serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (ChildGuard(child), endpoint)
}

/// Gets `user`'s consent for `integration` through `deputy resolve --wait` and the dev IdP,
/// as the user does in a browser: the vault then holds the user's token. `extra` are more
/// `deputy resolve` arguments (e.g. `--repo`, `--allow-repo`).
pub async fn consent(endpoint: &str, integration: &str, op: &str, user: &str, extra: &[&str]) {
    use std::io::{BufRead, BufReader};
    let return_url = format!("http://127.0.0.1:{}/deputy/callback", free_port());
    let mut child = deputy()
        .args([
            "resolve",
            integration,
            "--op",
            op,
            "--user",
            user,
            "--endpoint",
            endpoint,
        ])
        .args(["--return-url", &return_url, "--wait", "30"])
        .args(extra)
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
    let seen = deputy_vault_local::complete_consent_as_browser(&link, user, user)
        .await
        .unwrap();
    let status = deputy_tests::signed_in_browser::open_return_url(&seen.return_url, user, user)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
