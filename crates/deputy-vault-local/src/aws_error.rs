//! AWS restJson1-shaped errors: `x-amzn-ErrorType` header, JSON body with `message`
//! (and `reason`/`fieldList` for `ValidationException`), `x-amzn-RequestId`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// `ValidationException.reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationReason {
    /// The body is not a JSON object.
    CannotParse,
    /// A member broke its constraints.
    FieldValidationFailed,
    /// A resource with that name exists (control plane).
    ResourceConflict,
}

impl ValidationReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::CannotParse => "CannotParse",
            Self::FieldValidationFailed => "FieldValidationFailed",
            Self::ResourceConflict => "ResourceConflict",
        }
    }
}

/// One entry of `ValidationException.fieldList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Member name.
    pub name: String,
    /// What is wrong with it.
    pub message: String,
}

/// An error the vault answers with, in the AWS wire shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400 `ValidationException`.
    Validation {
        /// `message`.
        message: String,
        /// `reason`.
        reason: ValidationReason,
        /// `fieldList`.
        fields: Vec<FieldError>,
    },
    /// 401 `UnauthorizedException`.
    Unauthorized(String),
    /// 403 `AccessDeniedException`.
    AccessDenied(String),
    /// 404 `ResourceNotFoundException`.
    NotFound(String),
    /// 409 `ConflictException` (control plane).
    Conflict(String),
    /// 429 `ThrottlingException`.
    Throttling(String),
    /// 500 `InternalServerException`.
    Internal(String),
    /// A modelled error without a variant of its own (`ServiceQuotaExceededException`,
    /// `ConcurrentModificationException`, `ResourceLimitExceededException`,
    /// `DecryptionFailure`, `EncryptionFailure`): produced by fault injection.
    Modelled {
        /// Which error.
        error: ModelledError,
        /// `message`.
        message: String,
    },
    /// 403 with an unmodeled SigV4 code (`InvalidSignatureException`,
    /// `UnrecognizedClientException`, `MissingAuthenticationTokenException`).
    Signature {
        /// The error code.
        code: &'static str,
        /// `message`.
        message: String,
    },
}

impl ApiError {
    /// A `ValidationException` without a field list.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
            reason: ValidationReason::FieldValidationFailed,
            fields: Vec::new(),
        }
    }

    /// A `ValidationException` built from field errors, with the AWS-style summary message.
    pub fn fields(fields: Vec<FieldError>) -> Self {
        let count = fields.len();
        let details: Vec<String> = fields
            .iter()
            .map(|f| {
                format!(
                    "Value at '{}' failed to satisfy constraint: {}",
                    f.name, f.message
                )
            })
            .collect();
        let noun = if count == 1 { "error" } else { "errors" };
        Self::Validation {
            message: format!("{count} validation {noun} detected: {}", details.join("; ")),
            reason: ValidationReason::FieldValidationFailed,
            fields,
        }
    }

    /// The `x-amzn-ErrorType` code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "ValidationException",
            Self::Unauthorized(_) => "UnauthorizedException",
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::NotFound(_) => "ResourceNotFoundException",
            Self::Conflict(_) => "ConflictException",
            Self::Throttling(_) => "ThrottlingException",
            Self::Internal(_) => "InternalServerException",
            Self::Modelled { error, .. } => error.code(),
            Self::Signature { code, .. } => code,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::AccessDenied(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Throttling(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Modelled { error, .. } => error.status(),
            Self::Signature { .. } => StatusCode::FORBIDDEN,
        }
    }

    /// The `message` member.
    pub fn message(&self) -> &str {
        match self {
            Self::Validation { message, .. }
            | Self::Signature { message, .. }
            | Self::Modelled { message, .. } => message,
            Self::Unauthorized(m)
            | Self::AccessDenied(m)
            | Self::NotFound(m)
            | Self::Conflict(m)
            | Self::Throttling(m)
            | Self::Internal(m) => m,
        }
    }

    /// `error` with `message`, as the variant that carries it.
    pub fn modelled(error: ModelledError, message: impl Into<String>) -> Self {
        let message = message.into();
        match error {
            ModelledError::Validation => Self::validation(message),
            ModelledError::Unauthorized => Self::Unauthorized(message),
            ModelledError::AccessDenied => Self::AccessDenied(message),
            ModelledError::ResourceNotFound => Self::NotFound(message),
            ModelledError::Conflict => Self::Conflict(message),
            ModelledError::Throttling => Self::Throttling(message),
            ModelledError::InternalServer => Self::Internal(message),
            other => Self::Modelled {
                error: other,
                message,
            },
        }
    }

    /// The answer to a modelled operation the vault does not emulate: a `ValidationException`
    /// naming it (see ADR 0006 for why that type).
    pub fn not_emulated(operation: &str) -> Self {
        Self::validation(format!(
            "{operation} is not emulated by deputy's local vault; \
             see docs/adr/0006-local-vault-as-a-real-part.md for the operations it serves"
        ))
    }

    /// The error an injected fault with this HTTP status produces.
    pub fn for_injected_status(status: u16) -> Self {
        let message = format!("Injected fault (HTTP {status})");
        match status {
            400 => Self::validation(message),
            401 => Self::Unauthorized(message),
            403 => Self::AccessDenied(message),
            404 => Self::NotFound(message),
            402 => Self::modelled(ModelledError::ServiceQuotaExceeded, message),
            409 => Self::Conflict(message),
            429 => Self::Throttling("Rate exceeded (injected fault)".into()),
            _ => Self::Internal(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match &self {
            Self::Validation {
                message,
                reason,
                fields,
            } => {
                let mut body = json!({ "message": message, "reason": reason.as_str() });
                if !fields.is_empty() {
                    body["fieldList"] = fields
                        .iter()
                        .map(|f| json!({ "name": f.name, "message": f.message }))
                        .collect();
                }
                body
            }
            other => json!({ "message": other.message() }),
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(self.code()));
        if matches!(self, Self::Throttling(_)) {
            // Tell clients how long to back off, as throttling services commonly do.
            response
                .headers_mut()
                .insert("Retry-After", HeaderValue::from_static("1"));
        }
        response
    }
}

/// Every error type the AgentCore Identity operations model, with its HTTP status
/// (botocore 1.44.8, `bedrock-agentcore-control` 2023-06-05 and `bedrock-agentcore` 2024-02-28).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelledError {
    /// 400 `ValidationException`.
    Validation,
    /// 401 `UnauthorizedException`.
    Unauthorized,
    /// 403 `AccessDeniedException`.
    AccessDenied,
    /// 404 `ResourceNotFoundException`.
    ResourceNotFound,
    /// 409 `ConflictException`.
    Conflict,
    /// 409 `ConcurrentModificationException`.
    ConcurrentModification,
    /// 402 `ServiceQuotaExceededException`.
    ServiceQuotaExceeded,
    /// 400 `ResourceLimitExceededException`.
    ResourceLimitExceeded,
    /// 400 `DecryptionFailure`.
    DecryptionFailure,
    /// 400 `EncryptionFailure`.
    EncryptionFailure,
    /// 429 `ThrottlingException`.
    Throttling,
    /// 500 `InternalServerException`.
    InternalServer,
}

