//! SigV4 verification of `/identities/*` requests, used when the configuration has `[sigv4]`
//! credentials. Both SDK clients (data and control plane) sign with the service name
//! `bedrock-agentcore`; the credential scope's region must be the vault's.
//!
//! The payload hash in the canonical request is always the SHA-256 of the body as received
//! (the body is bounded by the middleware before it is hashed). The SDKs send no
//! `x-amz-content-sha256` for these JSON APIs; when a client does send one it must be signed
//! and equal that hash, so `UNSIGNED-PAYLOAD` and streaming payloads are refused.

use aws_lc_rs::hmac;

use crate::aws_error::ApiError;
use crate::config::SigV4Credentials;
use crate::ids::{hex, now_secs, sha256};

const SERVICE: &str = "bedrock-agentcore";
const MAX_SKEW_SECONDS: i64 = 15 * 60;
const CONTENT_SHA256: &str = "x-amz-content-sha256";

fn fail(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::Signature {
        code,
        message: message.into(),
    }
}

struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse(header: &str) -> Option<Authorization<'_>> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let auth = Authorization {
        access_key: scope.next()?,
        date: scope.next()?,
        region: scope.next()?,
        service: scope.next()?,
        signed_headers: signed?.split(';').collect(),
        signature: signature?,
    };
    (scope.next()? == "aws4_request").then_some(auth)
}

fn uri_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn canonical_query(query: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
            .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn hmac_sign(key: &[u8], data: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
        .as_ref()
        .to_vec()
}

/// Epoch seconds of an `x-amz-date` value (`YYYYMMDDTHHMMSSZ`).
fn amz_date_secs(date: &str) -> Option<i64> {
    let b = date.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| date.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// The body's SHA-256 (hex), after checking a client-sent `x-amz-content-sha256` against it.
fn payload_hash(
    parts: &axum::http::request::Parts,
    auth: &Authorization<'_>,
    body: &[u8],
) -> Result<String, ApiError> {
    let computed = hex(&sha256(body));
    let Some(claimed) = parts.headers.get(CONTENT_SHA256) else {
        return Ok(computed);
    };
    if !auth.signed_headers.contains(&CONTENT_SHA256) {
        return Err(fail(
            "InvalidSignatureException",
            "x-amz-content-sha256 is sent but not in SignedHeaders: sign it, or leave it out.",
        ));
    }
    let claimed = claimed.to_str().unwrap_or_default();
    if claimed == "UNSIGNED-PAYLOAD" || claimed.starts_with("STREAMING-") {
        return Err(fail(
            "InvalidSignatureException",
            "This service requires a signed payload: x-amz-content-sha256 must be the SHA-256 of the body.",
        ));
    }
    if claimed != computed {
        return Err(fail(
            "InvalidSignatureException",
            "The x-amz-content-sha256 header does not match the SHA-256 of the request body.",
        ));
    }
    Ok(computed)
}

/// Verifies the request's SigV4 signature, its scope (`region`, service `bedrock-agentcore`),
/// its date (15 minutes either way) and its payload hash against `body`.
///
/// ```
/// use deputy_vault_local::{Sensitive, config::SigV4Credentials};
/// let credentials = SigV4Credentials {
///     access_key_id: "AKID".into(),
///     secret_access_key: Sensitive::new("secret"),
/// };
/// let request = axum::http::Request::post("/identities/GetWorkloadAccessToken").body(()).unwrap();
/// let (parts, ()) = request.into_parts();
/// let refused = deputy_vault_local::sigv4::verify(&parts, b"{}", &credentials, "us-east-1");
/// assert_eq!(refused.unwrap_err().code(), "MissingAuthenticationTokenException");
/// ```
pub fn verify(
    parts: &axum::http::request::Parts,
    body: &[u8],
    credentials: &SigV4Credentials,
    region: &str,
) -> Result<(), ApiError> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let authorization = header("authorization").ok_or_else(|| {
        fail(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
    })?;
    let auth = parse(authorization).ok_or_else(|| {
        fail(
            "IncompleteSignatureException",
            "The Authorization header is not a valid SigV4 header",
        )
    })?;
    if auth.access_key != credentials.access_key_id {
        return Err(fail(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    }
    if auth.region != region {
        return Err(fail(
            "InvalidSignatureException",
            format!(
                "Credential should be scoped to a valid region: this vault's region is '{region}'."
            ),
        ));
    }
    if auth.service != SERVICE {
        return Err(fail(
            "InvalidSignatureException",
            format!("Credential should be scoped to correct service: '{SERVICE}'."),
        ));
    }
    if !auth.signed_headers.contains(&"host") {
        return Err(fail(
            "IncompleteSignatureException",
            "'Host' must be a SignedHeader in the AWS Authorization.",
        ));
    }
    let amz_date = header("x-amz-date")
        .ok_or_else(|| fail("IncompleteSignatureException", "Missing x-amz-date"))?;
    let signed_at = amz_date_secs(amz_date)
        .ok_or_else(|| fail("IncompleteSignatureException", "Invalid x-amz-date"))?;
    let now = i64::try_from(now_secs()).unwrap_or(i64::MAX);
    if (now - signed_at).abs() > MAX_SKEW_SECONDS {
        return Err(fail(
            "InvalidSignatureException",
            format!(
                "Signature expired: {amz_date} is more than 15 minutes from the vault's clock; check the client's clock."
            ),
        ));
    }
    if !amz_date.starts_with(auth.date) {
        return Err(fail(
            "InvalidSignatureException",
            "x-amz-date does not match the date of the credential scope.",
        ));
    }
    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        let values: Vec<String> = parts
            .headers
            .get_all(*name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    // The path on the wire is already encoded once; SigV4 (non-S3) encodes it once more.
    let path: String = parts
        .uri
        .path()
        .split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/");
    let payload_hash = payload_hash(parts, &auth, body)?;
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        parts.method.as_str(),
        path,
        canonical_query(parts.uri.query()),
        canonical_headers,
        auth.signed_headers.join(";"),
        payload_hash
    );
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&sha256(canonical_request.as_bytes()))
    );
    let mut key = hmac_sign(
        format!("AWS4{}", credentials.secret_access_key.expose()).as_bytes(),
        auth.date,
    );
    for part in [auth.region, auth.service, "aws4_request"] {
        key = hmac_sign(&key, part);
    }
    let expected = hex(&hmac_sign(&key, &string_to_sign));
    if aws_lc_rs::constant_time::verify_slices_are_equal(
        expected.as_bytes(),
        auth.signature.as_bytes(),
    )
    .is_err()
    {
        return Err(fail(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_convert_to_epoch_seconds() {
        assert_eq!(amz_date_secs("19700101T000000Z"), Some(0));
        assert_eq!(amz_date_secs("20240229T120000Z"), Some(1_709_208_000));
        assert_eq!(amz_date_secs("2024-02-29"), None);
    }

    #[test]
    fn uri_encoding_keeps_unreserved_characters() {
        assert_eq!(uri_encode("oauth2-token_x.y~"), "oauth2-token_x.y~");
        assert_eq!(uri_encode("a b/c"), "a%20b%2Fc");
    }
}
