//! Finding and running the third-party programs the tests start (Chromium, chromedriver, Node,
//! rotel): where the installer put them, free ports, waiting until they listen, and killing
//! them when the test ends. A missing program fails the test with a message naming
//! `scripts/peers/install.sh` and the variable that overrides the lookup.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The fix for a missing peer, for failure messages.
pub const INSTALL_HINT: &str = "run scripts/peers/install.sh to install the test peers";

/// How long [`wait_for_port`] and [`wait_until_up`] wait for a peer to come up.
const STARTUP: Duration = Duration::from_secs(30);

/// The repository's root directory (where `.peers/` and `scripts/` are).
///
/// ```
/// assert!(deputy_tests::process::repo_root().join("scripts/peers/install.sh").is_file());
/// ```
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the deputy-tests crate sits one level below the repository root")
        .to_path_buf()
}

fn on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A peer program: the path in `$env_var` if set, else the first of `names` on `PATH`;
/// panics naming the installer and `env_var` when neither gives one.
///
/// ```no_run
/// let chromedriver =
///     deputy_tests::process::require_binary("DEPUTY_CHROMEDRIVER", &["chromedriver"]);
/// ```
pub fn require_binary(env_var: &str, names: &[&str]) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var) {
        return PathBuf::from(path);
    }
    names
        .iter()
        .find_map(|name| on_path(name))
        .unwrap_or_else(|| {
            panic!(
                "none of {} is on PATH: {INSTALL_HINT} (or set {env_var} to its path)",
                names.join(", ")
            )
        })
}

/// Node 22: `$DEPUTY_NODE`, else `.peers/node` (installed by the script), else `node` on `PATH`.
///
/// ```no_run
/// let version = std::process::Command::new(deputy_tests::process::require_node())
///     .arg("--version")
///     .output()
///     .unwrap();
/// ```
pub fn require_node() -> PathBuf {
    if let Some(path) = std::env::var_os("DEPUTY_NODE") {
        return PathBuf::from(path);
    }
    let pinned = repo_root().join(".peers/node");
    if pinned.is_file() {
        return pinned;
    }
    on_path("node")
        .unwrap_or_else(|| panic!("node is not installed: {INSTALL_HINT} (or set DEPUTY_NODE)"))
}

/// The rotel OTLP collector: `$DEPUTY_ROTEL`, else the `rotel-agent` the installer put in the
/// Python environment under `.peers/py`.
///
/// ```no_run
/// let rotel = deputy_tests::process::rotel();
/// ```
pub fn rotel() -> PathBuf {
    if let Some(path) = std::env::var_os("DEPUTY_ROTEL") {
        return PathBuf::from(path);
    }
    let lib = repo_root().join(".peers/py/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("site-packages/rotel/rotel-agent"))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "rotel (the OTLP collector) is not installed under {}: {INSTALL_HINT} (or set DEPUTY_ROTEL)",
            lib.display()
        )
    })
}

/// A 127.0.0.1 port nothing listens on right now, for a peer to bind.
///
/// ```
/// let port = deputy_tests::process::free_port();
/// assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
/// ```
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind an ephemeral port on 127.0.0.1")
        .port()
}

/// Waits (up to 30 s) until something accepts TCP connections on 127.0.0.1:`port`;
/// panics naming `what` otherwise.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let port = listener.local_addr().unwrap().port();
/// deputy_tests::process::wait_for_port(port, "the listener").await;
/// # });
/// ```
pub async fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + STARTUP;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "{what} never listened on 127.0.0.1:{port} within {STARTUP:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (up to 30 s) until a GET of `url` answers 2xx; panics with the last answer otherwise.
///
/// ```no_run
/// # async fn example() {
/// deputy_tests::process::wait_until_up("http://127.0.0.1:9515/status").await;
/// # }
/// ```
pub async fn wait_until_up(url: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + STARTUP;
    loop {
        let last = match client.get(url).send().await {
            Ok(response) if response.status().is_success() => return,
            Ok(response) => format!("status {}", response.status()),
            Err(error) => error.to_string(),
        };
        assert!(
            Instant::now() < deadline,
            "{url} did not come up within {STARTUP:?} (last: {last})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A child process that is killed (through its own handle, never by name) when dropped.
///
/// ```
/// let child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
/// let guard = deputy_tests::process::ChildGuard(child);
/// drop(guard); // kills and reaps the sleep
/// ```
#[derive(Debug)]
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` with stdin and stdout closed and stderr inherited (so a peer's complaint
/// shows in the test's output); panics naming the program and the installer when it cannot
/// start.
///
/// ```
/// let mut command = std::process::Command::new("sleep");
/// let _sleep = deputy_tests::process::spawn(command.arg("60"));
/// ```
pub fn spawn(command: &mut Command) -> ChildGuard {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "cannot start {}: {error} ({INSTALL_HINT})",
                command.get_program().to_string_lossy()
            )
        });
    ChildGuard(child)
}
