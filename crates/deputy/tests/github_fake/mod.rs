//! An in-test GitHub: the App endpoints deputy uses, on 127.0.0.1, checking the App JWT and the
//! request bodies, issuing installation tokens in the new (longer than 40 characters) format.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

pub mod setup;

pub const APP_ID: u64 = 424242;
pub const INSTALLATION_ID: u64 = 9001;

/// A freshly generated RSA key: the App's private key (PEM) and the public half GitHub keeps.
pub struct AppKey {
    pub pem: String,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl AppKey {
    pub fn generate() -> AppKey {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
        let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        AppKey {
            pem: pem("PRIVATE KEY", der.as_ref()),
            n: components.n,
            e: components.e,
        }
    }

    /// The base64 body of the PEM (what must never show up anywhere).
    pub fn pem_body_line(&self) -> String {
        self.pem.lines().nth(1).unwrap().to_owned()
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                b64.push('=');
            }
        }
    }
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// One token the fake issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    pub repositories: Vec<String>,
    pub permissions: BTreeMap<String, String>,
    pub revoked: bool,
}

/// owner -> (installation permissions, repository names in the installation)
type Installed = HashMap<String, (BTreeMap<String, String>, Vec<String>)>;

pub struct Fake {
    app_id: u64,
    decoding: DecodingKey,
    installed: Mutex<Installed>,
    /// Seconds from now that minted tokens expire.
    pub expires_in: Mutex<i64>,
    /// A forced answer to the next mints: (status, message).
    pub mint_failure: Mutex<Option<(u16, String)>>,
    pub installation_gets: AtomicUsize,
    pub posts: AtomicUsize,
    pub deletes: AtomicUsize,
    pub bodies: Mutex<Vec<Value>>,
    pub jwt_problems: Mutex<Vec<String>>,
    pub issued: Mutex<Vec<Issued>>,
}

pub struct FakeGithub {
    pub base: String,
    pub state: Arc<Fake>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeGithub {
    /// A GitHub where App `APP_ID` (public key of `key`) is installed on `owner` for `repos`
    /// with `permissions`.
    pub async fn start(
        key: &AppKey,
        owner: &str,
        repos: &[&str],
        permissions: &[(&str, &str)],
    ) -> FakeGithub {
        let state = Arc::new(Fake {
            app_id: APP_ID,
            decoding: DecodingKey::from_rsa_raw_components(&key.n, &key.e),
            installed: Mutex::new(HashMap::from([(
                owner.to_ascii_lowercase(),
                (
                    permissions
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                    repos.iter().map(|r| (*r).to_owned()).collect(),
                ),
            )])),
            expires_in: Mutex::new(3600),
            mint_failure: Mutex::new(None),
            installation_gets: AtomicUsize::new(0),
            posts: AtomicUsize::new(0),
            deletes: AtomicUsize::new(0),
            bodies: Mutex::new(Vec::new()),
            jwt_problems: Mutex::new(Vec::new()),
            issued: Mutex::new(Vec::new()),
        });
        let router = axum::Router::new()
            .route("/repos/{owner}/{repo}/installation", get(installation))
            .route("/app/installations/{id}/access_tokens", post(access_tokens))
            .route("/installation/token", delete(revoke))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        FakeGithub {
            base,
            state,
            server,
        }
    }

    pub fn posts(&self) -> usize {
        self.state.posts.load(Ordering::SeqCst)
    }

    pub fn deletes(&self) -> usize {
        self.state.deletes.load(Ordering::SeqCst)
    }

    pub fn installation_gets(&self) -> usize {
        self.state.installation_gets.load(Ordering::SeqCst)
    }

    pub fn issued(&self) -> Vec<Issued> {
        self.state.issued.lock().unwrap().clone()
    }

    pub fn issued_token(&self, token: &str) -> Issued {
        self.issued()
            .into_iter()
            .find(|i| i.token == token)
            .expect("the fake issued this token")
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.state.bodies.lock().unwrap().clone()
    }

    pub fn jwt_problems(&self) -> Vec<String> {
        self.state.jwt_problems.lock().unwrap().clone()
    }

    pub fn set_expires_in(&self, seconds: i64) {
        *self.state.expires_in.lock().unwrap() = seconds;
    }

    pub fn fail_mints_with(&self, status: u16, message: &str) {
        *self.state.mint_failure.lock().unwrap() = Some((status, message.to_owned()));
    }
}

fn github_error(status: u16, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({ "message": message, "documentation_url": "https://docs.github.com/rest", "status": status.to_string() })),
    )
        .into_response()
}

