//! The SDK clients, the throwaway names, and the resources to clean up.

use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_bedrockagentcorecontrol::types::{
    ActorTokenContentType, CredentialProviderVendorType, CustomOauth2ProviderConfigInput,
    Oauth2Discovery, Oauth2ProviderConfigInput, OnBehalfOfTokenExchangeConfigType,
    OnBehalfOfTokenExchangeGrantTypeType, TokenExchangeGrantTypeConfigType,
};

use crate::args::Args;
use crate::record::{SpikeRecord, Status};

/// Something the spike created and must delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// A workload identity.
    WorkloadIdentity(String),
    /// An OAuth2 credential provider.
    Oauth2Provider(String),
}

/// Clients, names and the cleanup list of one run.
pub struct Context {
    /// The control plane.
    pub control: aws_sdk_bedrockagentcorecontrol::Client,
    /// The data plane.
    pub data: aws_sdk_bedrockagentcore::Client,
    /// The arguments.
    pub args: Args,
    /// The throwaway workload identity's name.
    pub workload: String,
    /// The throwaway provider's name.
    pub provider: String,
    /// The OAuth client id registered with the provider.
    pub client_id: String,
    /// What to delete at the end.
    pub created: Vec<Created>,
}

/// A short unique suffix for throwaway names.
pub fn suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{:x}{:x}", std::process::id() & 0xffff, nanos & 0xfffff)
}

impl Context {
    /// Builds the clients for `--region` (default credential chain) or `--endpoint`.
    pub async fn new(args: Args, flow: &str) -> Result<Self, String> {
        let suffix = suffix();
        let flow_name = flow.replace('_', "-");
        let (control, data) = match (&args.region, &args.endpoint) {
            (Some(region), _) => {
                let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new(region.clone()))
                    .load()
                    .await;
                (
                    aws_sdk_bedrockagentcorecontrol::Client::new(&shared),
                    aws_sdk_bedrockagentcore::Client::new(&shared),
                )
            }
            (None, Some(endpoint)) => {
                let credentials = Credentials::new("phase0", "phase0", None, None, "phase0-local");
                let control = aws_sdk_bedrockagentcorecontrol::Config::builder()
                    .behavior_version(
                        aws_sdk_bedrockagentcorecontrol::config::BehaviorVersion::latest(),
                    )
                    .region(aws_sdk_bedrockagentcorecontrol::config::Region::new(
                        "us-east-1",
                    ))
                    .credentials_provider(credentials.clone())
                    .endpoint_url(endpoint)
                    .build();
                let data = aws_sdk_bedrockagentcore::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new("us-east-1"))
                    .credentials_provider(credentials)
                    .endpoint_url(endpoint)
                    .build();
                (
                    aws_sdk_bedrockagentcorecontrol::Client::from_conf(control),
                    aws_sdk_bedrockagentcore::Client::from_conf(data),
                )
            }
            (None, None) => return Err("pass --region or --endpoint".to_owned()),
        };
        let client_id = match (&args.client_id, &args.endpoint) {
            (Some(id), _) => id.clone(),
            (None, Some(_)) => format!("phase0-client-{suffix}"),
            (None, None) => return Err("--client-id is required with --region".to_owned()),
        };
        Ok(Context {
            control,
            data,
            workload: format!("phase0-{flow_name}-{suffix}"),
            provider: format!("phase0-{flow_name}-{suffix}"),
            client_id,
            args,
            created: Vec::new(),
        })
    }

    /// Creates the throwaway workload identity (allowing `return_url` when given).
    pub async fn create_workload(&mut self, return_url: Option<&str>) -> Result<String, String> {
        let mut request = self.control.create_workload_identity().name(&self.workload);
        if let Some(url) = return_url {
            request = request.allowed_resource_oauth2_return_urls(url);
        }
        let out = request.send().await.map_err(|e| {
            format!(
                "CreateWorkloadIdentity {}: {}",
                self.workload,
                sdk_error(&e)
            )
        })?;
        self.created
            .push(Created::WorkloadIdentity(self.workload.clone()));
        Ok(out.workload_identity_arn().to_owned())
    }

    /// Creates the throwaway custom OAuth2 provider (with the OBO exchange when `obo`).
    /// Returns the provider's `callbackUrl`.
    pub async fn create_provider(&mut self, obo: bool) -> Result<String, String> {
        let discovery = self.args.discovery_url()?;
        let secret = match (&self.args.client_secret, &self.args.endpoint) {
            (Some(secret), _) => secret.clone(),
            (None, Some(_)) => format!("phase0-secret-{}", suffix()),
            (None, None) => {
                return Err(
                    "PHASE0_CLIENT_SECRET (or --client-secret) is required with --region"
                        .to_owned(),
                );
            }
        };
        let mut config = CustomOauth2ProviderConfigInput::builder()
            .oauth_discovery(Oauth2Discovery::DiscoveryUrl(discovery))
            .client_id(&self.client_id)
            .client_secret(secret);
        if obo {
            let exchange = TokenExchangeGrantTypeConfigType::builder()
                .actor_token_content(ActorTokenContentType::M2M)
                .set_actor_token_scopes(Some(self.args.actor_scopes.clone()))
                .build()
                .map_err(|e| format!("token exchange config: {e}"))?;
            let obo = OnBehalfOfTokenExchangeConfigType::builder()
                .grant_type(OnBehalfOfTokenExchangeGrantTypeType::TokenExchange)
                .token_exchange_grant_type_config(exchange)
                .build()
                .map_err(|e| format!("on-behalf-of config: {e}"))?;
            config = config.on_behalf_of_token_exchange_config(obo);
        }
        let out = self
            .control
            .create_oauth2_credential_provider()
            .name(&self.provider)
            .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
            .oauth2_provider_config_input(Oauth2ProviderConfigInput::CustomOauth2ProviderConfig(
                config.build(),
            ))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "CreateOauth2CredentialProvider {}: {}",
                    self.provider,
                    sdk_error(&e)
                )
            })?;
        self.created
            .push(Created::Oauth2Provider(self.provider.clone()));
        Ok(out.callback_url().unwrap_or_default().to_owned())
    }

    /// Deletes everything created, newest first, and records the outcome.
    pub async fn cleanup(&mut self, record: &mut SpikeRecord) {
        let mut deleted = Vec::new();
        let mut left = Vec::new();
        while let Some(item) = self.created.pop() {
            let result = match &item {
                Created::Oauth2Provider(name) => self
                    .control
                    .delete_oauth2_credential_provider()
                    .name(name)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| sdk_error(&e)),
                Created::WorkloadIdentity(name) => self
                    .control
                    .delete_workload_identity()
                    .name(name)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| sdk_error(&e)),
            };
            match result {
                Ok(()) => deleted.push(format!("{item:?}")),
                Err(e) => left.push(format!("{item:?} ({e}); delete it by hand")),
            }
        }
        if left.is_empty() {
            record.push(
                "cleanup",
                Status::Pass,
                format!("deleted {}", deleted.join(", ")),
            );
        } else {
            record.push(
                "cleanup",
                Status::Fail,
                format!(
                    "deleted {}; NOT deleted: {}",
                    deleted.join(", "),
                    left.join(", ")
                ),
            );
        }
    }
}

/// An SDK error as "Code: message" (never a request body).
pub fn sdk_error<E, R>(error: &aws_sdk_bedrockagentcore::error::SdkError<E, R>) -> String
where
    E: aws_sdk_bedrockagentcore::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("no message")
        ),
        None => format!(
            "{}",
            aws_sdk_bedrockagentcore::error::DisplayErrorContext(error)
        ),
    }
}
