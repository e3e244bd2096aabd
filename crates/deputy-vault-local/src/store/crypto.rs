//! AES-256-GCM encryption of values at rest, with a key file created 0600 on first start.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::error::VaultError;
use crate::ids::random_bytes;

const KEY_LEN: usize = 32;

/// The vault's data key.
pub struct DataKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    fn from_bytes(bytes: &[u8]) -> Result<Self, VaultError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| VaultError::Crypto("the data key must be 32 bytes".into()))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// A fresh random key (for in-memory stores).
    pub fn random() -> Result<Self, VaultError> {
        let bytes = random_bytes(KEY_LEN);
        if bytes.len() != KEY_LEN {
            return Err(VaultError::Crypto(
                "the system random generator failed".into(),
            ));
        }
        Self::from_bytes(&bytes)
    }

    /// Loads the key file, creating it (mode 0600) with a random key when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, VaultError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::from_bytes(&bytes).map_err(|_| {
                VaultError::Crypto(format!(
                    "key file {} does not hold a 32-byte key",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes = random_bytes(KEY_LEN);
                if bytes.len() != KEY_LEN {
                    return Err(VaultError::Crypto(
                        "the system random generator failed".into(),
                    ));
                }
                write_private_file(path, &bytes)?;
                Self::from_bytes(&bytes)
            }
            Err(e) => Err(VaultError::io(
                format!("reading key file {}", path.display()),
                e,
            )),
        }
    }

    /// Encrypts `plaintext`; the output is nonce || ciphertext || tag.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        let nonce_bytes = random_bytes(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&nonce_bytes)
            .map_err(|_| VaultError::Crypto("nonce generation failed".into()))?;
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(nonce, Aad::empty(), &mut buf)
            .map_err(|_| VaultError::Crypto("encryption failed".into()))?;
        let mut out = nonce_bytes;
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Decrypts what [`DataKey::seal`] produced; `None` when it was tampered with or sealed
    /// under another key.
    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce_bytes, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce_bytes).ok()?;
        let mut buf = ciphertext.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::empty(), &mut buf).ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(unix)]
fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| VaultError::io(format!("creating key file {}", path.display()), e))?;
    file.write_all(bytes)
        .map_err(|e| VaultError::io(format!("writing key file {}", path.display()), e))
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    std::fs::write(path, bytes)
        .map_err(|e| VaultError::io(format!("writing key file {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_detects_tampering() {
        let key = DataKey::random().unwrap();
        let mut sealed = key.seal(b"gho_secret").unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"gho_secret"));
        assert_eq!(key.open(&sealed).unwrap(), b"gho_secret");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(key.open(&sealed).is_none());
        assert!(
            DataKey::random()
                .unwrap()
                .open(&key.seal(b"x").unwrap())
                .is_none()
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_created_0600_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("deputy-key-{}", crate::ids::random_token(6)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vault.key");
        let first = DataKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let second = DataKey::load_or_create(&path).unwrap();
        assert_eq!(second.open(&first.seal(b"v").unwrap()).unwrap(), b"v");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
