//! SigV4 body integrity, scope and freshness (#20 item 10): requests signed by the SDK's own
//! signer (`aws-sigv4`) or by the real SDK clients, then replayed, re-scoped or aged.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Region};
use aws_sdk_bedrockagentcore::error::ProvideErrorMetadata;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use deputy_vault_local::config::SigV4Credentials;
use deputy_vault_local::{RunningVault, Sensitive, VaultConfig};
use serde_json::Value;

use crate::common::*;

const KEY: &str = "AKIDLOCAL";
const SECRET: &str = "s3cret";
const PATH: &str = "/identities/GetWorkloadAccessTokenForUserId";
const ALICE: &str = r#"{"workloadName":"deputy-agent","userId":"alice"}"#;
const MALLORY: &str = r#"{"workloadName":"deputy-agent","userId":"mallory"}"#;

async fn signed_vault() -> RunningVault {
    let mut config = VaultConfig::development();
    config.sigv4 = Some(SigV4Credentials {
        access_key_id: KEY.into(),
        secret_access_key: Sensitive::new(SECRET),
    });
    start_with(config).await
}

/// The headers `aws-sigv4` adds to sign `body` for `PATH` (`content-type` is signed too).
fn signature_headers(
    vault: &RunningVault,
    body: SignableBody<'_>,
    checksum: PayloadChecksumKind,
    region: &str,
    time: SystemTime,
) -> Vec<(String, String)> {
    let identity: Identity = Credentials::new(KEY, SECRET, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = checksum;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("bedrock-agentcore")
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let url = format!("{}{PATH}", vault.endpoint());
    let request = SignableRequest::new(
        "POST",
        &url,
        [("content-type", "application/json")].into_iter(),
        body,
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    instructions
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Sends `body` with `headers`; returns the status and the `x-amzn-ErrorType` (or the user
/// the minted WAT is for, read back by the vault on success).
async fn send(vault: &RunningVault, headers: &[(String, String)], body: &str) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{PATH}", vault.endpoint()))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let code = response
        .headers()
        .get("x-amzn-ErrorType")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let json: Value = response.json().await.unwrap_or(Value::Null);
    let text = if status == 200 {
        json["workloadAccessToken"].as_str().unwrap().to_owned()
    } else {
        code
    };
    (status, text)
}

#[tokio::test]
async fn a_signed_request_is_accepted_once_as_signed() {
    let vault = signed_vault().await;
    let headers = signature_headers(
        &vault,
        SignableBody::Bytes(ALICE.as_bytes()),
        PayloadChecksumKind::NoHeader,
        "us-east-1",
        SystemTime::now(),
    );
    let (status, _) = send(&vault, &headers, ALICE).await;
    assert_eq!(status, 200, "the SDK signer's request is valid as sent");
}

#[tokio::test]
async fn a_captured_request_replayed_with_another_body_is_refused() {
    let vault = signed_vault().await;
    // Captured as the SDK sends it (no x-amz-content-sha256); the attacker adds the header
    // with the original body's hash, unsigned, and swaps the body.
    let mut headers = signature_headers(
        &vault,
        SignableBody::Bytes(ALICE.as_bytes()),
        PayloadChecksumKind::NoHeader,
        "us-east-1",
        SystemTime::now(),
    );
    headers.push(("x-amz-content-sha256".into(), hex_sha256(ALICE.as_bytes())));
    assert_eq!(
        send(&vault, &headers, MALLORY).await,
        (403, "InvalidSignatureException".into())
    );
    // Signed with the header (as S3 clients do): the signed hash no longer matches the body.
    let signed_hash = signature_headers(
        &vault,
        SignableBody::Bytes(ALICE.as_bytes()),
        PayloadChecksumKind::XAmzSha256,
        "us-east-1",
        SystemTime::now(),
    );
    assert!(signed_hash.iter().any(|(k, _)| k == "x-amz-content-sha256"));
    assert_eq!(
        send(&vault, &signed_hash, MALLORY).await,
        (403, "InvalidSignatureException".into())
    );
    assert_eq!(send(&vault, &signed_hash, ALICE).await.0, 200);
}

#[tokio::test]
async fn an_unsigned_payload_is_refused() {
    let vault = signed_vault().await;
    let headers = signature_headers(
        &vault,
        SignableBody::UnsignedPayload,
        PayloadChecksumKind::XAmzSha256,
        "us-east-1",
        SystemTime::now(),
    );
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-amz-content-sha256" && v == "UNSIGNED-PAYLOAD")
    );
    assert_eq!(
        send(&vault, &headers, MALLORY).await,
        (403, "InvalidSignatureException".into())
    );
}

#[tokio::test]
async fn a_request_signed_for_another_region_is_refused() {
    let vault = signed_vault().await;
    let headers = signature_headers(
        &vault,
        SignableBody::Bytes(ALICE.as_bytes()),
        PayloadChecksumKind::NoHeader,
        "eu-west-1",
        SystemTime::now(),
    );
    assert_eq!(
        send(&vault, &headers, ALICE).await,
        (403, "InvalidSignatureException".into())
    );
    // The real SDK client, configured for the wrong region, gets the typed error.
    let config = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(KEY, SECRET, None, None, "test"))
        .endpoint_url(vault.endpoint())
        .retry_config(aws_sdk_bedrockagentcore::config::retry::RetryConfig::disabled())
        .build();
    let err = aws_sdk_bedrockagentcore::Client::from_conf(config)
        .get_workload_access_token()
        .workload_name("deputy-agent")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("InvalidSignatureException"), "{err:?}");
    assert!(err.message().unwrap().contains("region"), "{err:?}");
}

