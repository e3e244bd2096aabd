//! The dev IdP's RS256 signing keys: generation (aws-lc-rs), JWT signing, JWKS, rotation and
//! verification of its own tokens.

use std::sync::RwLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use crate::error::VaultError;
use crate::ids::{b64url, hex, sha256};

struct SigningKey {
    kid: String,
    pair: RsaKeyPair,
    n: Vec<u8>,
    e: Vec<u8>,
}

/// The dev IdP's key set. The newest key signs; older keys stay in the JWKS so tokens they
/// signed keep verifying after a rotation.
pub struct SigningKeys {
    keys: RwLock<Vec<SigningKey>>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKeys(<redacted>)")
    }
}

fn generate() -> Result<SigningKey, VaultError> {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| VaultError::Crypto("RSA key generation failed".into()))?;
    let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
    let kid = hex(&sha256(&components.n)[..8]);
    Ok(SigningKey {
        kid,
        pair,
        n: components.n,
        e: components.e,
    })
}

impl SigningKeys {
    /// A key set with one fresh key.
    pub fn generate() -> Result<Self, VaultError> {
        Ok(Self {
            keys: RwLock::new(vec![generate()?]),
        })
    }

    /// Adds a new signing key (it signs from now on) and returns its `kid`.
    pub fn rotate(&self) -> Result<String, VaultError> {
        let key = generate()?;
        let kid = key.kid.clone();
        let mut keys = self
            .keys
            .write()
            .map_err(|_| VaultError::Crypto("key lock poisoned".into()))?;
        keys.push(key);
        Ok(kid)
    }

    /// Signs `claims` as an RS256 JWT with header `typ`.
    pub fn sign(&self, claims: &Value, typ: &str) -> Result<String, VaultError> {
        let keys = self
            .keys
            .read()
            .map_err(|_| VaultError::Crypto("key lock poisoned".into()))?;
        let key = keys
            .last()
            .ok_or_else(|| VaultError::Crypto("no signing key".into()))?;
        let header = json!({ "alg": "RS256", "typ": typ, "kid": key.kid });
        let signing_input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let mut signature = vec![0u8; key.pair.public_modulus_len()];
        key.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| VaultError::Crypto("RS256 signing failed".into()))?;
        Ok(format!("{signing_input}.{}", b64url(&signature)))
    }

    /// The public JWKS document.
    pub fn jwks(&self) -> Value {
        let keys = match self.keys.read() {
            Ok(keys) => keys,
            Err(poisoned) => poisoned.into_inner(),
        };
        let list: Vec<Value> = keys
            .iter()
            .rev()
            .map(|k| json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid, "n": b64url(&k.n), "e": b64url(&k.e) }))
            .collect();
        json!({ "keys": list })
    }

    /// Verifies a JWT signed by one of these keys: signature, `exp`, `iss`, and `aud` when
    /// `audiences` is not empty. Returns the claims.
    pub fn verify(&self, token: &str, issuer: &str, audiences: &[String]) -> Result<Value, String> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| format!("malformed JWT: {e}"))?;
        let kid = header.kid.ok_or("JWT header has no kid")?;
        let key = {
            let keys = self
                .keys
                .read()
                .map_err(|_| "key lock poisoned".to_string())?;
            let k = keys
                .iter()
                .find(|k| k.kid == kid)
                .ok_or("JWT signed by an unknown key")?;
            DecodingKey::from_rsa_raw_components(&k.n, &k.e)
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        if audiences.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(audiences);
        }
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| format!("JWT rejected: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_across_a_rotation_and_tampering_fails() {
        let keys = SigningKeys::generate().unwrap();
        let exp = crate::ids::now_secs() + 60;
        let claims = json!({ "iss": "i", "sub": "alice", "aud": "deputy", "exp": exp });
        let first = keys.sign(&claims, "JWT").unwrap();
        let new_kid = keys.rotate().unwrap();
        let second = keys.sign(&claims, "JWT").unwrap();
        let aud = vec!["deputy".to_string()];
        assert_eq!(keys.verify(&first, "i", &aud).unwrap()["sub"], "alice");
        assert_eq!(
            jsonwebtoken::decode_header(&second).unwrap().kid.unwrap(),
            new_kid
        );
        assert!(keys.verify(&second, "i", &aud).is_ok());
        assert!(keys.verify(&second, "i", &["other".to_string()]).is_err());
        assert!(keys.verify(&second, "other-issuer", &aud).is_err());
        let mut tampered = second.clone();
        tampered.insert(second.len() - 5, 'A');
        assert!(keys.verify(&tampered, "i", &aud).is_err());
        assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 2);
    }
}