/// Checks the App JWT as GitHub does: RS256 by the App's key, `iss` the App id (a number),
/// `iat` back-dated, `exp` at most 10 minutes out. Problems are recorded and answered with 401.
fn check_app_jwt(state: &Fake, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let problem = |p: String| {
        state.jwt_problems.lock().unwrap().push(p);
        Box::new(github_error(401, "A JSON web token could not be decoded"))
    };
    let jwt = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| problem("no bearer token".into()))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "iat"]);
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(jwt, &state.decoding, &validation)
        .map_err(|e| problem(format!("signature or claims: {e}")))?;
    let claims = data.claims;
    let now = chrono::Utc::now().timestamp();
    if claims["iss"].as_u64() != Some(state.app_id) {
        return Err(problem(format!(
            "iss {} is not the number {}",
            claims["iss"], state.app_id
        )));
    }
    let iat = claims["iat"].as_i64().unwrap_or(i64::MAX);
    let exp = claims["exp"].as_i64().unwrap_or(i64::MAX);
    if iat >= now {
        return Err(problem(format!("iat {iat} is not back-dated (now {now})")));
    }
    if exp - now > 600 || exp - iat > 660 {
        return Err(problem(format!("exp {exp} is more than 10 minutes out")));
    }
    Ok(())
}

async fn installation(
    State(state): State<Arc<Fake>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_app_jwt(&state, &headers) {
        return *r;
    }
    state.installation_gets.fetch_add(1, Ordering::SeqCst);
    let installed = state.installed.lock().unwrap();
    match installed.get(&owner.to_ascii_lowercase()) {
        Some((permissions, repos)) if repos.contains(&repo) => Json(json!({
            "id": INSTALLATION_ID,
            "app_id": state.app_id,
            "target_type": "Organization",
            "account": { "login": owner, "id": 77, "type": "Organization" },
            "permissions": permissions,
            "repository_selection": "selected",
            "events": ["push"],
            "access_tokens_url": format!("/app/installations/{INSTALLATION_ID}/access_tokens"),
        }))
        .into_response(),
        _ => github_error(404, "Not Found"),
    }
}

fn new_format_token(app_id: u64) -> String {
    let mut bytes = [0u8; 48];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // ghs_APPID_JWT: no longer 40 characters.
    format!(
        "ghs_{app_id}_eyJhbGciOiJSUzI1NiJ9.{}.{}",
        &hex[..48],
        &hex[48..]
    )
}

async fn access_tokens(
    State(state): State<Arc<Fake>>,
    Path(id): Path<u64>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = check_app_jwt(&state, &headers) {
        return *r;
    }
    state.posts.fetch_add(1, Ordering::SeqCst);
    state.bodies.lock().unwrap().push(body.clone());
    // Slow enough that concurrent callers overlap.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    if let Some((status, message)) = state.mint_failure.lock().unwrap().clone() {
        return github_error(status, &message);
    }
    if id != INSTALLATION_ID {
        return github_error(404, "Not Found");
    }
    let installed = state.installed.lock().unwrap().clone();
    let (granted, repos) = installed.values().next().unwrap().clone();
    let repositories: Vec<String> = body["repositories"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if repositories.iter().any(|r| !repos.contains(r)) {
        return github_error(
            422,
            "There is at least one repository that does not exist or is not accessible to the parent installation.",
        );
    }
    let permissions: BTreeMap<String, String> = body["permissions"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default();
    for (name, level) in &permissions {
        let ok = matches!(
            (granted.get(name).map(String::as_str), level.as_str()),
            (Some("read" | "write"), "read") | (Some("write"), "write")
        );
        if !ok {
            return github_error(
                422,
                "The permissions requested are not granted to this installation.",
            );
        }
    }
    let token = new_format_token(state.app_id);
    let expires_in = *state.expires_in.lock().unwrap();
    let expires_at = (chrono::Utc::now() + chrono::Duration::seconds(expires_in))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    state.issued.lock().unwrap().push(Issued {
        token: token.clone(),
        repositories: repositories.clone(),
        permissions: permissions.clone(),
        revoked: false,
    });
    let repos_json: Vec<Value> = repositories
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({ "id": 1000 + i, "name": name, "url": format!("https://api.github.invalid/repos/x/{name}") })
        })
        .collect();
    (
        StatusCode::CREATED,
        Json(json!({
            "token": token,
            "expires_at": expires_at,
            "permissions": permissions,
            "repository_selection": "selected",
            "repositories": repos_json,
        })),
    )
        .into_response()
}

async fn revoke(State(state): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    state.deletes.fetch_add(1, Ordering::SeqCst);
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("token "))
        })
        .unwrap_or_default()
        .to_owned();
    let mut issued = state.issued.lock().unwrap();
    match issued.iter_mut().find(|i| i.token == token && !i.revoked) {
        Some(found) => {
            found.revoked = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => github_error(401, "Bad credentials"),
    }
}
