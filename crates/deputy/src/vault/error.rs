//! How a vault call failed, classified so the resolver knows what to do next.

use aws_sdk_bedrockagentcore::error::{ProvideErrorMetadata, SdkError};

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

pub(super) fn classify<E: ProvideErrorMetadata>(
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

impl VaultError {
    /// The error for a call refused because the circuit breaker is open.
    pub(super) fn circuit_open(
        operation: &'static str,
        policy: crate::breaker::BreakerPolicy,
        retry_in: std::time::Duration,
    ) -> VaultError {
        VaultError {
            operation,
            kind: VaultErrorKind::Unavailable,
            message: format!(
                "not called: the circuit breaker is open after {} consecutive failures to reach the vault; the next probe is in {} ms",
                policy.failure_threshold,
                retry_in.as_millis()
            ),
            request_id: None,
            retry_after: Some(retry_in),
        }
    }
}
