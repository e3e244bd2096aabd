//! Suite-specific helpers: checking the vault's JWTs and SDK clients pointed at the local vault.

pub async fn verify_jwt(token: &str, jwks_url: &str, issuer: &str) -> serde_json::Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        reqwest::get(jwks_url).await.unwrap().json().await.unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.validate_aud = false;
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .unwrap()
        .claims
}

pub fn data_plane(endpoint: &str) -> aws_sdk_bedrockagentcore::Client {
    use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_bedrockagentcore::Client::from_conf(config)
}

pub fn control_plane(endpoint: &str) -> aws_sdk_bedrockagentcorecontrol::Client {
    use aws_sdk_bedrockagentcorecontrol::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_bedrockagentcorecontrol::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_bedrockagentcorecontrol::Client::from_conf(config)
}
