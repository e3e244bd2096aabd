//! The Token Vault client: AgentCore Identity's data plane over `aws-sdk-bedrockagentcore`.
//!
//! Every call maps the SDK's outcome to a [`VaultError`] with a [`VaultErrorKind`] the resolver
//! acts on (consent, denial, not found, retryable unavailability) and a message that says which
//! IAM action or name to check. Tokens are returned as secret types and never logged.

mod error;
mod policy;

use std::future::Future;
use std::sync::Arc;

use aws_sdk_bedrockagentcore::Client;
use aws_sdk_bedrockagentcore::config::http::HttpResponse;
use aws_sdk_bedrockagentcore::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockagentcore::types::{Oauth2FlowType, SessionStatus, UserIdentifier};
use deputy_core::UserId;

use deputy_core::attr;
use tracing::Instrument;

use crate::breaker::{BreakerPolicy, CircuitBreaker};
use crate::user_jwt::UserJwt;
use crate::{AccessToken, WorkloadAccessToken};
use error::classify;
pub use error::{VaultError, VaultErrorKind};
pub use policy::CallPolicy;

/// A child span for one vault call; the request id is recorded when the call fails.
fn call_span(operation: &'static str) -> tracing::Span {
    tracing::info_span!(
        attr::SPAN_VAULT_CALL,
        { attr::VAULT_OPERATION } = operation,
        { attr::VAULT_REQUEST_ID } = tracing::field::Empty
    )
}

fn record_failure(span: &tracing::Span, error: VaultError) -> VaultError {
    if let Some(id) = &error.request_id {
        span.record(attr::VAULT_REQUEST_ID, id.as_str());
    }
    error
}

/// Who a Workload Access Token is bound to.
#[derive(Debug, Clone)]
pub enum WatBinding {
    /// A verified user JWT (`GetWorkloadAccessTokenForJWT`): the vault keys the user by `iss`+`sub`.
    Jwt(UserJwt),
    /// A user id (`GetWorkloadAccessTokenForUserId`): a caller-supplied string, no IdP proof.
    UserId(UserId),
    /// No user (`GetWorkloadAccessToken`): machine-to-machine only.
    Workload,
}

/// A `GetResourceOauth2Token` request.
#[derive(Debug, Clone)]
pub struct OAuth2Request {
    /// The credential provider.
    pub provider: String,
    /// `USER_FEDERATION`, `M2M` or `ON_BEHALF_OF_TOKEN_EXCHANGE`.
    pub flow: &'static str,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Audiences.
    pub audiences: Vec<String>,
    /// Resources.
    pub resources: Vec<String>,
    /// Where the vault sends the browser after consent (must be on the workload's allow-list).
    pub return_url: Option<String>,
    /// The consent session to poll.
    pub session_uri: Option<String>,
    /// Start a fresh consent session.
    pub force_authentication: bool,
    /// State echoed to the return URL (CSRF protection).
    pub custom_state: Option<String>,
}

/// What `GetResourceOauth2Token` answered.
#[derive(Debug, Clone)]
pub enum OAuth2Outcome {
    /// A token.
    Token(AccessToken),
    /// The user must consent (or the session is still pending or failed).
    Consent {
        /// Where to send the user; absent on polls of a pending session.
        authorization_url: Option<String>,
        /// The session to bind and poll.
        session_uri: Option<String>,
        /// `IN_PROGRESS` or `FAILED` as the vault reports it.
        failed: bool,
    },
}

/// The Token Vault data plane.
#[derive(Debug, Clone)]
pub struct TokenVault {
    client: Client,
    breakers: Arc<Breakers>,
}

