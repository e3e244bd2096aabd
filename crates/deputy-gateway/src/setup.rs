//! Building an [`Interceptor`] from its configuration: verifiers, the resolver for exchanges,
//! brokers, each checked before the first event arrives.

use std::collections::HashMap;

use deputy::Resolver;
use deputy::fallback::{SecretReader, ServiceCredentials, TokenBroker};
use deputy::vault::{CallPolicy, TokenVault};
use deputy::verify::TokenVerifier;
use deputy_core::policy::{AssumeRole, PolicyTable};
use deputy_core::{Integration, IssuerMap, Operation};

use crate::config::{GatewayConfig, InboundConfig, TargetConfig};
use crate::interceptor::credential::AuditFacts;
use crate::interceptor::headers::ForwardHeaders;
use crate::interceptor::{Inbound, Interceptor, Mode};

/// Why the interceptor could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The configuration is inconsistent.
    #[error("gateway configuration: {0}")]
    Config(String),
}

impl Interceptor {
    /// Builds the interceptor: verifiers, the resolver for exchanges, brokers.
    pub async fn from_config(config: GatewayConfig) -> Result<Self, SetupError> {
        // No region here means the default chain's (`AWS_REGION` in Lambda): the vault, STS
        // and Secrets Manager of the region the function runs in.
        let region = config.region.clone();
        let skew = std::time::Duration::from_secs(config.clock_skew_seconds);
        let aws = |endpoint: Option<String>| {
            let region = region.clone();
            async move {
                let sdk = deputy::aws::sdk_config(endpoint.as_deref(), region.as_deref()).await;
                match sdk.region() {
                    Some(_) => Ok(sdk),
                    None => Err(SetupError::Config(
                        "no AWS region: set AWS_REGION (Lambda sets it) or region in the configuration".into(),
                    )),
                }
            }
        };
        let needs_vault = config
            .targets
            .iter()
            .any(|t| matches!(t, TargetConfig::Exchange { .. }));
        let mut resolver = None;
        if needs_vault {
            let policy = match &config.policy {
                Some(path) => {
                    let text = tokio::fs::read_to_string(path)
                        .await
                        .map_err(|e| SetupError::Config(format!("policy {path}: {e}")))?;
                    PolicyTable::from_toml(path, &text)
                        .map_err(|e| SetupError::Config(e.to_string()))?
                }
                None => PolicyTable::built_in().map_err(|e| SetupError::Config(e.to_string()))?,
            };
            let sdk = aws(config.vault_endpoint.clone()).await?;
            let mut builder = Resolver::builder()
                .workload(&config.workload)
                .vault(TokenVault::connect(&sdk, &CallPolicy::default()));
            for (provider, actor) in &config.obo_actors {
                builder = builder.obo_actor(provider, actor);
            }
            for target in &config.targets {
                if let TargetConfig::Exchange {
                    name,
                    integration,
                    operation,
                    issuer,
                    jwks_uri,
                    audience,
                } = target
                {
                    let integration: Integration = integration
                        .parse()
                        .map_err(|e| SetupError::Config(format!("target {name}: {e}")))?;
                    let op: Operation = operation
                        .parse()
                        .map_err(|e| SetupError::Config(format!("target {name}: {e}")))?;
                    let decision = policy
                        .decide_cell(&integration, deputy_core::TriggerKind::Interactive, op)
                        .map_err(|e| SetupError::Config(format!("target {name}: {e}")))?;
                    let provider = decision.provider.ok_or_else(|| {
                        SetupError::Config(format!(
                            "target {name}: the table names no provider for {integration}"
                        ))
                    })?;
                    builder = builder.verifier(
                        &*provider,
                        TokenVerifier::new(issuer.clone(), jwks_uri.clone(), [audience.clone()]),
                    );
                }
            }
            resolver = Some(
                builder
                    .policy(policy)
                    .build()
                    .map_err(|e| SetupError::Config(e.to_string()))?,
            );
        }
        let inbound = match (&config.inbound, needs_vault) {
            (
                Some(InboundConfig {
                    issuer,
                    jwks_uri,
                    audiences,
                    idp_prefix,
                }),
                _,
            ) => {
                let mut issuers = IssuerMap::new();
                issuers
                    .insert(issuer, idp_prefix)
                    .map_err(|e| SetupError::Config(e.to_string()))?;
                Some(Inbound {
                    verifier: TokenVerifier::new(
                        issuer.clone(),
                        jwks_uri.clone(),
                        audiences.clone(),
                    )
                    .leeway(skew),
                    issuers,
                })
            }
            (None, true) => {
                return Err(SetupError::Config(
                    "exchange targets need [inbound] to verify user tokens".into(),
                ));
            }
            (None, false) => None,
        };
        let mut targets = HashMap::new();
        for target in config.targets {
            let name = target.name().to_owned();
            let mode = match target {
                TargetConfig::Passthrough {
                    issuer,
                    jwks_uri,
                    audience,
                    idp_prefix,
                    integration,
                    operation,
                    ..
                } => Mode::Passthrough {
                    issuers: passthrough_issuers(&issuer, idp_prefix.as_deref(), &inbound)?,
                    verifier: Box::new(
                        TokenVerifier::new(issuer, jwks_uri, [audience]).leeway(skew),
                    ),
                    facts: audit_facts(&name, integration.as_deref(), &operation)?,
                },
                TargetConfig::Exchange {
                    integration,
                    operation,
                    ..
                } => Mode::Exchange {
                    integration: integration
                        .parse()
                        .map_err(|e| SetupError::Config(format!("{e}")))?,
                    operation: operation
                        .parse()
                        .map_err(|e| SetupError::Config(format!("{e}")))?,
                },
                TargetConfig::Broker {
                    secret_id,
                    role_arn,
                    external_id,
                    token_endpoint,
                    scopes,
                    integration,
                    operation,
                    ..
                } => {
                    let facts = audit_facts(&name, integration.as_deref(), &operation)?;
                    let reader = SecretReader::new(aws(config.secrets_endpoint.clone()).await?);
                    let assume_role = role_arn.map(|role_arn| AssumeRole {
                        role_arn,
                        external_id,
                    });
                    Mode::Broker {
                        broker: Box::new(TokenBroker::new(
                            reader,
                            ServiceCredentials {
                                secret_id,
                                assume_role,
                                token_endpoint,
                                scopes,
                            },
                        )),
                        facts,
                    }
                }
            };
            if targets.insert(name.clone(), mode).is_some() {
                return Err(SetupError::Config(format!(
                    "target {name} is configured twice"
                )));
            }
        }
        if let Some(default) = &config.default_target
            && !targets.contains_key(default)
        {
            return Err(SetupError::Config(format!(
                "default_target {default} is not a configured target"
            )));
        }
        let forward = ForwardHeaders::new(&config.forward_headers, &config.user_token_header)?;
        Ok(Interceptor {
            workload: config.workload,
            forward,
            header: config.user_token_header,
            max_token_bytes: config.max_token_bytes,
            default_target: config.default_target,
            targets,
            inbound,
            resolver,
        })
    }
}

