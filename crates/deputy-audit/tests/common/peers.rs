//! Starting and stopping the third-party programs the end-to-end tests run against.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the child (by its own pid) when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The rotel collector from `scripts/peers/install.sh` (or `DEPUTY_ROTEL`); fails the test
/// with the fix when it is missing.
pub fn rotel() -> PathBuf {
    if let Ok(path) = std::env::var("DEPUTY_ROTEL") {
        return PathBuf::from(path);
    }
    let lib = repo_root().join(".peers/py/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("site-packages/rotel/rotel-agent"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "rotel (the OTLP collector) is not installed under {}: run scripts/peers/install.sh (or set DEPUTY_ROTEL)",
            lib.display()
        )
    })
}

/// The first binary found on PATH (or the variable); fails naming the installer.
pub fn require_binary(var: &str, names: &[&str]) -> PathBuf {
    if let Ok(path) = std::env::var(var) {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("none of {names:?} is on PATH: run scripts/peers/install.sh (or set {var})");
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (up to 30 s) until something accepts connections on the port.
pub async fn wait_for_port(port: u16, what: &str) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} never listened on 127.0.0.1:{port}");
}

pub fn spawn(command: &mut Command) -> ChildGuard {
    ChildGuard(
        command
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}")),
    )
}
