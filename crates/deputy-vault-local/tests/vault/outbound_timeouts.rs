//! Outbound HTTP to IdPs (#20 item 11): a provider whose token endpoint, discovery document or
//! JWKS accepts connections and never answers fails within the configured timeout, and a
//! healthy provider resolves meanwhile, not queued behind it.

use std::time::Duration;

use aws_sdk_bedrockagentcore::error::ProvideErrorMetadata;
use aws_sdk_bedrockagentcore::types::Oauth2FlowType;
use aws_sdk_bedrockagentcorecontrol::types::{
    CredentialProviderVendorType, CustomOauth2ProviderConfigInput, Oauth2Discovery,
    Oauth2ProviderConfigInput,
};
use deputy_vault_local::config::InboundIssuerConfig;
use deputy_vault_local::{RunningVault, VaultConfig};
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

use crate::common::*;
use crate::counted_idp::create_provider;

/// The vault's outbound timeout in these tests; "does not hang" is checked at 10x.
const TIMEOUT_MS: u64 = 1500;
const DEADLINE: Duration = Duration::from_millis(TIMEOUT_MS * 10);

async fn vault_with_short_timeouts(mut config: VaultConfig) -> RunningVault {
    config.outbound_http.connect_timeout_ms = TIMEOUT_MS;
    config.outbound_http.timeout_ms = TIMEOUT_MS;
    start_with(config).await
}

/// A TCP listener that accepts every connection and never reads or answers; each accepted
/// connection is announced on the returned channel.
async fn hung_endpoint() -> (String, UnboundedReceiver<()>, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (accepted, rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            let _ = accepted.send(());
        }
    });
    (base, rx, task)
}

/// A well-behaved IdP: a discovery document and a token endpoint that issues `healthy-token`.
async fn healthy_idp() -> (String, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let doc = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
    });
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc) }
            }),
        )
        .route(
            "/token",
            axum::routing::post(|| async {
                axum::Json(json!({
                    "access_token": "healthy-token",
                    "token_type": "Bearer",
                    "expires_in": 3600
                }))
            }),
        );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, task)
}

async fn discovery_provider(vault: &RunningVault, name: &str, base: &str) {
    control_plane(vault)
        .create_oauth2_credential_provider()
        .name(name)
        .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
        .oauth2_provider_config_input(Oauth2ProviderConfigInput::CustomOauth2ProviderConfig(
            CustomOauth2ProviderConfigInput::builder()
                .oauth_discovery(Oauth2Discovery::DiscoveryUrl(format!(
                    "{base}/.well-known/openid-configuration"
                )))
                .client_id(format!("{name}-client"))
                .client_secret(format!("{name}-secret"))
                .build(),
        ))
        .send()
        .await
        .unwrap();
}

/// Starts an M2M resolve through `hung`, waits until the hung endpoint holds its connection,
/// resolves through `healthy` meanwhile, then checks the hung one failed with a timeout.
async fn hung_then_healthy(vault: &RunningVault, mut accepted: UnboundedReceiver<()>) {
    let client = data_plane_with(vault, "testing", "testing", false);
    let wat = workload_wat(&client).await;
    let hung_request = token_request(&client, &wat, "hung", Oauth2FlowType::M2M);
    let hung = tokio::spawn(async move { hung_request.send().await });
    tokio::time::timeout(DEADLINE, accepted.recv())
        .await
        .expect("the vault connects to the hung endpoint")
        .unwrap();
    let healthy = tokio::time::timeout(
        DEADLINE,
        token_request(&client, &wat, "healthy", Oauth2FlowType::M2M).send(),
    )
    .await
    .expect("the healthy provider is not queued behind the hung one")
    .unwrap();
    assert_eq!(healthy.access_token(), Some("healthy-token"));
    assert!(
        !hung.is_finished(),
        "the healthy provider answered while the hung one was still waiting"
    );
    let err = tokio::time::timeout(DEADLINE, hung)
        .await
        .expect("the hung provider fails within its timeout")
        .unwrap()
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    let message = err.message().unwrap();
    assert!(
        message.contains("timed out") && message.contains(&format!("{TIMEOUT_MS} ms")),
        "{message}"
    );
}

