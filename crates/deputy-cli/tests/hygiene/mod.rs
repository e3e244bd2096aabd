//! Support for `secret_hygiene_binaries.rs`: running `deputy` as logged processes, and
//! reading the vault's SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod steps;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use deputy_tests::canary::Canary;
use deputy_vault_local::config::StoreConfig;
use deputy_vault_local::store::Store;
use tokio::process::{Child, Command};

/// Everything the processes wrote, by name.
#[derive(Default)]
pub struct Outputs(pub Vec<(String, String)>);

impl Outputs {
    pub fn add(&mut self, name: &str, text: impl Into<String>) {
        self.0.push((name.to_owned(), text.into()));
    }
    pub fn add_output(&mut self, name: &str, out: &Output) -> (String, String) {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        self.add(&format!("{name} stdout"), stdout.clone());
        self.add(&format!("{name} stderr"), stderr.clone());
        (stdout, stderr)
    }
}

pub fn deputy(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deputy"));
    cmd.args(args)
        .env("DEPUTY_LOG", "trace")
        .env("RUST_LOG", "trace")
        .env("RUST_BACKTRACE", "1")
        .env("NO_COLOR", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("DEPUTY_VAULT_ENDPOINT")
        .env_remove("DEPUTY_FALLBACK")
        .env_remove("DEPUTY_POLICY")
        .kill_on_drop(true);
    cmd
}

pub async fn run(outputs: &mut Outputs, name: &str, args: &[&str]) -> (Output, String, String) {
    let out = deputy(args).output().await.unwrap();
    let (stdout, stderr) = outputs.add_output(name, &out);
    (out, stdout, stderr)
}

/// A long-running process whose stdout and stderr go to files.
pub fn spawn_logged(args: &[&str], dir: &Path, name: &str) -> Child {
    let file = |stream: &str| std::fs::File::create(dir.join(format!("{name}.{stream}"))).unwrap();
    deputy(args)
        .stdout(Stdio::from(file("stdout")))
        .stderr(Stdio::from(file("stderr")))
        .spawn()
        .unwrap()
}

pub async fn stop_and_collect(mut child: Child, dir: &Path, name: &str, outputs: &mut Outputs) {
    child.kill().await.unwrap();
    for stream in ["stdout", "stderr"] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.{stream}"))).unwrap();
        outputs.add(&format!("{name} {stream}"), text);
    }
}

/// The end of a process's stderr, for failure messages.
pub fn tail(text: &str) -> &str {
    let mut from = text.len().saturating_sub(1500);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    &text[from..]
}

/// A value no other run produces.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}{nanos:x}{:x}", std::process::id())
}

/// The SQLite file and whatever journal files sit next to it, as raw bytes.
pub fn sqlite_files(db: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", db.display())))
        .filter_map(|path| std::fs::read(&path).ok().map(|bytes| (path, bytes)))
        .collect()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The secrets inside the vault's store: decrypted with its key file, as only the vault can.
pub fn store_canary(db: &Path) -> Canary {
    let store = Store::open(&StoreConfig {
        path: Some(db.to_owned()),
        key_file: None,
    })
    .unwrap();
    let mut canary = Canary::default();
    for sealed in store.raw_rows().unwrap() {
        let plain = store.key().open(&sealed).expect("a row the key opens");
        canary.add_from_json("store", &serde_json::from_slice(&plain).unwrap());
    }
    canary
}