impl ModelledError {
    /// Every modelled error.
    pub const ALL: [Self; 12] = [
        Self::Validation,
        Self::Unauthorized,
        Self::AccessDenied,
        Self::ResourceNotFound,
        Self::Conflict,
        Self::ConcurrentModification,
        Self::ServiceQuotaExceeded,
        Self::ResourceLimitExceeded,
        Self::DecryptionFailure,
        Self::EncryptionFailure,
        Self::Throttling,
        Self::InternalServer,
    ];

    /// The shape name, sent as `x-amzn-ErrorType`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Validation => "ValidationException",
            Self::Unauthorized => "UnauthorizedException",
            Self::AccessDenied => "AccessDeniedException",
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::Conflict => "ConflictException",
            Self::ConcurrentModification => "ConcurrentModificationException",
            Self::ServiceQuotaExceeded => "ServiceQuotaExceededException",
            Self::ResourceLimitExceeded => "ResourceLimitExceededException",
            Self::DecryptionFailure => "DecryptionFailure",
            Self::EncryptionFailure => "EncryptionFailure",
            Self::Throttling => "ThrottlingException",
            Self::InternalServer => "InternalServerException",
        }
    }

    /// The HTTP status the model gives it.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Validation
            | Self::ResourceLimitExceeded
            | Self::DecryptionFailure
            | Self::EncryptionFailure => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::ServiceQuotaExceeded => StatusCode::PAYMENT_REQUIRED,
            Self::AccessDenied => StatusCode::FORBIDDEN,
            Self::ResourceNotFound => StatusCode::NOT_FOUND,
            Self::Conflict | Self::ConcurrentModification => StatusCode::CONFLICT,
            Self::Throttling => StatusCode::TOO_MANY_REQUESTS,
            Self::InternalServer => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error whose shape name is `code`.
    ///
    /// ```
    /// use deputy_vault_local::aws_error::ModelledError;
    /// assert_eq!(ModelledError::from_code("DecryptionFailure"), Some(ModelledError::DecryptionFailure));
    /// assert_eq!(ModelledError::from_code("NoSuchError"), None);
    /// ```
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.code() == code)
    }
}

/// The result type of every wire handler.
pub type ApiResult<T> = Result<T, ApiError>;
