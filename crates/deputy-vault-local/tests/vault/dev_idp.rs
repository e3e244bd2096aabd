use deputy_vault_local::config::DevClient;
use deputy_vault_local::ids::{b64url, sha256};
use deputy_vault_local::{RunningVault, Sensitive, VaultConfig};
use serde_json::Value;

use crate::common::*;

const REDIRECT: &str = "http://127.0.0.1:1/cb";

async fn vault_with_clients() -> RunningVault {
    let mut config = VaultConfig::development();
    for id in ["app", "agent-a", "agent-b"] {
        config.dev_idp.clients.push(DevClient {
            client_id: id.into(),
            client_secret: Sensitive::new(format!("{id}-secret")),
            redirect_uris: vec![REDIRECT.into()],
        });
    }
    start_with(config).await
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn token(vault: &RunningVault, client: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = http()
        .post(format!("{}/token", vault.idp_issuer()))
        .basic_auth(client, Some(format!("{client}-secret")))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Runs the authorization endpoint, login and consent; returns the code.
async fn authorize(vault: &RunningVault, challenge: &str) -> String {
    let http = http();
    let idp = vault.idp_issuer();
    let page = http
        .get(format!("{idp}/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", "app"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid repo"),
            ("state", "st"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<form") && page.contains("password"));
    let marker = "name=\"request_id\" value=\"";
    let at = page.find(marker).unwrap() + marker.len();
    let request_id = page[at..at + page[at..].find('"').unwrap()].to_owned();
    let consent = http
        .post(format!("{idp}/login"))
        .form(&[
            ("request_id", request_id.as_str()),
            ("username", "bob"),
            ("password", "bob"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(consent.contains("repo") && consent.contains("allow"));
    let redirect = http
        .post(format!("{idp}/consent"))
        .form(&[("request_id", request_id.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(redirect.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT));
    assert_eq!(
        location
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1,
        "st"
    );
    location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test]
async fn discovery_and_jwks_are_served() {
    let vault = start().await;
    let issuer = vault.idp_issuer();
    let doc: Value = reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["token_endpoint"], format!("{issuer}/token"));
    let jwks: Value = reqwest::get(doc["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
}

#[tokio::test]
async fn authorization_code_with_pkce_refresh_and_replay_protection() {
    let vault = vault_with_clients().await;
    let verifier = "a-very-long-pkce-verifier-value-with-enough-entropy-1234567890";
    let challenge = b64url(&sha256(verifier.as_bytes()));
    let code = authorize(&vault, &challenge).await;
    let (status, body) = token(
        &vault,
        "app",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", "wrong"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let code = authorize(&vault, &challenge).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    let (status, body) = token(&vault, "app", &form).await;
    assert_eq!(status, 200, "{body}");
    let claims = verify_dev_token(&vault, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "bob");
    let header = jsonwebtoken::decode_header(body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let (status, replay) = token(&vault, "app", &form).await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (400, Some("invalid_grant")),
        "codes are single use"
    );

    let refresh = body["refresh_token"].as_str().unwrap();
    let (status, refreshed) = token(
        &vault,
        "app",
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_ne!(
        refreshed["refresh_token"], body["refresh_token"],
        "refresh tokens rotate"
    );
    let (status, _) = token(
        &vault,
        "app",
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn token_exchange_nests_act_and_enforces_may_act() {
    let vault = vault_with_clients().await;
    let bob = vault.mint_user_token("bob", "deputy").unwrap();
    let jwt_type = "urn:ietf:params:oauth:token-type:jwt";
    let exchange = "urn:ietf:params:oauth:grant-type:token-exchange";
    let (status, first) = token(
        &vault,
        "agent-a",
        &[
            ("grant_type", exchange),
            ("subject_token", &bob),
            ("subject_token_type", jwt_type),
            ("audience", "svc-b"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    let first_token = first["access_token"].as_str().unwrap();
    let (status, second) = token(
        &vault,
        "agent-b",
        &[
            ("grant_type", exchange),
            ("subject_token", first_token),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "{second}");
    let claims = verify_dev_token(&vault, second["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["act"]["sub"], "agent-b");
    assert_eq!(claims["act"]["act"]["sub"], "agent-a");

    let alice = vault.mint_user_token("alice", "deputy").unwrap();
    let (status, denied) = token(
        &vault,
        "agent-a",
        &[
            ("grant_type", exchange),
            ("subject_token", &alice),
            ("subject_token_type", jwt_type),
        ],
    )
    .await;
    assert_eq!(
        (status, denied["error"].as_str()),
        (400, Some("invalid_grant")),
        "alice may_act only aws-native"
    );
}

#[tokio::test]
async fn client_credentials_needs_a_valid_secret_and_consent_can_be_denied() {
    let vault = vault_with_clients().await;
    let (status, ok) = token(
        &vault,
        "agent-a",
        &[("grant_type", "client_credentials"), ("scope", "x")],
    )
    .await;
    assert_eq!(status, 200, "{ok}");
    let bad = http()
        .post(format!("{}/token", vault.idp_issuer()))
        .basic_auth("agent-a", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let page = http()
        .get(format!("{}/authorize", vault.idp_issuer()))
        .query(&[
            ("response_type", "code"),
            ("client_id", "app"),
            ("redirect_uri", "http://evil.example/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        400,
        "unregistered redirect_uri is refused without redirecting"
    );
}
