use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const INSTALL_HINT: &str = "run scripts/peers/install.sh to install the test peers";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// A peer binary: `$env_var`, else the first of `names` on PATH, else a failure naming the installer.
pub fn require_binary(env_var: &str, names: &[&str]) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var) {
        return PathBuf::from(path);
    }
    names.iter().find_map(|n| on_path(n)).unwrap_or_else(|| {
        panic!(
            "{} not found (set {env_var} or {INSTALL_HINT})",
            names.join("/")
        )
    })
}

/// Node 22 from `.peers/node` (installed by the script), `$DEPUTY_NODE`, or `node` on PATH.
pub fn require_node() -> PathBuf {
    if let Some(path) = std::env::var_os("DEPUTY_NODE") {
        return PathBuf::from(path);
    }
    let pinned = repo_root().join(".peers/node");
    if pinned.exists() {
        return pinned;
    }
    on_path("node").unwrap_or_else(|| panic!("node not found ({INSTALL_HINT})"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process that is killed (by its own handle) when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn spawn(command: &mut Command) -> ChildGuard {
    ChildGuard(
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    )
}

/// Polls `url` until it answers 2xx; fails after `attempts` tries 100 ms apart.
pub async fn wait_until_up(url: &str, attempts: u32) {
    let client = reqwest::Client::new();
    for _ in 0..attempts {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{url} did not come up");
}

pub async fn verify_jwt(token: &str, jwks_url: &str, issuer: &str) -> serde_json::Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        reqwest::get(jwks_url).await.unwrap().json().await.unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.validate_aud = false;
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .unwrap()
        .claims
}

pub fn data_plane(endpoint: &str) -> aws_sdk_bedrockagentcore::Client {
    use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_bedrockagentcore::Client::from_conf(config)
}

pub fn control_plane(endpoint: &str) -> aws_sdk_bedrockagentcorecontrol::Client {
    use aws_sdk_bedrockagentcorecontrol::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_bedrockagentcorecontrol::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_bedrockagentcorecontrol::Client::from_conf(config)
}
