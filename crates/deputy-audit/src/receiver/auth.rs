//! Bearer-token authentication of OTLP/HTTP exporters.

use axum::http::{HeaderMap, header};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// The token exporters must send as `Authorization: Bearer <token>`.
///
/// The comparison takes the same time wherever the first differing byte is (`subtle`); only
/// the length of what was sent can be told apart. The token never reaches `Debug` output,
/// logs or error messages.
///
/// ```
/// use deputy_audit::receiver::BearerToken;
/// let token = BearerToken::new("s3cret-with-enough-entropy".to_owned().into()).unwrap();
/// assert!(!format!("{token:?}").contains("s3cret"));
/// assert!(BearerToken::new("short".to_owned().into()).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct BearerToken(SecretString);

/// Why a bearer token is refused at startup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Too short to resist guessing.
    #[error(
        "the receiver's bearer token is shorter than {MIN_TOKEN_CHARS} characters; generate one with e.g. `openssl rand -hex 32`"
    )]
    TooShort,
    /// Holds a character a header value cannot carry.
    #[error(
        "the receiver's bearer token holds whitespace or a control character; use printable ASCII only"
    )]
    NotPrintable,
}

/// The shortest token accepted.
pub const MIN_TOKEN_CHARS: usize = 16;

impl BearerToken {
    /// A token, after trimming surrounding whitespace (a token file usually ends in a
    /// newline).
    pub fn new(token: SecretString) -> Result<Self, TokenError> {
        let trimmed = token.expose_secret().trim();
        if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::NotPrintable);
        }
        if trimmed.len() < MIN_TOKEN_CHARS {
            return Err(TokenError::TooShort);
        }
        Ok(BearerToken(SecretString::from(trimmed.to_owned())))
    }

    /// Whether `headers` carry `Authorization: Bearer <this token>`.
    pub(super) fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return false;
        };
        let sent = value.as_bytes();
        let Some(sent) = sent
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case(b"bearer "))
            .and_then(|_| sent.get(7..))
        else {
            return false;
        };
        bool::from(sent.ct_eq(self.0.expose_secret().as_bytes()))
    }
}