#[tokio::test]
async fn a_hung_token_endpoint_times_out_and_does_not_stall_a_healthy_provider() {
    let vault = vault_with_short_timeouts(VaultConfig::development()).await;
    let (hung_base, accepted, _hung) = hung_endpoint().await;
    let (healthy_base, _healthy) = healthy_idp().await;
    let issuer = vault.idp_issuer();
    create_provider(&vault, "hung", &issuer, &format!("{hung_base}/token")).await;
    create_provider(&vault, "healthy", &issuer, &format!("{healthy_base}/token")).await;
    hung_then_healthy(&vault, accepted).await;
}

#[tokio::test]
async fn a_hung_discovery_document_times_out_and_does_not_stall_a_healthy_provider() {
    let vault = vault_with_short_timeouts(VaultConfig::development()).await;
    let (hung_base, accepted, _hung) = hung_endpoint().await;
    let (healthy_base, _healthy) = healthy_idp().await;
    discovery_provider(&vault, "hung", &hung_base).await;
    discovery_provider(&vault, "healthy", &healthy_base).await;
    hung_then_healthy(&vault, accepted).await;
}

#[tokio::test]
async fn a_hung_jwks_times_out_and_does_not_stall_another_issuer() {
    // The healthy issuer is a second vault's dev IdP; the hung one never answers its JWKS.
    let other = start().await;
    let (hung_base, mut accepted, _hung) = hung_endpoint().await;
    let mut config = VaultConfig::development();
    config.inbound_issuers = vec![
        InboundIssuerConfig {
            issuer: hung_base.clone(),
            jwks_url: format!("{hung_base}/jwks"),
            audiences: vec!["deputy".into()],
        },
        InboundIssuerConfig {
            issuer: other.idp_issuer(),
            jwks_url: format!("{}/jwks", other.idp_issuer()),
            audiences: vec!["deputy".into()],
        },
    ];
    let vault = vault_with_short_timeouts(config).await;
    let client = data_plane_with(&vault, "testing", "testing", false);
    let hung_request = client
        .get_workload_access_token_for_jwt()
        .workload_name("deputy-agent")
        .user_token(unsigned_jwt(&hung_base));
    let hung = tokio::spawn(async move { hung_request.send().await });
    tokio::time::timeout(DEADLINE, accepted.recv())
        .await
        .expect("the vault fetches the hung JWKS")
        .unwrap();
    let jwt = other.mint_user_token("alice", "deputy").unwrap();
    tokio::time::timeout(
        DEADLINE,
        client
            .get_workload_access_token_for_jwt()
            .workload_name("deputy-agent")
            .user_token(jwt)
            .send(),
    )
    .await
    .expect("the healthy issuer is not queued behind the hung one")
    .unwrap();
    assert!(!hung.is_finished());
    let err = tokio::time::timeout(DEADLINE, hung)
        .await
        .expect("the hung JWKS fails within its timeout")
        .unwrap()
        .unwrap_err()
        .into_service_error();
    assert!(err.is_unauthorized_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("timed out"), "{err:?}");
}

#[tokio::test]
async fn an_oversized_token_response_is_refused_not_buffered() {
    let vault = start().await;
    let huge = "x"
        .repeat(deputy_vault_local::outbound::OutboundHttpConfig::default().max_response_bytes + 1);
    let (base, _idp) = crate::counted_idp::scripted_idp(json!({ "access_token": huge })).await;
    create_provider(
        &vault,
        "huge",
        &vault.idp_issuer(),
        &format!("{base}/token"),
    )
    .await;
    let client = data_plane_with(&vault, "testing", "testing", false);
    let wat = workload_wat(&client).await;
    let err = token_request(&client, &wat, "huge", Oauth2FlowType::M2M)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("bytes"), "{err:?}");
}

/// A JWT-shaped token naming `issuer`, with a signature nobody checks before the JWKS.
fn unsigned_jwt(issuer: &str) -> String {
    let b64 = |v: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.c2ln",
        b64(json!({ "alg": "RS256", "kid": "k1", "typ": "JWT" })),
        b64(json!({ "iss": issuer, "sub": "alice", "aud": "deputy", "exp": 4_000_000_000u64 }))
    )
}
