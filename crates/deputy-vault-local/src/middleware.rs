//! Cross-cutting request handling for `/identities/*`: operation names, per-operation call
//! counters, SigV4 verification, fault injection and `x-amzn-RequestId`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::aws_error::ApiError;
use crate::ids::uuid_v4;
use crate::state::AppState;

/// The operation name for a request (`None` for paths that are not AWS operations).
pub fn operation_name(method: &str, path: &str) -> Option<&'static str> {
    crate::model::operation_for(method, path).map(|o| o.name)
}

/// The largest request body accepted on `/identities/*` (larger ones get a `ValidationException`).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The middleware.
pub async fn identities(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let operation = operation_name(request.method().as_str(), request.uri().path());
    let mut response = match run(&state, operation, request, next).await {
        Ok(response) => {
            if let Some(op) = operation {
                tracing::debug!(
                    operation = op,
                    status = response.status().as_u16(),
                    "request served"
                );
            }
            response
        }
        Err(error) => {
            tracing::info!(
                operation = operation.unwrap_or("-"),
                code = error.code(),
                "request failed"
            );
            error.into_response()
        }
    };
    if let Ok(id) = HeaderValue::from_str(&uuid_v4()) {
        response.headers_mut().insert("x-amzn-RequestId", id);
    }
    response
}

async fn run(
    state: &AppState,
    operation: Option<&str>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let request = if operation.is_some() || request.method() == axum::http::Method::POST {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                ApiError::validation(format!("The request body exceeds {MAX_BODY_BYTES} bytes"))
            })?;
        if let Some(credentials) = &state.sigv4 {
            crate::sigv4::verify(&parts, &bytes, credentials, &state.region)?;
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        request
    };
    if let Some(op) = operation {
        if crate::dataplane::OPERATIONS
            .iter()
            .any(|(_, name)| *name == op)
        {
            state.count(op);
        }
        crate::faults::inject(state, op).await?;
    } else if request.method() == axum::http::Method::POST {
        return Err(ApiError::NotFound(format!(
            "Unknown operation {}",
            request.uri().path()
        )));
    }
    Ok(next.run(request).await)
}
