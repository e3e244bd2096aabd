//! The SQLite store of sessions and vault tokens. Every row's value is JSON sealed with
//! AES-256-GCM, so token values, codes and PKCE verifiers are encrypted at rest.
//! Calls are short and run under a `std::sync::Mutex`.

use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::StoreConfig;
use crate::error::VaultError;
use crate::store::crypto::DataKey;

/// The vault's store.
pub struct Store {
    conn: Mutex<Connection>,
    key: DataKey,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, state TEXT NOT NULL UNIQUE, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (key TEXT PRIMARY KEY, data BLOB NOT NULL);
";

fn store_err(e: rusqlite::Error) -> VaultError {
    VaultError::Store(e.to_string())
}

impl Store {
    /// Opens the store described by `config` (in memory when it has no path).
    pub fn open(config: &StoreConfig) -> Result<Self, VaultError> {
        let (conn, key) = match &config.path {
            None => {
                let key = match &config.key_file {
                    Some(path) => DataKey::load_or_create(path)?,
                    None => DataKey::random()?,
                };
                (Connection::open_in_memory().map_err(store_err)?, key)
            }
            Some(path) => {
                let key_path = config.key_file.clone().unwrap_or_else(|| {
                    let mut p = path.clone().into_os_string();
                    p.push(".key");
                    p.into()
                });
                let key = DataKey::load_or_create(&key_path)?;
                (Connection::open(path).map_err(store_err)?, key)
            }
        };
        conn.execute_batch(SCHEMA).map_err(store_err)?;
        Ok(Self {
            conn: Mutex::new(conn),
            key,
        })
    }

    /// The data key, also used to seal workload access tokens.
    pub fn key(&self) -> &DataKey {
        &self.key
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, VaultError> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| VaultError::Store("store lock poisoned".into()))?;
        f(&conn).map_err(store_err)
    }

    fn seal<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, VaultError> {
        let json = serde_json::to_vec(value).map_err(|e| VaultError::Store(e.to_string()))?;
        self.key.seal(&json)
    }

    fn unseal<T: DeserializeOwned>(
        &self,
        sealed: Option<Vec<u8>>,
    ) -> Result<Option<T>, VaultError> {
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let plain = self.key.open(&sealed).ok_or_else(|| {
            VaultError::Store("a stored value could not be decrypted with the key file".into())
        })?;
        serde_json::from_slice(&plain)
            .map(Some)
            .map_err(|e| VaultError::Store(e.to_string()))
    }

    /// Inserts or replaces a session, indexed by its id and OAuth `state`.
    pub fn put_session<T: Serialize>(
        &self,
        id: &str,
        state: &str,
        value: &T,
    ) -> Result<(), VaultError> {
        let data = self.seal(value)?;
        self.with_conn(|c| {
            c.execute(
                "INSERT OR REPLACE INTO sessions (id, state, data) VALUES (?1, ?2, ?3)",
                params![id, state, data],
            )
            .map(|_| ())
        })
    }

    /// Reads a session by id.
    pub fn session<T: DeserializeOwned>(&self, id: &str) -> Result<Option<T>, VaultError> {
        let sealed = self.with_conn(|c| {
            c.query_row(
                "SELECT data FROM sessions WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
        })?;
        self.unseal(sealed)
    }

    /// Compare-and-set on a session: under the store lock, reads it, asks `decide` for its
    /// successor and writes that, so two callers never both act on the same state. Returns the
    /// successor when `decide` chose one, `None` when the session is unknown or was left as is.
    pub fn update_session<T: Serialize + DeserializeOwned>(
        &self,
        id: &str,
        decide: impl FnOnce(T) -> Option<T>,
    ) -> Result<Option<T>, VaultError> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| VaultError::Store("store lock poisoned".into()))?;
        let row: Option<(String, Vec<u8>)> = conn
            .query_row(
                "SELECT state, data FROM sessions WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(store_err)?;
        let Some((oauth_state, sealed)) = row else {
            return Ok(None);
        };
        let Some(current) = self.unseal::<T>(Some(sealed))? else {
            return Ok(None);
        };
        let Some(next) = decide(current) else {
            return Ok(None);
        };
        let data = self.seal(&next)?;
        conn.execute(
            "UPDATE sessions SET data = ?1 WHERE id = ?2 AND state = ?3",
            params![data, id, oauth_state],
        )
        .map_err(store_err)?;
        Ok(Some(next))
    }

    /// Finds a session id by its OAuth `state`.
    pub fn session_id_by_state(&self, state: &str) -> Result<Option<String>, VaultError> {
        self.with_conn(|c| {
            c.query_row(
                "SELECT id FROM sessions WHERE state = ?1",
                params![state],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// Inserts or replaces a vault token.
    pub fn put_token<T: Serialize>(&self, key: &str, value: &T) -> Result<(), VaultError> {
        let data = self.seal(value)?;
        self.with_conn(|c| {
            c.execute(
                "INSERT OR REPLACE INTO tokens (key, data) VALUES (?1, ?2)",
                params![key, data],
            )
            .map(|_| ())
        })
    }

    /// Reads a vault token.
    pub fn token<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, VaultError> {
        let sealed = self.with_conn(|c| {
            c.query_row(
                "SELECT data FROM tokens WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()
        })?;
        self.unseal(sealed)
    }

    /// Raw sealed bytes of every stored row (tests use it to prove encryption at rest).
    pub fn raw_rows(&self) -> Result<Vec<Vec<u8>>, VaultError> {
        self.with_conn(|c| {
            let mut stmt =
                c.prepare("SELECT data FROM sessions UNION ALL SELECT data FROM tokens")?;
            let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_a_reopen_and_are_encrypted_in_the_file() {
        let dir =
            std::env::temp_dir().join(format!("deputy-store-{}", crate::ids::random_token(6)));
        std::fs::create_dir_all(&dir).unwrap();
        let config = StoreConfig {
            path: Some(dir.join("vault.db")),
            key_file: None,
        };
        {
            let store = Store::open(&config).unwrap();
            store.put_token("k", &"gho_plaintext_token").unwrap();
            store
                .put_session("s1", "state1", &"session-code-value")
                .unwrap();
        }
        let file = std::fs::read(dir.join("vault.db")).unwrap();
        assert!(!file.windows(19).any(|w| w == b"gho_plaintext_token"));
        assert!(dir.join("vault.db.key").exists());
        let store = Store::open(&config).unwrap();
        assert_eq!(
            store.token::<String>("k").unwrap().unwrap(),
            "gho_plaintext_token"
        );
        assert_eq!(store.session_id_by_state("state1").unwrap().unwrap(), "s1");
        assert_eq!(
            store.session::<String>("s1").unwrap().unwrap(),
            "session-code-value"
        );
        assert!(store.token::<String>("missing").unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
