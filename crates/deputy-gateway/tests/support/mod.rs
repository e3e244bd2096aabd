//! Shared set-up: the local vault (dev IdP), moto with a central broker secret, a config.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod lambda;

use deputy_gateway::Interceptor;
use deputy_gateway::config::GatewayConfig;
use deputy_tests::moto::Moto;
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig};
use serde_json::{Value, json};

pub const CENTRAL_ROLE: &str = "arn:aws:iam::111122223333:role/central-broker";

pub struct World {
    pub vault: RunningVault,
    pub moto: Moto,
    pub config: String,
}

pub async fn world() -> World {
    let mut config = VaultConfig::development();
    config
        .dev_idp
        .clients
        .push(deputy_vault_local::config::DevClient {
            client_id: "billing-service".into(),
            client_secret: deputy_vault_local::Sensitive::new("billing-client-secret".to_owned()),
            redirect_uris: vec![],
        });
    let vault = LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let moto = Moto::start().await;
    moto.put_secret_as_role(
        CENTRAL_ROLE,
        "billing-client",
        r#"{"client_id":"billing-service","client_secret":"billing-client-secret"}"#,
    )
    .await;
    let issuer = vault.idp_issuer();
    let config = format!(
        r#"
workload = "deputy-agent"
vault_endpoint = "{endpoint}"
secrets_endpoint = "{moto}"
region = "us-east-1"
default_target = "docs"

[inbound]
issuer = "{issuer}"
jwks_uri = "{issuer}/jwks"
audiences = ["deputy"]
idp_prefix = "dev"

[[target]]
name = "docs"
mode = "passthrough"
issuer = "{issuer}"
jwks_uri = "{issuer}/jwks"
audience = "docs-mcp"

[[target]]
name = "aws"
mode = "exchange"
integration = "aws-native"
issuer = "{issuer}"
jwks_uri = "{issuer}/jwks"
audience = "aws-native"

[[target]]
name = "billing"
mode = "broker"
secret_id = "billing-client"
role_arn = "{CENTRAL_ROLE}"
token_endpoint = "{issuer}/token"
scopes = ["billing:read"]
"#,
        endpoint = vault.endpoint(),
        moto = moto.endpoint,
    );
    World {
        vault,
        moto,
        config,
    }
}

pub async fn interceptor(world: &World) -> Interceptor {
    let config: GatewayConfig = toml::from_str(&world.config).unwrap();
    Interceptor::from_config(config).await.unwrap()
}

pub fn event(tool: Option<&str>, headers: Option<Value>) -> Value {
    let body = match tool {
        Some(tool) => {
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": tool, "arguments": {"q": "x"}}})
        }
        None => json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}),
    };
    let mut request = json!({"path": "/mcp", "httpMethod": "POST", "body": body});
    if let Some(headers) = headers {
        request["headers"] = headers;
    }
    json!({"interceptorInputVersion": "1.0", "mcp": {"rawGatewayRequest": {"body": body.to_string()}, "gatewayRequest": request}})
}

/// Creates a secret in `region` in the account of `role_arn`, as that role (moto keeps
/// Secrets Manager per region).
pub async fn put_secret_in(moto: &Moto, region: &str, role_arn: &str, name: &str, value: &str) {
    let sts = aws_sdk_sts::Client::new(&moto.sdk().await);
    let out = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("setup")
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    let creds = aws_sdk_secretsmanager::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "setup",
    );
    let config = aws_sdk_secretsmanager::config::Builder::from(&moto.sdk_with(creds).await)
        .region(aws_sdk_secretsmanager::config::Region::new(
            region.to_owned(),
        ))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
}
