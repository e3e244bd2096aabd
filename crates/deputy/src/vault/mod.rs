//! The Token Vault client: AgentCore Identity's data plane over `aws-sdk-bedrockagentcore`.
//!
//! Every call maps the SDK's outcome to a [`VaultError`] with a [`VaultErrorKind`] the resolver
//! acts on (consent, denial, not found, retryable unavailability) and a message that says which
//! IAM action or name to check. Tokens are returned as secret types and never logged.

use aws_sdk_bedrockagentcore::Client;
use aws_sdk_bedrockagentcore::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockagentcore::types::{Oauth2FlowType, SessionStatus, UserIdentifier};
use deputy_core::UserId;

use deputy_core::attr;
use tracing::Instrument;

use crate::{AccessToken, UserToken, WorkloadAccessToken};

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
    Jwt(UserToken),
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

/// The class of a vault failure, which decides what the resolver does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultErrorKind {
    /// IAM denied the call, or the session binding was refused.
    AccessDenied,
    /// The workload identity or credential provider does not exist.
    NotFound,
    /// The request was malformed.
    Validation,
    /// The workload access token (or user JWT) was rejected.
    Unauthorized,
    /// Throttled past the SDK's retries.
    Throttled,
    /// The vault could not be reached or failed (network, timeout, 5xx).
    Unavailable,
    /// The vault answered something deputy does not understand.
    Unexpected,
}

impl VaultErrorKind {
    /// Whether waiting and retrying may help (and the fallback may be considered).
    pub fn is_unavailable(self) -> bool {
        matches!(
            self,
            VaultErrorKind::Throttled | VaultErrorKind::Unavailable
        )
    }
}

/// A failed vault call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("Token Vault {operation} failed ({kind:?}): {message}{}", hint(*kind, operation))]
pub struct VaultError {
    /// The AgentCore operation.
    pub operation: &'static str,
    /// What kind of failure.
    pub kind: VaultErrorKind,
    /// The service's message (never token material) or the transport error.
    pub message: String,
    /// The `x-amzn-RequestId`, for AWS support.
    pub request_id: Option<String>,
    /// How long the vault asked callers to wait (`Retry-After`), when it said.
    pub retry_after: Option<std::time::Duration>,
}

fn hint(kind: VaultErrorKind, operation: &str) -> String {
    match kind {
        VaultErrorKind::AccessDenied => format!(
            "; grant bedrock-agentcore:{operation} to this role on the workload identity and credential provider"
        ),
        VaultErrorKind::NotFound => "; check the workload name and credential provider name (and the environment prefix)".into(),
        VaultErrorKind::Unauthorized => "; the workload access token is expired or bound to another workload or user: mint a new one".into(),
        VaultErrorKind::Throttled | VaultErrorKind::Unavailable => "; retry later".into(),
        VaultErrorKind::Validation | VaultErrorKind::Unexpected => String::new(),
    }
}

fn classify<E: ProvideErrorMetadata>(
    operation: &'static str,
    err: SdkError<E, aws_sdk_bedrockagentcore::config::http::HttpResponse>,
) -> VaultError {
    let retry_after = err
        .raw_response()
        .and_then(|r| r.headers().get("retry-after"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_secs);
    let (kind, message, request_id) = match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let kind = match e.code() {
                Some("AccessDeniedException") => VaultErrorKind::AccessDenied,
                Some("ResourceNotFoundException") => VaultErrorKind::NotFound,
                Some("ValidationException") => VaultErrorKind::Validation,
                Some("UnauthorizedException") => VaultErrorKind::Unauthorized,
                Some("ThrottlingException") => VaultErrorKind::Throttled,
                Some("InternalServerException" | "ServiceUnavailableException") => {
                    VaultErrorKind::Unavailable
                }
                _ => VaultErrorKind::Unexpected,
            };
            (
                kind,
                e.message().unwrap_or("no message").to_owned(),
                request_id_of(e),
            )
        }
        SdkError::TimeoutError(_) => (VaultErrorKind::Unavailable, "timed out".to_owned(), None),
        SdkError::DispatchFailure(d) => (
            VaultErrorKind::Unavailable,
            format!(
                "could not reach the vault: {:?}",
                d.as_connector_error().map(|c| c.to_string())
            ),
            None,
        ),
        SdkError::ResponseError(_) => (
            VaultErrorKind::Unavailable,
            "unreadable response".to_owned(),
            None,
        ),
        SdkError::ConstructionFailure(_) => (
            VaultErrorKind::Validation,
            "request could not be built".to_owned(),
            None,
        ),
        _ => (
            VaultErrorKind::Unexpected,
            "unknown SDK error".to_owned(),
            None,
        ),
    };
    VaultError {
        operation,
        kind,
        message,
        request_id,
        retry_after,
    }
}

