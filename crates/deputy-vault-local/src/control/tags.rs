//! `TagResource`, `UntagResource` and `ListTagsForResource` on workload identities and
//! credential providers (`/tags/{resourceArn}`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::aws_error::{ApiError, ApiResult, FieldError};
use crate::registry::Registry;
use crate::state::AppState;
use crate::validate::{Body, MAX_TAGS, Pattern, StringRule};

const TAG_KEY: StringRule = StringRule::pattern(1, 128, Pattern::Tag);
/// `TagKeyList` max.
const MAX_TAG_KEYS: usize = 200;

/// Replaces the tags of `arn` (creates pass their `tags` member here).
pub fn replace(registry: &mut Registry, arn: String, tags: Vec<(String, String)>) {
    if tags.is_empty() {
        registry.tags.remove(&arn);
    } else {
        registry.tags.insert(arn, tags.into_iter().collect());
    }
}

/// The resource ARNs the vault can tag: every workload identity and credential provider.
fn exists(state: &AppState, arn: &str) -> bool {
    let registry = state.registry();
    registry
        .workloads
        .keys()
        .any(|n| super::workloads::workload_arn(state, n) == arn)
        || registry
            .providers
            .keys()
            .any(|n| super::providers::describe::provider_arn(state, n) == arn)
        || registry.api_keys.keys().any(|n| {
            super::arn(
                state,
                &format!("token-vault/default/apikeycredentialprovider/{n}"),
            ) == arn
        })
}

/// Checks `resourceArn` (`TaggableResourcesArn`) and that it names a resource.
fn resource(state: &AppState, arn: &str) -> ApiResult<()> {
    let len = arn.chars().count();
    let shaped = arn.split(':').nth(2) == Some("bedrock-agentcore") && arn.starts_with("arn:");
    if !(20..=1011).contains(&len) || !shaped {
        return Err(ApiError::fields(vec![FieldError {
            name: "resourceArn".into(),
            message: "Member must be a bedrock-agentcore ARN of 20 to 1011 characters".into(),
        }]));
    }
    if !exists(state, arn) {
        return Err(ApiError::NotFound(format!("Resource '{arn}' not found")));
    }
    Ok(())
}

/// `TagResource`: adds or overwrites tags; at most 50 per resource.
pub async fn tag(
    State(state): State<Arc<AppState>>,
    Path(arn): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let mut body = Body::parse(&body)?;
    if !body.has("tags") {
        body.reject("tags", "Member must not be null");
    }
    let tags = body.tags();
    body.finish()?;
    resource(&state, &arn)?;
    let mut registry = state.registry_mut();
    let mut merged = registry.tags.get(&arn).cloned().unwrap_or_default();
    merged.extend(tags);
    if merged.len() > MAX_TAGS {
        return Err(ApiError::validation(format!(
            "A resource can have at most {MAX_TAGS} tags; this request would give it {}",
            merged.len()
        )));
    }
    registry.tags.insert(arn, merged);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `UntagResource`: removes the `tagKeys` query parameters' keys.
pub async fn untag(
    State(state): State<Arc<AppState>>,
    Path(arn): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let keys: Vec<String> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "tagKeys")
        .map(|(_, v)| v.into_owned())
        .collect();
    let mut fields = Vec::new();
    if keys.len() > MAX_TAG_KEYS {
        fields.push(FieldError {
            name: "tagKeys".into(),
            message: format!("Member must have at most {MAX_TAG_KEYS} items"),
        });
    }
    for (i, key) in keys.iter().enumerate() {
        let len = key.chars().count();
        if !(TAG_KEY.min..=TAG_KEY.max).contains(&len) || !Pattern::Tag.matches(key) {
            fields.push(FieldError {
                name: format!("tagKeys.{}", i + 1),
                message: "Member must be a tag key (1-128 characters of [a-zA-Z0-9\\s._:/=+@-])"
                    .into(),
            });
        }
    }
    if !fields.is_empty() {
        return Err(ApiError::fields(fields));
    }
    resource(&state, &arn)?;
    let mut registry = state.registry_mut();
    if let Some(tags) = registry.tags.get_mut(&arn) {
        for key in &keys {
            tags.remove(key);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `ListTagsForResource`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Path(arn): Path<String>,
) -> ApiResult<Response> {
    resource(&state, &arn)?;
    let tags: BTreeMap<String, String> =
        state.registry().tags.get(&arn).cloned().unwrap_or_default();
    Ok(axum::Json(json!({ "tags": tags })).into_response())
}
