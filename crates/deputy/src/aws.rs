//! AWS settings the way operators expect: `aws-config`'s default chain, or a local endpoint
//! (the local vault, moto) with placeholder credentials when the environment has none.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrockagentcore::config::Credentials;

/// AWS settings for `region` (the default chain's when absent) and, when given, a local
/// `endpoint`. A local endpoint accepts any credentials, so placeholders are used when neither
/// `AWS_ACCESS_KEY_ID` nor `AWS_PROFILE` is set, rather than probing instance metadata; and the
/// region defaults to `us-east-1` there when nothing names one.
///
/// ```no_run
/// # async fn run() {
/// let sdk = deputy::aws::sdk_config(Some("http://127.0.0.1:8787"), None).await;
/// let vault = deputy::vault::TokenVault::new(aws_sdk_bedrockagentcore::Client::new(&sdk));
/// # let _ = vault; }
/// ```
pub async fn sdk_config(endpoint: Option<&str>, region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
            && std::env::var_os("AWS_PROFILE").is_none()
        {
            loader = loader.credentials_provider(Credentials::new(
                "local",
                "local",
                None,
                None,
                "deputy-local-endpoint",
            ));
        }
        if region.is_none() && std::env::var_os("AWS_REGION").is_none() {
            loader = loader.region(Region::new("us-east-1"));
        }
    }
    loader.load().await
}
