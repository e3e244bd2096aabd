//! Reading shared secrets from Secrets Manager, directly or through an STS role in a central
//! account (the "Token Broker" pattern), and parsing the token out of them.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::config::Credentials;
use aws_sdk_sts::types::Tag;
use deputy_core::TaskContext;
use deputy_core::policy::{AssumeRole, FallbackFormat, FallbackSecret};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::AccessToken;
use crate::expiry::{ExpiryOutOfRange, unix_time};

/// Why a shared secret could not be read. Never carries the secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager refused or failed.
    #[error("Secrets Manager GetSecretValue on {secret_id} failed ({code}): {message}{hint}")]
    Read {
        /// The secret.
        secret_id: String,
        /// The AWS error code, or the transport failure.
        code: String,
        /// The service's message.
        message: String,
        /// What to do.
        hint: &'static str,
    },
    /// STS refused the role.
    #[error(
        "STS AssumeRole into {role_arn} failed ({code}): {message}; check the role's trust policy (principal, external id, sts:TagSession)"
    )]
    AssumeRole {
        /// The role.
        role_arn: String,
        /// The AWS error code.
        code: String,
        /// The service's message.
        message: String,
    },
    /// The secret has no string value.
    #[error("secret {secret_id} has no SecretString (binary secrets are not supported)")]
    NotString {
        /// The secret.
        secret_id: String,
    },
    /// The secret is not JSON although the table says so.
    #[error(
        "secret {secret_id} is not a JSON object (error at line {line}, column {column}); fix the secret or use shape = \"raw\""
    )]
    NotJson {
        /// The secret.
        secret_id: String,
        /// Where parsing failed.
        line: usize,
        /// Where parsing failed.
        column: usize,
    },
    /// A named field is missing or not a string.
    #[error(
        "secret {secret_id} has no string field {field:?}; add it or set token_field/expires_field in [fallback]"
    )]
    MissingField {
        /// The secret.
        secret_id: String,
        /// The field.
        field: String,
    },
    /// The expiry field holds Unix seconds past the latest time this host can represent.
    #[error(
        "secret {secret_id}: field {field:?} is {seconds} s after the Unix epoch, past the latest time this host can represent; write the token's real expiry (Unix seconds or an RFC 3339 time)"
    )]
    ExpiryOutOfRange {
        /// The secret.
        secret_id: String,
        /// The field.
        field: String,
        /// The value it holds (an expiry, not a secret).
        seconds: u64,
    },
    /// The expiry field is unreadable.
    #[error("secret {secret_id}: field {field:?} is neither Unix seconds nor an RFC 3339 time")]
    BadExpiry {
        /// The secret.
        secret_id: String,
        /// The field.
        field: String,
    },
    /// The shared token has expired (the fallback refreshes nothing).
    #[error(
        "secret {secret_id} holds a token that expired; the fallback never refreshes or writes back, so rotate the secret"
    )]
    Expired {
        /// The secret.
        secret_id: String,
    },
    /// The raw secret is empty.
    #[error("secret {secret_id} is empty")]
    Empty {
        /// The secret.
        secret_id: String,
    },
}

/// A token read from a shared secret.
#[derive(Debug, Clone)]
pub struct SharedToken {
    /// The token.
    pub token: AccessToken,
    /// Its expiry, when the secret says.
    pub expires_at: Option<SystemTime>,
}

impl SharedToken {
    /// Parses the token out of a secret's `value` (what [`SecretReader::read`] does once it has
    /// the value), refusing an expired one at `now`. Errors name the secret, never its value.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use deputy::core::policy::FallbackFormat;
    /// use deputy::fallback::{SecretError, SharedToken};
    /// let format = FallbackFormat::Json {
    ///     token_field: "access_token".into(),
    ///     expires_field: Some("expires_at".into()),
    /// };
    /// let now = UNIX_EPOCH + Duration::from_secs(1_000);
    /// let shared = SharedToken::from_secret_value("s", &format, r#"{"access_token":"t","expires_at":2000}"#, now)?;
    /// assert_eq!(shared.expires_at, Some(UNIX_EPOCH + Duration::from_secs(2_000)));
    /// let huge = r#"{"access_token":"t","expires_at":18446744073709551615}"#;
    /// assert!(matches!(
    ///     SharedToken::from_secret_value("s", &format, huge, now),
    ///     Err(SecretError::ExpiryOutOfRange { .. })
    /// ));
    /// # Ok::<(), SecretError>(())
    /// ```
    pub fn from_secret_value(
        secret_id: &str,
        format: &FallbackFormat,
        value: &str,
        now: SystemTime,
    ) -> Result<SharedToken, SecretError> {
        parse(secret_id, format, value, now)
    }
}

