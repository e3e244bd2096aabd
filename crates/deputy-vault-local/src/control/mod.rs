//! The control plane: workload identities, OAuth2 and API-key credential providers, the
//! token vault and tags. Creates answer 201, deletes and tagging 204, timestamps are epoch
//! seconds. Every other AgentCore Identity operation of the models ([`crate::model`])
//! answers [`ApiError::not_emulated`].

pub mod api_keys;
pub mod providers;
pub mod tags;
pub mod token_vault;
pub mod workloads;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

use crate::aws_error::{ApiError, ApiResult, FieldError};
use crate::ids::{b64url, b64url_decode};
use crate::model::OPERATIONS;
use crate::state::AppState;
use crate::validate::{Body, StringRule};

/// The control-plane routes, and the not-emulated answer for every modelled operation the
/// vault does not serve.
pub fn router() -> Router<Arc<AppState>> {
    let mut router = Router::new()
        .route(
            "/identities/CreateWorkloadIdentity",
            post(workloads::create),
        )
        .route("/identities/GetWorkloadIdentity", post(workloads::get))
        .route(
            "/identities/UpdateWorkloadIdentity",
            post(workloads::update),
        )
        .route(
            "/identities/DeleteWorkloadIdentity",
            post(workloads::delete),
        )
        .route("/identities/ListWorkloadIdentities", post(workloads::list))
        .route(
            "/identities/CreateOauth2CredentialProvider",
            post(providers::create),
        )
        .route(
            "/identities/GetOauth2CredentialProvider",
            post(providers::get),
        )
        .route(
            "/identities/UpdateOauth2CredentialProvider",
            post(providers::update),
        )
        .route(
            "/identities/DeleteOauth2CredentialProvider",
            post(providers::delete),
        )
        .route(
            "/identities/ListOauth2CredentialProviders",
            post(providers::list),
        )
        .route(
            "/identities/CreateApiKeyCredentialProvider",
            post(api_keys::create),
        )
        .route(
            "/identities/GetApiKeyCredentialProvider",
            post(api_keys::get),
        )
        .route(
            "/identities/UpdateApiKeyCredentialProvider",
            post(api_keys::update),
        )
        .route(
            "/identities/DeleteApiKeyCredentialProvider",
            post(api_keys::delete),
        )
        .route(
            "/identities/ListApiKeyCredentialProviders",
            post(api_keys::list),
        )
        .route("/identities/get-token-vault", post(token_vault::get))
        .route(
            "/identities/set-token-vault-cmk",
            post(token_vault::set_cmk),
        )
        .route(
            "/tags/{arn}",
            post(tags::tag).delete(tags::untag).get(tags::list),
        );
    for operation in OPERATIONS.iter().filter(|o| !o.emulated) {
        let name = operation.name;
        router = router.route(
            operation.path,
            post(move || async move { ApiError::not_emulated(name) }),
        );
    }
    router
}

/// A 201 JSON response.
pub fn created(body: Value) -> Response {
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

/// A 204 empty response.
pub fn deleted() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// An ARN in the vault's account and region.
pub fn arn(state: &AppState, resource: &str) -> String {
    format!(
        "arn:aws:bedrock-agentcore:{}:{}:{resource}",
        state.region, state.account_id
    )
}

/// Reads a `List…` request (`maxResults` 1 to `max_results`, the operation's model bound;
/// `nextToken`) and returns that page of `items` (sorted by `key`) with the next token.
/// A `nextToken` this vault did not issue is a `ValidationException`.
pub fn list_page<'a, T: Clone>(
    body: &[u8],
    items: &'a [T],
    max_results: i64,
    key: impl Fn(&'a T) -> &'a str,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let mut body = Body::parse(body)?;
    let max = body.optional_int("maxResults", 1, max_results);
    let next = body.optional_string("nextToken", StringRule::len(1, 2048));
    body.finish()?;
    let start = match next {
        None => 0,
        Some(token) => {
            let after = decode_token(&token).ok_or_else(|| {
                ApiError::fields(vec![FieldError {
                    name: "nextToken".into(),
                    message: "Member must be a nextToken returned by this operation".into(),
                }])
            })?;
            items.iter().take_while(|i| key(i) < after.as_str()).count()
        }
    };
    let size = usize::try_from(max.unwrap_or(max_results))
        .unwrap_or(1)
        .max(1);
    let end = start.saturating_add(size).min(items.len());
    let token = items.get(end).map(|i| encode_token(key(i)));
    Ok((items[start..end].to_vec(), token))
}

const TOKEN_PREFIX: &str = "deputy-page:";

/// A page token: the name the next page starts at, base64url-encoded.
fn encode_token(next: &str) -> String {
    b64url(format!("{TOKEN_PREFIX}{next}").as_bytes())
}

fn decode_token(token: &str) -> Option<String> {
    let text = String::from_utf8(b64url_decode(token)?).ok()?;
    let name = text.strip_prefix(TOKEN_PREFIX)?;
    (!name.is_empty() && name.len() <= 255).then(|| name.to_owned())
}