fn request_id_of<E: ProvideErrorMetadata>(e: &E) -> Option<String> {
    e.meta().extra("aws_request_id").map(str::to_owned)
}

/// The Token Vault data plane.
#[derive(Debug, Clone)]
pub struct TokenVault {
    client: Client,
}

impl TokenVault {
    /// A vault over an SDK client (built from `aws-config`, optionally with `endpoint_url`).
    pub fn new(client: Client) -> Self {
        TokenVault { client }
    }

    /// Mints a Workload Access Token for `workload`, bound as `binding` says.
    pub async fn workload_access_token(
        &self,
        workload: &str,
        binding: &WatBinding,
    ) -> Result<WorkloadAccessToken, VaultError> {
        let token = match binding {
            WatBinding::Jwt(jwt) => {
                let op = "GetWorkloadAccessTokenForJWT";
                let span = call_span(op);
                let out = self
                    .client
                    .get_workload_access_token_for_jwt()
                    .workload_name(workload)
                    .user_token(jwt.expose())
                    .send()
                    .instrument(span.clone())
                    .await
                    .map_err(|e| record_failure(&span, classify(op, e)))?;
                out.workload_access_token().to_owned()
            }
            WatBinding::UserId(user) => {
                let op = "GetWorkloadAccessTokenForUserId";
                let span = call_span(op);
                let out = self
                    .client
                    .get_workload_access_token_for_user_id()
                    .workload_name(workload)
                    .user_id(user.as_str())
                    .send()
                    .instrument(span.clone())
                    .await
                    .map_err(|e| record_failure(&span, classify(op, e)))?;
                out.workload_access_token().to_owned()
            }
            WatBinding::Workload => {
                let op = "GetWorkloadAccessToken";
                let span = call_span(op);
                let out = self
                    .client
                    .get_workload_access_token()
                    .workload_name(workload)
                    .send()
                    .instrument(span.clone())
                    .await
                    .map_err(|e| record_failure(&span, classify(op, e)))?;
                out.workload_access_token().to_owned()
            }
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
        let span = call_span(op);
        let out = self
            .client
            .get_resource_oauth2_token()
            .workload_identity_token(wat.expose())
            .resource_credential_provider_name(&request.provider)
            .oauth2_flow(Oauth2FlowType::from(request.flow))
            .set_scopes(Some(request.scopes.clone()))
            .set_audiences((!request.audiences.is_empty()).then(|| request.audiences.clone()))
            .set_resources((!request.resources.is_empty()).then(|| request.resources.clone()))
            .set_resource_oauth2_return_url(request.return_url.clone())
            .set_session_uri(request.session_uri.clone())
            .set_custom_state(request.custom_state.clone())
            .set_force_authentication(request.force_authentication.then_some(true))
            .send()
            .instrument(span.clone())
            .await
            .map_err(|e| record_failure(&span, classify(op, e)))?;
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
        let span = call_span(op);
        let out = self
            .client
            .get_resource_api_key()
            .workload_identity_token(wat.expose())
            .resource_credential_provider_name(provider)
            .send()
            .instrument(span.clone())
            .await
            .map_err(|e| record_failure(&span, classify(op, e)))?;
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
        let span = call_span(op);
        let identifier = match binding {
            WatBinding::Jwt(jwt) => UserIdentifier::UserToken(jwt.expose().to_owned()),
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
        self.client
            .complete_resource_token_auth()
            .session_uri(session_uri)
            .user_identifier(identifier)
            .send()
            .instrument(span.clone())
            .await
            .map_err(|e| record_failure(&span, classify(op, e)))?;
        Ok(())
    }
}
