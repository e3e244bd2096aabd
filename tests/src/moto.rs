//! A real `moto_server` (Secrets Manager, STS) on a free 127.0.0.1 port, stopped on drop.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_secretsmanager::config::Credentials;

use crate::process::{ChildGuard, INSTALL_HINT, free_port, repo_root};

pub struct Moto {
    _child: ChildGuard,
    pub endpoint: String,
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DEPUTY_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let path = repo_root().join(".peers/py/bin/moto_server");
    assert!(
        path.exists(),
        "moto_server is not installed at {}: {INSTALL_HINT} (or set DEPUTY_MOTO_SERVER)",
        path.display()
    );
    path
}

impl Moto {
    pub async fn start() -> Moto {
        let port = free_port();
        let child = Command::new(binary())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server (scripts/peers/install.sh installs it)");
        let endpoint = format!("http://127.0.0.1:{port}");
        let moto = Moto {
            _child: ChildGuard(child),
            endpoint,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/moto-api/", moto.endpoint)).await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on {}",
                moto.endpoint
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        moto
    }

    /// SDK settings for moto with the static test credentials.
    pub async fn sdk(&self) -> SdkConfig {
        self.sdk_with(Credentials::new("testing", "testing", None, None, "test"))
            .await
    }

    pub async fn sdk_with(&self, credentials: Credentials) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(credentials)
            .endpoint_url(&self.endpoint)
            .load()
            .await
    }

    /// Creates a secret in the default account.
    pub async fn put_secret(&self, name: &str, value: &str) {
        let client = aws_sdk_secretsmanager::Client::new(&self.sdk().await);
        client
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }

    /// Creates a secret in the account of `role_arn`, as that role.
    pub async fn put_secret_as_role(&self, role_arn: &str, name: &str, value: &str) {
        let sts = aws_sdk_sts::Client::new(&self.sdk().await);
        let out = sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name("setup")
            .send()
            .await
            .unwrap();
        let c = out.credentials().unwrap();
        let creds = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "setup",
        );
        let client = aws_sdk_secretsmanager::Client::new(&self.sdk_with(creds).await);
        client
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }
}