/// A clock `behind` the real one, for the SDK client.
#[derive(Debug)]
struct SlowClock(Duration);

impl aws_smithy_async::time::TimeSource for SlowClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() - self.0
    }
}

#[tokio::test]
async fn a_stale_x_amz_date_is_refused() {
    let vault = signed_vault().await;
    let headers = signature_headers(
        &vault,
        SignableBody::Bytes(ALICE.as_bytes()),
        PayloadChecksumKind::NoHeader,
        "us-east-1",
        SystemTime::now() - Duration::from_secs(16 * 60),
    );
    assert_eq!(
        send(&vault, &headers, ALICE).await,
        (403, "InvalidSignatureException".into())
    );
    let config = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(KEY, SECRET, None, None, "test"))
        .endpoint_url(vault.endpoint())
        .retry_config(aws_sdk_bedrockagentcore::config::retry::RetryConfig::disabled())
        .time_source(SlowClock(Duration::from_secs(20 * 60)))
        .build();
    let err = aws_sdk_bedrockagentcore::Client::from_conf(config)
        .get_workload_access_token()
        .workload_name("deputy-agent")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("InvalidSignatureException"), "{err:?}");
    assert!(err.message().unwrap().contains("expired"), "{err:?}");
}

#[tokio::test]
async fn the_control_plane_client_signs_as_bedrock_agentcore_and_is_verified() {
    let vault = signed_vault().await;
    let client = |secret: &str| {
        let config = aws_sdk_bedrockagentcorecontrol::Config::builder()
            .behavior_version(aws_sdk_bedrockagentcorecontrol::config::BehaviorVersion::latest())
            .region(aws_sdk_bedrockagentcorecontrol::config::Region::new(
                "us-east-1",
            ))
            .credentials_provider(Credentials::new(KEY, secret, None, None, "test"))
            .endpoint_url(vault.endpoint())
            .retry_config(aws_sdk_bedrockagentcorecontrol::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_bedrockagentcorecontrol::Client::from_conf(config)
    };
    client(SECRET)
        .list_workload_identities()
        .send()
        .await
        .unwrap();
    let err = client("wrong")
        .list_workload_identities()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("InvalidSignatureException"), "{err:?}");
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_it_is_hashed() {
    let vault = signed_vault().await;
    let body = format!(
        r#"{{"workloadName":"{}"}}"#,
        "a".repeat(deputy_vault_local::middleware::MAX_BODY_BYTES)
    );
    let headers = signature_headers(
        &vault,
        SignableBody::Bytes(body.as_bytes()),
        PayloadChecksumKind::NoHeader,
        "us-east-1",
        SystemTime::now(),
    );
    assert_eq!(
        send(&vault, &headers, &body).await,
        (400, "ValidationException".into())
    );
}

fn hex_sha256(bytes: &[u8]) -> String {
    deputy_vault_local::ids::hex(&deputy_vault_local::ids::sha256(bytes))
}
