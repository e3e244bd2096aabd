//! A git smart-HTTP server for tests: the real `git http-backend` (as CGI) behind a small front
//! that requires Basic auth and accepts, for each repository, only the one password it was
//! told was minted for it.
//!
//! Repositories live under a root directory as `OWNER/REPO.git` (bare). Every request the front
//! refuses answers 401 with a `WWW-Authenticate: Basic` challenge, so git asks its credential
//! helper and reports an authentication failure when the helper has no answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use tokio::io::AsyncWriteExt;

/// The largest request body the front passes to git (test pushes are tiny).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The git program: `$DEPUTY_GIT`, else `git` on `PATH`.
///
/// ```no_run
/// let git = deputy_tests::git_http::git();
/// ```
pub fn git() -> PathBuf {
    crate::process::require_binary("DEPUTY_GIT", &["git"])
}

/// A running front; requests are served until the test's runtime ends.
pub struct GitServer {
    addr: SocketAddr,
    accepted: Arc<Mutex<HashMap<String, String>>>,
    log: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct Front {
    root: PathBuf,
    accepted: Arc<Mutex<HashMap<String, String>>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl GitServer {
    /// Serves the bare repositories under `root` on 127.0.0.1.
    ///
    /// ```no_run
    /// # async fn f() {
    /// let server = deputy_tests::git_http::GitServer::start(std::path::Path::new("/tmp/repos")).await;
    /// server.accept("acme/app", "the-token-minted-for-acme-app");
    /// println!("{}/acme/app.git", server.base());
    /// # }
    /// ```
    pub async fn start(root: &Path) -> GitServer {
        let accepted = Arc::new(Mutex::new(HashMap::new()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let front = Front {
            root: root.to_path_buf(),
            accepted: accepted.clone(),
            log: log.clone(),
        };
        let app = axum::Router::new().fallback(serve).with_state(front);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        GitServer {
            addr,
            accepted,
            log,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Accepts `password` (and only it) for `owner/repo`.
    pub fn accept(&self, repo: &str, password: &str) {
        self.accepted
            .lock()
            .unwrap()
            .insert(repo.to_owned(), password.to_owned());
    }

    /// One line per request: `METHOD PATH -> STATUS` (no credentials).
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// `OWNER/REPO` of a request path `/OWNER/REPO.git/...`.
fn repository(path: &str) -> Option<String> {
    let mut parts = path.trim_start_matches('/').splitn(3, '/');
    let (owner, repo) = (parts.next()?, parts.next()?);
    let repo = repo.strip_suffix(".git")?;
    let ok = |s: &str| {
        !s.is_empty()
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    (ok(owner) && ok(repo)).then(|| format!("{owner}/{repo}"))
}

fn basic_password(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.1.to_owned())
}

async fn serve(State(front): State<Front>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let response = match repository(&path) {
        None => status(StatusCode::NOT_FOUND),
        Some(repo) => {
            let expected = front.accepted.lock().unwrap().get(&repo).cloned();
            let given = basic_password(&parts.headers);
            if expected.is_none() || given != expected {
                let mut refused = status(StatusCode::UNAUTHORIZED);
                refused.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"git\""),
                );
                refused
            } else {
                let body = axum::body::to_bytes(body, MAX_BODY).await.unwrap();
                cgi(&front.root, &parts.method, &parts.uri, &parts.headers, body).await
            }
        }
    };
    front.log.lock().unwrap().push(format!(
        "{} {path} -> {}",
        parts.method,
        response.status().as_u16()
    ));
    response
}

fn status(code: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}

/// Runs `git http-backend` for one request and turns its CGI output into a response.
async fn cgi(
    root: &Path,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let header_env = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut child = tokio::process::Command::new(git())
        .arg("http-backend")
        .env_clear()
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", uri.path())
        .env("QUERY_STRING", uri.query().unwrap_or(""))
        .env("REQUEST_METHOD", method.as_str())
        .env("CONTENT_TYPE", header_env(header::CONTENT_TYPE))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env(
            "HTTP_CONTENT_ENCODING",
            header_env(header::CONTENT_ENCODING),
        )
        .env(
            "HTTP_GIT_PROTOCOL",
            headers
                .get("git-protocol")
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        )
        .env("REMOTE_USER", "x-access-token")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let output = child.wait_with_output().await.unwrap();
    writer.await.unwrap();
    let out = output.stdout;
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)))
        .expect("git http-backend wrote CGI headers");
    let head = String::from_utf8_lossy(&out[..split.0]).into_owned();
    let mut response = Response::new(Body::from(out[split.0 + split.1..].to_vec()));
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("Status") {
            let code = value.split(' ').next().unwrap_or("200");
            *response.status_mut() = StatusCode::from_bytes(code.as_bytes()).unwrap();
        } else if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
