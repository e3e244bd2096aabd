//! Create/Get/Update/Delete/List workload identities.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{arn, created, deleted, list_page, tags};
use crate::aws_error::{ApiError, ApiResult};
use crate::dataplane::identities::WORKLOAD_NAME;
use crate::ids::now_secs;
use crate::registry::Workload;
use crate::state::AppState;
use crate::validate::{Body, Pattern, StringRule};

/// `ListWorkloadIdentities`' `maxResults` bound.
const MAX_RESULTS: i64 = 20;

const RETURN_URL: StringRule = StringRule::pattern(1, 2048, Pattern::Url);

/// A workload identity's ARN.
pub fn workload_arn(state: &AppState, name: &str) -> String {
    arn(
        state,
        &format!("workload-identity-directory/default/workload-identity/{name}"),
    )
}

fn details(state: &AppState, w: &Workload) -> Value {
    json!({
        "name": w.name,
        "workloadIdentityArn": workload_arn(state, &w.name),
        "allowedResourceOauth2ReturnUrls": w.return_urls,
        "createdTime": w.created,
        "lastUpdatedTime": w.updated,
    })
}

/// `CreateWorkloadIdentity`.
pub async fn create(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let mut body = Body::parse(&body)?;
    let name = body.required_string("name", WORKLOAD_NAME);
    let urls = body
        .string_list("allowedResourceOauth2ReturnUrls", RETURN_URL, false)
        .unwrap_or_default();
    let tags = body.tags();
    body.finish()?;
    let now = now_secs();
    let mut registry = state.registry_mut();
    if registry.workloads.contains_key(&name) {
        return Err(ApiError::Conflict(format!(
            "Workload identity '{name}' already exists"
        )));
    }
    registry.workloads.insert(
        name.clone(),
        Workload {
            name: name.clone(),
            return_urls: urls.clone(),
            created: now,
            updated: now,
        },
    );
    tags::replace(&mut registry, workload_arn(&state, &name), tags);
    Ok(created(json!({
        "name": name,
        "workloadIdentityArn": workload_arn(&state, &name),
        "allowedResourceOauth2ReturnUrls": urls,
    })))
}

fn name_only(body: &[u8]) -> ApiResult<String> {
    let mut body = Body::parse(body)?;
    let name = body.required_string("name", WORKLOAD_NAME);
    body.finish()?;
    Ok(name)
}

/// `GetWorkloadIdentity`.
pub async fn get(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let workload = state.workload(&name_only(&body)?)?;
    Ok(axum::Json(details(&state, &workload)).into_response())
}

/// `UpdateWorkloadIdentity` (replaces the return URL list).
pub async fn update(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let mut body = Body::parse(&body)?;
    let name = body.required_string("name", WORKLOAD_NAME);
    let urls = body
        .string_list("allowedResourceOauth2ReturnUrls", RETURN_URL, false)
        .unwrap_or_default();
    body.finish()?;
    let updated = {
        let mut registry = state.registry_mut();
        let w = registry
            .workloads
            .get_mut(&name)
            .ok_or_else(|| ApiError::NotFound(format!("Workload identity '{name}' not found")))?;
        w.return_urls = urls;
        w.updated = now_secs();
        w.clone()
    };
    Ok(axum::Json(details(&state, &updated)).into_response())
}

/// `DeleteWorkloadIdentity`.
pub async fn delete(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let name = name_only(&body)?;
    let mut registry = state.registry_mut();
    registry
        .workloads
        .remove(&name)
        .ok_or_else(|| ApiError::NotFound(format!("Workload identity '{name}' not found")))?;
    registry.tags.remove(&workload_arn(&state, &name));
    Ok(deleted())
}

/// `ListWorkloadIdentities`.
pub async fn list(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let names: Vec<String> = state.registry().workloads.keys().cloned().collect();
    let (page, token) = list_page(&body, &names, MAX_RESULTS, String::as_str)?;
    let items: Vec<Value> = page
        .iter()
        .map(|n| json!({ "name": n, "workloadIdentityArn": workload_arn(&state, n) }))
        .collect();
    Ok(axum::Json(json!({ "workloadIdentities": items, "nextToken": token })).into_response())
}
