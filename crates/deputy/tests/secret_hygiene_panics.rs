//! Secret hygiene of panics (issue #8): a child process panics, with `RUST_BACKTRACE=1`, in
//! every way code holding secrets could — `{:?}` of the secret types and of structs and errors
//! holding them, `unwrap`/`expect` on such errors, `assert_eq!` between tokens — and its stderr
//! is searched for every secret and token shape. The test runs itself as that child.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Unwrapping a known error is the point: it is how secrets reach panic messages.
#![allow(clippy::unnecessary_literal_unwrap)]

use std::process::Command;
use std::time::SystemTime;

use deputy::{AccessToken, ConsentRequired, ResolveError, UserToken, WorkloadAccessToken};
use deputy_core::Integration;
use deputy_tests::canary::Canary;
use deputy_vault_local::{Sensitive, VaultConfig};

const CHILD: &str = "DEPUTY_PANIC_HYGIENE_CHILD";
const JWT: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImNhbmFyeSI6InBhbmljIn0.c2lnbmF0dXJlLWNhbmFyeQ";
const WAT: &str = "wat-canary-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const ACCESS: &str = "ghu_CanaryAccessToken0123456789abcdef";
const API_KEY: &str = "sk-canary-panic-api-key-5f4e3d2c1b0a";
const CLIENT_SECRET: &str = "canary-panic-client-secret-a1b2c3d4e5";
const SESSION: &str = "urn:ietf:params:oauth:request_uri:canary-session-9a8b7c6d5e4f";

/// A struct agent code might hold, with a derived `Debug`.
#[derive(Debug)]
#[allow(dead_code)]
struct TaskCredentials {
    wat: WorkloadAccessToken,
    user: UserToken,
    token: AccessToken,
    api_key: Sensitive,
}

fn held() -> TaskCredentials {
    TaskCredentials {
        wat: WorkloadAccessToken::new(WAT),
        user: UserToken::new(JWT),
        token: AccessToken::new(ACCESS),
        api_key: Sensitive::new(API_KEY),
    }
}

fn consent_error() -> ResolveError {
    ResolveError::ConsentRequired(
        Box::new(ConsentRequired {
            authorization_url: format!("http://127.0.0.1:1/authorize?request_uri={SESSION}"),
            session_uri: SESSION.to_owned(),
            expires_at: SystemTime::now(),
            provider: "github".into(),
            scopes: vec!["repo".into()],
        }),
        Integration::Github,
    )
}

fn vault_config() -> VaultConfig {
    VaultConfig::from_toml_str(&format!(
        "[[api_keys]]\nname = \"k\"\napi_key = \"{API_KEY}\"\n[[dev_idp.clients]]\nclient_id = \"c\"\nclient_secret = \"{CLIENT_SECRET}\"\n"
    ))
    .unwrap()
}

/// The child: one panic per way, each on its own thread, then one on the main thread.
fn panic_every_way() -> ! {
    let ways: Vec<Box<dyn FnOnce() + Send>> = vec![
        Box::new(|| panic!("while holding {:?}", held())),
        Box::new(|| panic!("pretty: {:#?}", held())),
        Box::new(|| {
            Err::<(), _>(consent_error()).expect("resolving github");
        }),
        Box::new(|| {
            Err::<(), _>(WorkloadAccessToken::new(WAT)).unwrap();
        }),
        Box::new(|| assert_eq!(AccessToken::new(ACCESS), AccessToken::new("ghu_other"))),
        Box::new(|| panic!("config: {:?}", vault_config())),
        Box::new(|| std::panic::panic_any(AccessToken::new(ACCESS))),
        Box::new(|| {
            let held = held();
            let _keep = &held;
            None::<u8>.expect("a token while holding credentials");
        }),
    ];
    let count = ways.len();
    for way in ways {
        let _ = std::thread::spawn(way).join();
    }
    panic!("main thread after {count} panics, holding {:?}", held());
}

#[test]
fn panics_holding_secrets_print_no_secret() {
    if std::env::var_os(CHILD).is_some() {
        panic_every_way();
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "panics_holding_secrets_print_no_secret",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    // The panics really happened and printed what they held.
    assert_eq!(stderr.matches("panicked at").count(), 9, "{stdout}");
    assert!(stderr.contains("stack backtrace"));
    for shown in [
        "TaskCredentials",
        "WorkloadAccessToken(sha256:",
        "UserToken(sha256:",
        "Sensitive(<redacted>)",
        "ConsentRequired",
        "authorization_url: \"<redacted>\"",
        "VaultConfig",
    ] {
        assert!(stderr.contains(shown), "{shown} not in the panic output");
    }
    let mut canary = Canary::default();
    for (label, secret) in [
        ("user JWT", JWT),
        ("WAT", WAT),
        ("access token", ACCESS),
        ("API key", API_KEY),
        ("client secret", CLIENT_SECRET),
        ("consent session", SESSION),
    ] {
        canary.add(label, secret);
    }
    canary.assert_clean("panic stderr", &stderr);
    canary.assert_clean("panic stdout", &stdout);
}