struct AssumedCredentials {
    credentials: Credentials,
    expires_at: SystemTime,
}

/// Reads secrets, assuming roles when a secret lives in a central account; assumed credentials
/// are reused until five minutes before they expire.
pub struct SecretReader {
    sdk: SdkConfig,
    assumed: Mutex<HashMap<String, AssumedCredentials>>,
}

impl std::fmt::Debug for SecretReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretReader")
            .field("region", &self.sdk.region())
            .finish_non_exhaustive()
    }
}

const REUSE_MARGIN: Duration = Duration::from_secs(300);

impl SecretReader {
    /// A reader using `sdk` (region, credentials, optional endpoint) for Secrets Manager and STS.
    pub fn new(sdk: SdkConfig) -> Self {
        SecretReader {
            sdk,
            assumed: Mutex::new(HashMap::new()),
        }
    }

    /// Reads the token from `secret` for `task`.
    pub async fn read(
        &self,
        secret: &FallbackSecret,
        task: &TaskContext,
    ) -> Result<SharedToken, SecretError> {
        let value = self
            .value(&secret.secret_id, secret.assume_role.as_ref(), task)
            .await?;
        parse(
            &secret.secret_id,
            &secret.format,
            value.expose_secret(),
            SystemTime::now(),
        )
    }

    /// The secret's string value, read directly or through `assume_role`.
    pub(crate) async fn value(
        &self,
        secret_id: &str,
        assume_role: Option<&AssumeRole>,
        task: &TaskContext,
    ) -> Result<SecretString, SecretError> {
        let mut config = aws_sdk_secretsmanager::config::Builder::from(&self.sdk);
        if let Some(role) = assume_role {
            config = config.credentials_provider(self.assume(role, task).await?);
        }
        let client = aws_sdk_secretsmanager::Client::from_conf(config.build());
        let out = client.get_secret_value().secret_id(secret_id).send().await.map_err(|e| {
            let (code, message) = error_parts(&e);
            let hint = match code.as_str() {
                "ResourceNotFoundException" => "; check secret_id (and the account: a central-account secret needs role_arn)",
                "AccessDeniedException" => "; grant secretsmanager:GetSecretValue on this secret (and kms:Decrypt on its key)",
                _ => "",
            };
            SecretError::Read { secret_id: secret_id.to_owned(), code, message, hint }
        })?;
        let value = out.secret_string().ok_or_else(|| SecretError::NotString {
            secret_id: secret_id.to_owned(),
        })?;
        Ok(SecretString::from(value.to_owned()))
    }

    async fn assume(
        &self,
        role: &AssumeRole,
        task: &TaskContext,
    ) -> Result<Credentials, SecretError> {
        let session_name = session_name(task);
        let tags = session_tags(task);
        let key = format!("{}|{}|{:?}", role.role_arn, session_name, tags);
        let mut cache = self.assumed.lock().await;
        if let Some(found) = cache.get(&key)
            && SystemTime::now() + REUSE_MARGIN < found.expires_at
        {
            return Ok(found.credentials.clone());
        }
        let sts = aws_sdk_sts::Client::new(&self.sdk);
        let mut request = sts
            .assume_role()
            .role_arn(&role.role_arn)
            .role_session_name(&session_name)
            .set_external_id(role.external_id.clone());
        for (k, v) in &tags {
            let tag =
                Tag::builder()
                    .key(*k)
                    .value(v)
                    .build()
                    .map_err(|e| SecretError::AssumeRole {
                        role_arn: role.role_arn.clone(),
                        code: "InvalidTag".into(),
                        message: e.to_string(),
                    })?;
            request = request.tags(tag);
        }
        let out = request.send().await.map_err(|e| {
            let (code, message) = error_parts(&e);
            SecretError::AssumeRole {
                role_arn: role.role_arn.clone(),
                code,
                message,
            }
        })?;
        let creds = out.credentials().ok_or_else(|| SecretError::AssumeRole {
            role_arn: role.role_arn.clone(),
            code: "NoCredentials".into(),
            message: "AssumeRole returned no credentials".into(),
        })?;
        let expires_at =
            SystemTime::try_from(*creds.expiration()).unwrap_or_else(|_| SystemTime::now());
        let credentials = Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_owned()),
            Some(expires_at),
            "deputy-assume-role",
        );
        cache.insert(
            key,
            AssumedCredentials {
                credentials: credentials.clone(),
                expires_at,
            },
        );
        Ok(credentials)
    }
}

