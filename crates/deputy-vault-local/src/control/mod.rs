//! The control-plane subset: workload identities, OAuth2 credential providers and API-key
//! credential providers. Creates answer 201, deletes 204, timestamps are epoch seconds.

pub mod api_keys;
pub mod providers;
pub mod workloads;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

use crate::state::AppState;

/// The control-plane operations and their paths.
pub const OPERATIONS: &[(&str, &str)] = &[
    (
        "/identities/CreateWorkloadIdentity",
        "CreateWorkloadIdentity",
    ),
    ("/identities/GetWorkloadIdentity", "GetWorkloadIdentity"),
    (
        "/identities/UpdateWorkloadIdentity",
        "UpdateWorkloadIdentity",
    ),
    (
        "/identities/DeleteWorkloadIdentity",
        "DeleteWorkloadIdentity",
    ),
    (
        "/identities/ListWorkloadIdentities",
        "ListWorkloadIdentities",
    ),
    (
        "/identities/CreateOauth2CredentialProvider",
        "CreateOauth2CredentialProvider",
    ),
    (
        "/identities/GetOauth2CredentialProvider",
        "GetOauth2CredentialProvider",
    ),
    (
        "/identities/DeleteOauth2CredentialProvider",
        "DeleteOauth2CredentialProvider",
    ),
    (
        "/identities/ListOauth2CredentialProviders",
        "ListOauth2CredentialProviders",
    ),
    (
        "/identities/CreateApiKeyCredentialProvider",
        "CreateApiKeyCredentialProvider",
    ),
    (
        "/identities/GetApiKeyCredentialProvider",
        "GetApiKeyCredentialProvider",
    ),
    (
        "/identities/DeleteApiKeyCredentialProvider",
        "DeleteApiKeyCredentialProvider",
    ),
    (
        "/identities/ListApiKeyCredentialProviders",
        "ListApiKeyCredentialProviders",
    ),
];

/// The control-plane routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
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
            "/identities/DeleteApiKeyCredentialProvider",
            post(api_keys::delete),
        )
        .route(
            "/identities/ListApiKeyCredentialProviders",
            post(api_keys::list),
        )
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

/// Reads a `List…` request (`maxResults` 1-20, `nextToken`) and returns that page of `items`
/// with the token of the next one.
pub fn list_page<T: Clone>(
    body: &[u8],
    items: &[T],
) -> crate::aws_error::ApiResult<(Vec<T>, Option<String>)> {
    let mut body = crate::validate::Body::parse(body)?;
    let max = body.optional_int("maxResults", 1, 20);
    let next = body.optional_string("nextToken", crate::validate::StringRule::len(1, 2048));
    body.finish()?;
    Ok(paginate(items, max, next.as_deref()))
}

/// Paginates `items` (sorted by name) with `maxResults` and an opaque `nextToken` (the
/// index of the next item).
pub fn paginate<T: Clone>(
    items: &[T],
    max: Option<i64>,
    next: Option<&str>,
) -> (Vec<T>, Option<String>) {
    let start = next
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0)
        .min(items.len());
    let max = usize::try_from(max.unwrap_or(20)).unwrap_or(20).max(1);
    let end = (start + max).min(items.len());
    let token = (end < items.len()).then(|| end.to_string());
    (items[start..end].to_vec(), token)
}