/// The integration and operation audit records name for a passthrough or broker target.
fn audit_facts(
    target: &str,
    integration: Option<&str>,
    operation: &str,
) -> Result<AuditFacts, SetupError> {
    let integration = integration.unwrap_or(target);
    Ok(AuditFacts {
        integration: integration.parse().map_err(|e| {
            SetupError::Config(format!(
                "target {target}: {e}; set integration = \"<name>\" on the target"
            ))
        })?,
        operation: operation
            .parse()
            .map_err(|e| SetupError::Config(format!("target {target}: {e}")))?,
    })
}

/// How a passthrough target's user ids are built: its own `idp_prefix`, else `[inbound]`'s
/// when it names the same issuer, else none (records then name no user).
fn passthrough_issuers(
    issuer: &str,
    idp_prefix: Option<&str>,
    inbound: &Option<Inbound>,
) -> Result<Option<IssuerMap>, SetupError> {
    match idp_prefix {
        Some(prefix) => {
            let mut issuers = IssuerMap::new();
            issuers
                .insert(issuer, prefix)
                .map_err(|e| SetupError::Config(e.to_string()))?;
            Ok(Some(issuers))
        }
        None => Ok(inbound
            .as_ref()
            .filter(|inbound| inbound.issuers.prefix_for(issuer).is_some())
            .map(|inbound| inbound.issuers.clone())),
    }
}
