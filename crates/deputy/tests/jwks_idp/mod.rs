//! A small identity provider for JWKS tests and benchmarks: ES256 signing keys, a JWKS endpoint
//! on 127.0.0.1 that counts its fetches and can drop a key, set `Cache-Control: max-age`, answer
//! slowly, fail (HTTP 500) or hang, and token minting.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use deputy::verify::TokenVerifier;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The audience every minted token carries.
pub const AUDIENCE: &str = "jwks-test";

/// How the JWKS endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The key set, with `Cache-Control: max-age` when one is set.
    Serve,
    /// HTTP 500.
    Fail,
    /// Never answers.
    Hang,
}

struct Key {
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
    published: bool,
}

struct Shared {
    keys: Mutex<Vec<Key>>,
    mode: Mutex<Mode>,
    max_age: Mutex<Option<u64>>,
    delay: Mutex<std::time::Duration>,
    fetches: AtomicUsize,
}

/// The running IdP.
pub struct JwksIdp {
    issuer: String,
    shared: Arc<Shared>,
    /// Payload and signature of a valid token, for forged tokens.
    forged_tail: String,
}

fn key(kid: &str) -> Key {
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    let encoding = EncodingKey::from_ec_der(pkcs8.as_ref());
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    Key {
        kid: kid.to_owned(),
        encoding,
        jwk,
        published: true,
    }
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    shared.fetches.fetch_add(1, Ordering::SeqCst);
    let delay = *shared.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let mode = *shared.mode.lock().unwrap();
    match mode {
        Mode::Fail => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::Hang => std::future::pending().await,
        Mode::Serve => {
            let set = JwkSet {
                keys: shared
                    .keys
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|k| k.published)
                    .map(|k| k.jwk.clone())
                    .collect(),
            };
            let body = serde_json::to_string(&set).unwrap();
            let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
            if let Some(seconds) = *shared.max_age.lock().unwrap() {
                response.headers_mut().insert(
                    header::CACHE_CONTROL,
                    format!("public, max-age={seconds}").parse().unwrap(),
                );
            }
            response
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl JwksIdp {
    /// An IdP with the signing keys `kids`, serving them.
    pub async fn start(kids: &[&str]) -> JwksIdp {
        let shared = Arc::new(Shared {
            keys: Mutex::new(kids.iter().map(|kid| key(kid)).collect()),
            mode: Mutex::new(Mode::Serve),
            max_age: Mutex::new(None),
            delay: Mutex::new(std::time::Duration::ZERO),
            fetches: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .route("/jwks", axum::routing::get(jwks))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut idp = JwksIdp {
            issuer: format!("http://{addr}"),
            shared,
            forged_tail: String::new(),
        };
        let valid = idp.token(kids[0]);
        idp.forged_tail = valid.split_once('.').unwrap().1.to_owned();
        idp
    }

    /// The issuer (`iss`), also the base URL.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The JWKS URL.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// A verifier of this IdP's tokens (deputy's defaults).
    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier::new(self.issuer.clone(), self.jwks_uri(), [AUDIENCE])
    }

    /// How many times the JWKS was requested.
    pub fn fetches(&self) -> usize {
        self.shared.fetches.load(Ordering::SeqCst)
    }

    /// Waits until the JWKS has been requested `n` times.
    pub async fn wait_for_fetches(&self, n: usize) {
        while self.fetches() < n {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Sets how the endpoint answers.
    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// Sets (or removes) `Cache-Control: max-age`.
    pub fn set_max_age(&self, seconds: Option<u64>) {
        *self.shared.max_age.lock().unwrap() = seconds;
    }

    /// Makes every answer wait `delay` first (a slow IdP).
    pub fn set_delay(&self, delay: std::time::Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    /// Takes key `kid` out of the JWKS (it still signs, as a stolen or retired key would).
    pub fn remove_from_jwks(&self, kid: &str) {
        for key in self.shared.keys.lock().unwrap().iter_mut() {
            if key.kid == kid {
                key.published = false;
            }
        }
    }

    /// A token signed by `kid` with `claims` over the defaults (`iss`, `aud`, `sub`, `exp` an
    /// hour away, `iat`).
    pub fn token_with(&self, kid: &str, claims: Value) -> String {
        let mut all = json!({
            "iss": self.issuer, "aud": AUDIENCE, "sub": "alice",
            "iat": now(), "exp": now() + 3600,
        });
        for (name, value) in claims.as_object().unwrap() {
            all[name] = value.clone();
        }
        let keys = self.shared.keys.lock().unwrap();
        let key = keys.iter().find(|k| k.kid == kid).unwrap();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, &all, &key.encoding).unwrap()
    }

    /// A valid token signed by `kid`.
    pub fn token(&self, kid: &str) -> String {
        self.token_with(kid, json!({}))
    }

    /// A token whose header names `kid` (a plain `kid`, no quotes or backslashes) and whose
    /// payload and signature are a valid token's: what a flood of forged tokens looks like.
    pub fn forged(&self, kid: &str) -> String {
        let header = format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{kid}"}}"#);
        format!("{}.{}", b64url(header.as_bytes()), self.forged_tail)
    }

    /// The current Unix time, for `nbf`/`exp` claims.
    pub fn now(&self) -> u64 {
        now()
    }
}

fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}
