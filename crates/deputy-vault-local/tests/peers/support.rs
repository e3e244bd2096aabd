//! SDK clients pointed at the local vault, with the static test credentials.

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