/// One circuit per operation: a vault that mints WATs but fails token calls still opens the
/// token call's circuit.
#[derive(Debug)]
struct Breakers {
    policy: BreakerPolicy,
    by_operation: [(&'static str, CircuitBreaker); 6],
}

impl Breakers {
    fn new(policy: BreakerPolicy) -> Self {
        let circuit = |op| (op, CircuitBreaker::new(policy));
        Breakers {
            policy,
            by_operation: [
                circuit("GetWorkloadAccessToken"),
                circuit("GetWorkloadAccessTokenForJWT"),
                circuit("GetWorkloadAccessTokenForUserId"),
                circuit("GetResourceOauth2Token"),
                circuit("GetResourceApiKey"),
                circuit("CompleteResourceTokenAuth"),
            ],
        }
    }

    fn get(&self, operation: &str) -> Option<&CircuitBreaker> {
        self.by_operation
            .iter()
            .find(|(op, _)| *op == operation)
            .map(|(_, b)| b)
    }
}

impl TokenVault {
    /// A vault over an SDK client (built from `aws-config`, optionally with `endpoint_url`),
    /// with the client's own retry and timeout settings and the default circuit breaker.
    /// [`TokenVault::connect`] also sets deputy's retry and timeout defaults.
    pub fn new(client: Client) -> Self {
        TokenVault {
            client,
            breakers: Arc::new(Breakers::new(BreakerPolicy::default())),
        }
    }

    /// The SDK client calls go through, for calls deputy does not make itself (with the same
    /// retries, timeouts and endpoint).
    ///
    /// ```
    /// # use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Region};
    /// let config = aws_sdk_bedrockagentcore::Config::builder()
    ///     .behavior_version(BehaviorVersion::latest())
    ///     .region(Region::new("us-east-1"))
    ///     .build();
    /// let vault = deputy::vault::TokenVault::new(aws_sdk_bedrockagentcore::Client::from_conf(config));
    /// assert_eq!(vault.client().config().region().map(|r| r.as_ref()), Some("us-east-1"));
    /// ```
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The same client behind fresh circuit breakers (one per operation) with `policy`.
    pub fn with_breaker(self, policy: BreakerPolicy) -> Self {
        TokenVault {
            client: self.client,
            breakers: Arc::new(Breakers::new(policy)),
        }
    }

    /// Whether the circuit of `operation` (`GetResourceOauth2Token`, …) is open, so calls to
    /// it fail fast, right now.
    pub fn circuit_open(&self, operation: &str) -> bool {
        self.breakers
            .get(operation)
            .is_some_and(CircuitBreaker::is_open)
    }

    /// Runs one SDK request as vault call `operation`: in its own `deputy.vault_call` span,
    /// through the operation's circuit breaker (refused at once while the circuit is open; the
    /// outcome reported afterwards), with SDK errors classified.
    ///
    /// The request future is boxed before anything awaits it: an SDK request future is
    /// several kilobytes, and an `async fn` taking it by value would hold it inline, so every
    /// future above (the fetch, the cache's single flight, the boxed miss) would be as large
    /// and copied as it moves. Boxed here, it is copied once and everything above stays small.
    fn call<'a, O, E>(
        &'a self,
        operation: &'static str,
        send: impl Future<Output = Result<O, SdkError<E, HttpResponse>>> + Send + 'a,
    ) -> impl Future<Output = Result<O, VaultError>> + Send + 'a
    where
        E: ProvideErrorMetadata + Send + 'a,
        O: Send + 'a,
    {
        let send = Box::pin(send);
        async move {
            let span = call_span(operation);
            crate::telemetry::adopt_resolve_parent(&span);
            let breaker = self.breakers.get(operation);
            if let Some(open) = breaker.and_then(|b| b.admit().err()) {
                return Err(VaultError::circuit_open(
                    operation,
                    self.breakers.policy,
                    open.retry_in,
                ));
            }
            let result = send
                .instrument(span.clone())
                .await
                .map_err(|e| record_failure(&span, classify(operation, e)));
            if let Some(breaker) = breaker {
                breaker.record(!matches!(&result, Err(e) if e.kind == VaultErrorKind::Unavailable));
            }
            result
        }
    }

    /// Mints a Workload Access Token for `workload`, bound as `binding` says.
    pub async fn workload_access_token(
        &self,
        workload: &str,
        binding: &WatBinding,
    ) -> Result<WorkloadAccessToken, VaultError> {
        let token = match binding {
            WatBinding::Jwt(jwt) => self
                .call(
                    "GetWorkloadAccessTokenForJWT",
                    self.client
                        .get_workload_access_token_for_jwt()
                        .workload_name(workload)
                        .user_token(jwt.token().expose())
                        .send(),
                )
                .await?
                .workload_access_token()
                .to_owned(),
            WatBinding::UserId(user) => self
                .call(
                    "GetWorkloadAccessTokenForUserId",
                    self.client
                        .get_workload_access_token_for_user_id()
                        .workload_name(workload)
                        .user_id(user.as_str())
                        .send(),
                )
                .await?
                .workload_access_token()
                .to_owned(),
            WatBinding::Workload => self
                .call(
                    "GetWorkloadAccessToken",
                    self.client
                        .get_workload_access_token()
                        .workload_name(workload)
                        .send(),
                )
                .await?
                .workload_access_token()
                .to_owned(),
        };
        Ok(WorkloadAccessToken::new(token))
    }

    /// `GetResourceOauth2Token`: a token, or the consent state.
    pub async fn oauth2_token(
        &self,
        wat: &WorkloadAccessToken,
        request: &OAuth2Request,
    ) -> Result<OAuth2Outcome, VaultError> {
        let op = "GetResourceOauth2Token";
        let out = self
            .call(
                op,
                self.client
                    .get_resource_oauth2_token()
                    .workload_identity_token(wat.expose())
                    .resource_credential_provider_name(&request.provider)
                    .oauth2_flow(Oauth2FlowType::from(request.flow))
                    .set_scopes(Some(request.scopes.clone()))
                    .set_audiences(
                        (!request.audiences.is_empty()).then(|| request.audiences.clone()),
                    )
                    .set_resources(
                        (!request.resources.is_empty()).then(|| request.resources.clone()),
                    )
                    .set_resource_oauth2_return_url(request.return_url.clone())
                    .set_session_uri(request.session_uri.clone())
                    .set_custom_state(request.custom_state.clone())
                    .set_force_authentication(request.force_authentication.then_some(true))
                    .send(),
            )
            .await?;
        if let Some(token) = out.access_token().filter(|t| !t.is_empty()) {
            return Ok(OAuth2Outcome::Token(AccessToken::new(token)));
        }
        if out.authorization_url().is_none() && out.session_uri().is_none() {
            return Err(VaultError {
                operation: op,
                kind: VaultErrorKind::Unexpected,
                message: "response has neither accessToken nor authorizationUrl/sessionUri".into(),
                request_id: None,
                retry_after: None,
            });
        }
        Ok(OAuth2Outcome::Consent {
            authorization_url: out.authorization_url().map(str::to_owned),
            session_uri: out.session_uri().map(str::to_owned),
            failed: matches!(out.session_status(), Some(SessionStatus::Failed)),
        })
    }

    /// `GetResourceApiKey`.
    pub async fn api_key(
        &self,
        wat: &WorkloadAccessToken,
        provider: &str,
    ) -> Result<AccessToken, VaultError> {
        let op = "GetResourceApiKey";
        let out = self
            .call(
                op,
                self.client
                    .get_resource_api_key()
                    .workload_identity_token(wat.expose())
                    .resource_credential_provider_name(provider)
                    .send(),
            )
            .await?;
        Ok(AccessToken::new(out.api_key()))
    }

    /// `CompleteResourceTokenAuth`: binds a consent session to the user who started it. The
    /// binding must be the same artifact that minted the WAT (the same JWT, or the same user id).
    pub async fn complete_consent(
        &self,
        session_uri: &str,
        binding: &WatBinding,
    ) -> Result<(), VaultError> {
        let op = "CompleteResourceTokenAuth";
        let identifier = match binding {
            WatBinding::Jwt(jwt) => UserIdentifier::UserToken(jwt.token().expose().to_owned()),
            WatBinding::UserId(user) => UserIdentifier::UserId(user.as_str().to_owned()),
            WatBinding::Workload => {
                return Err(VaultError {
                    operation: op,
                    kind: VaultErrorKind::Validation,
                    message:
                        "a consent session belongs to a user; a workload-only WAT cannot bind it"
                            .into(),
                    request_id: None,
                    retry_after: None,
                });
            }
        };
        let request = self
            .client
            .complete_resource_token_auth()
            .session_uri(session_uri)
            .user_identifier(identifier);
        self.call(op, request.send()).await?;
        Ok(())
    }
}