/// `deputy-<task id>`, cut to STS's 64 characters and its character set.
fn session_name(task: &TaskContext) -> String {
    let mut name: String = format!("deputy-{}", task.task_id)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(64);
    name
}

/// Session tags `task_id`, `user_id`, `repo`: values in STS's tag alphabet (see
/// [`tag_value`]), empty ones omitted.
fn session_tags(task: &TaskContext) -> Vec<(&'static str, String)> {
    let values = [
        (deputy_core::attr::TASK_ID, Some(task.task_id.to_string())),
        (
            deputy_core::attr::USER_ID,
            task.user().map(|u| u.to_string()),
        ),
        (
            deputy_core::attr::REPO,
            task.repo.as_ref().map(|r| r.to_string()),
        ),
    ];
    values
        .into_iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, tag_value(&v))))
        .collect()
}

/// A session tag value STS accepts (`[\p{L}\p{Z}\p{N}_.:/=+\-@]*`, at most 256 characters):
/// ASCII letters, digits and `_.:/+-@` are kept, every other byte (and `=` itself) becomes
/// `=` and two hex digits, so `okta+auth0|123` is `okta+auth0=7C123` and distinct ids stay
/// distinct. Cut at 256 characters, never inside an escape.
fn tag_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(256));
    for byte in value.bytes() {
        let kept = byte.is_ascii_alphanumeric() || b"_.:/+-@".contains(&byte);
        let width = if kept { 1 } else { 3 };
        if out.len() + width > 256 {
            break;
        }
        if kept {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("={byte:02X}"));
        }
    }
    out
}

fn error_parts<E: aws_sdk_secretsmanager::error::ProvideErrorMetadata, R>(
    e: &aws_sdk_secretsmanager::error::SdkError<E, R>,
) -> (String, String) {
    match e.as_service_error() {
        Some(service) => (
            service.code().unwrap_or("Unknown").to_owned(),
            service.message().unwrap_or("no message").to_owned(),
        ),
        None => (
            "Unavailable".to_owned(),
            "Secrets Manager or STS could not be reached".to_owned(),
        ),
    }
}

/// Parses the token out of a secret's value.
pub(crate) fn parse(
    secret_id: &str,
    format: &FallbackFormat,
    value: &str,
    now: SystemTime,
) -> Result<SharedToken, SecretError> {
    let id = || secret_id.to_owned();
    let (token, expires_at) = match format {
        FallbackFormat::Raw => (value.trim().to_owned(), None),
        FallbackFormat::Json {
            token_field,
            expires_field,
        } => {
            let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(value)
                .map_err(|e| SecretError::NotJson {
                    secret_id: id(),
                    line: e.line(),
                    column: e.column(),
                })?;
            let token = object
                .get(token_field)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| SecretError::MissingField {
                    secret_id: id(),
                    field: token_field.clone(),
                })?
                .to_owned();
            let expires_at = match expires_field {
                None => None,
                Some(field) => Some(parse_expiry(secret_id, field, object.get(field))?),
            };
            (token, expires_at)
        }
    };
    if token.is_empty() {
        return Err(SecretError::Empty { secret_id: id() });
    }
    if expires_at.is_some_and(|exp| exp <= now) {
        return Err(SecretError::Expired { secret_id: id() });
    }
    Ok(SharedToken {
        token: AccessToken::new(token),
        expires_at,
    })
}

fn parse_expiry(
    secret_id: &str,
    field: &str,
    value: Option<&serde_json::Value>,
) -> Result<SystemTime, SecretError> {
    let bad = || SecretError::BadExpiry {
        secret_id: secret_id.to_owned(),
        field: field.to_owned(),
    };
    let seconds = match value {
        Some(serde_json::Value::Number(n)) => n.as_u64().ok_or_else(bad)?,
        Some(serde_json::Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .and_then(|t| u64::try_from(t.timestamp()).ok())
            .ok_or_else(bad)?,
        None => {
            return Err(SecretError::MissingField {
                secret_id: secret_id.to_owned(),
                field: field.to_owned(),
            });
        }
        Some(_) => return Err(bad()),
    };
    unix_time(seconds).map_err(
        |ExpiryOutOfRange { seconds }| SecretError::ExpiryOutOfRange {
            secret_id: secret_id.to_owned(),
            field: field.to_owned(),
            seconds,
        },
    )
}

#[cfg(test)]
mod tests;
