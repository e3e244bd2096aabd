//! Workload Access Tokens delivered by AgentCore Runtime in request headers.
//!
//! # Precedence
//!
//! Header names are matched case-insensitively, in this order:
//! 1. `X-Amz-Bedrock-AgentCore-Identity-WAT` (the newer spelling; the Python SDK prefers it),
//! 2. `WorkloadAccessToken`,
//! 3. `x-amzn-bedrock-agentcore-runtime-workload-accesstoken`,
//! 4. `x-amzn-bedrock-agentcore-workload-access-token`.
//!
//! Runtime has been seen sending two spellings on one request with the same value. Two
//! spellings with *different* values are refused: one of them did not come from Runtime.

use crate::WorkloadAccessToken;

/// The header names that may carry a WAT, in precedence order (lowercase).
pub const WAT_HEADERS: [&str; 4] = [
    "x-amz-bedrock-agentcore-identity-wat",
    "workloadaccesstoken",
    "x-amzn-bedrock-agentcore-runtime-workload-accesstoken",
    "x-amzn-bedrock-agentcore-workload-access-token",
];

/// Why the headers do not yield a WAT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatHeaderError {
    /// No WAT header is present.
    #[error(
        "no workload access token header (expected one of {WAT_HEADERS:?}); AgentCore Runtime sends one only for JWT-authorized or runtimeUserId invocations"
    )]
    Missing,
    /// A WAT header is present but empty.
    #[error("workload access token header {0} is empty")]
    Empty(String),
    /// Two headers carry different values.
    #[error(
        "workload access token headers {first} and {second} carry different values; refusing to guess"
    )]
    Conflict {
        /// The header with higher precedence.
        first: String,
        /// The disagreeing header.
        second: String,
    },
}

/// Extracts the WAT from request headers, given as (name, value) pairs in any case.
///
/// ```
/// use deputy::wat_headers::from_headers;
/// let headers = [("content-type", "application/json"), ("WorkloadAccessToken", "wat-1")];
/// let wat = from_headers(headers).unwrap();
/// assert_eq!(wat.expose(), "wat-1");
/// ```
pub fn from_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<WorkloadAccessToken, WatHeaderError> {
    let mut found: Vec<(usize, &str, &str)> = Vec::new();
    for (name, value) in headers {
        if let Some(rank) = WAT_HEADERS
            .iter()
            .position(|h| name.eq_ignore_ascii_case(h))
        {
            found.push((rank, name, value.trim()));
        }
    }
    found.sort_by_key(|(rank, _, _)| *rank);
    let Some(&(_, first_name, first_value)) = found.first() else {
        return Err(WatHeaderError::Missing);
    };
    if first_value.is_empty() {
        return Err(WatHeaderError::Empty(first_name.to_owned()));
    }
    if let Some(&(_, other, _)) = found.iter().find(|(_, _, v)| *v != first_value) {
        return Err(WatHeaderError::Conflict {
            first: first_name.to_owned(),
            second: other.to_owned(),
        });
    }
    Ok(WorkloadAccessToken::new(first_value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_case() {
        let wat = from_headers([
            ("x-amzn-bedrock-agentcore-workload-access-token", "same"),
            ("X-AMZ-BEDROCK-AGENTCORE-IDENTITY-WAT", "same"),
        ])
        .unwrap();
        assert_eq!(wat.expose(), "same");
        for name in WAT_HEADERS {
            assert_eq!(from_headers([(name, "v")]).unwrap().expose(), "v");
        }
    }

    #[test]
    fn missing_empty_and_conflicting() {
        assert_eq!(
            from_headers([("authorization", "Bearer x")]).unwrap_err(),
            WatHeaderError::Missing
        );
        assert_eq!(
            from_headers([("WorkloadAccessToken", "  ")]).unwrap_err(),
            WatHeaderError::Empty("WorkloadAccessToken".into())
        );
        let err = from_headers([
            ("workloadaccesstoken", "value-one"),
            ("X-Amz-Bedrock-AgentCore-Identity-WAT", "value-two"),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            WatHeaderError::Conflict {
                first: "X-Amz-Bedrock-AgentCore-Identity-WAT".into(),
                second: "workloadaccesstoken".into()
            }
        );
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains("value-one") && !shown.contains("value-two"),
            "{shown}"
        );
    }
}
