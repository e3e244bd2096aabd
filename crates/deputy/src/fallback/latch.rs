//! The no-downgrade latch: once the vault has served a principal for an integration, a later
//! vault outage never moves it back to the shared secret until an operator clears the latch.
//!
//! The latch is a small JSON file, rewritten atomically (temporary file + rename) whenever a new
//! principal is latched, so it survives restarts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Why the latch file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("no-downgrade latch file {path}: {problem}")]
pub struct LatchError {
    /// The file.
    pub path: String,
    /// What went wrong.
    pub problem: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct LatchFile {
    version: u32,
    /// `principal|integration` → Unix seconds when the vault first served it.
    latched: BTreeMap<String, u64>,
}

/// The latch, loaded in memory and persisted to its file.
#[derive(Debug)]
pub struct DowngradeLatch {
    path: PathBuf,
    entries: Mutex<BTreeMap<String, u64>>,
    /// Serializes writers; each takes its snapshot under it, so the last rename is the newest.
    writing: tokio::sync::Mutex<()>,
}

fn key(principal: &str, integration: &str) -> String {
    format!("{principal}|{integration}")
}

impl DowngradeLatch {
    /// Opens (or starts) the latch file at `path`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let dir = std::env::temp_dir().join(format!("deputy-latch-doc-{}", std::process::id()));
    /// let latch = deputy::fallback::DowngradeLatch::open(dir.join("latch.json")).await.unwrap();
    /// assert!(!latch.is_latched("workload:agent", "github"));
    /// latch.mark("workload:agent", "github").await.unwrap();
    /// let reopened = deputy::fallback::DowngradeLatch::open(dir.join("latch.json")).await.unwrap();
    /// assert!(reopened.is_latched("workload:agent", "github"));
    /// # });
    /// ```
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self, LatchError> {
        let path = path.into();
        let entries = match tokio::fs::read(&path).await {
            Ok(bytes) => {
                let file: LatchFile = serde_json::from_slice(&bytes).map_err(|e| {
                    latch_error(
                        &path,
                        format!("unreadable ({e}); an operator must fix or delete it"),
                    )
                })?;
                file.latched
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(latch_error(&path, e.to_string())),
        };
        Ok(DowngradeLatch {
            path,
            entries: Mutex::new(entries),
            writing: tokio::sync::Mutex::new(()),
        })
    }

    /// Whether the vault has served `principal` for `integration` before.
    pub fn is_latched(&self, principal: &str, integration: &str) -> bool {
        self.entries
            .lock()
            .map(|e| e.contains_key(&key(principal, integration)))
            .unwrap_or(true)
    }

    /// Records that the vault served `principal` for `integration` (persisting only when new).
    pub async fn mark(&self, principal: &str, integration: &str) -> Result<(), LatchError> {
        {
            let mut entries = self
                .entries
                .lock()
                .map_err(|_| latch_error(&self.path, "lock poisoned".into()))?;
            if entries.contains_key(&key(principal, integration)) {
                return Ok(());
            }
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            entries.insert(key(principal, integration), now);
        }
        self.persist().await
    }

    /// Clears the latch for `principal` and `integration` (an operator's decision). Returns
    /// whether it was set.
    pub async fn clear(&self, principal: &str, integration: &str) -> Result<bool, LatchError> {
        let was = {
            let mut entries = self
                .entries
                .lock()
                .map_err(|_| latch_error(&self.path, "lock poisoned".into()))?;
            entries.remove(&key(principal, integration)).is_some()
        };
        self.persist().await?;
        Ok(was)
    }

    /// Every latched `(principal, integration)`.
    pub fn entries(&self) -> Vec<(String, String)> {
        self.entries
            .lock()
            .map(|e| {
                e.keys()
                    .filter_map(|k| k.rsplit_once('|'))
                    .map(|(p, i)| (p.to_owned(), i.to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn persist(&self) -> Result<(), LatchError> {
        let _writer = self.writing.lock().await;
        let latched = self
            .entries
            .lock()
            .map_err(|_| latch_error(&self.path, "lock poisoned".into()))?
            .clone();
        let bytes = serde_json::to_vec_pretty(&LatchFile {
            version: 1,
            latched,
        })
        .map_err(|e| latch_error(&self.path, e.to_string()))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| latch_error(&self.path, e.to_string()))?;
        }
        let tmp = self.path.with_extension("json.tmp");
        tokio::fs::write(&tmp, bytes)
            .await
            .map_err(|e| latch_error(&self.path, e.to_string()))?;
        tokio::fs::rename(&tmp, &self.path)
            .await
            .map_err(|e| latch_error(&self.path, e.to_string()))
    }
}

fn latch_error(path: &Path, problem: String) -> LatchError {
    LatchError {
        path: path.display().to_string(),
        problem,
    }
}
