//! Cross-cutting request handling for `/identities/*`: operation names, per-operation call
//! counters, SigV4 verification, fault injection and `x-amzn-RequestId`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::aws_error::ApiError;
use crate::ids::{random_bytes, uuid_v4};
use crate::state::AppState;

/// The operation name for a request path (`None` for paths that are not AWS operations).
pub fn operation_name(path: &str) -> Option<&'static str> {
    if let Some((_, name)) = crate::dataplane::OPERATIONS
        .iter()
        .find(|(p, _)| *p == path)
    {
        return Some(name);
    }
    crate::control::OPERATIONS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, name)| *name)
}

/// The largest request body accepted on `/identities/*` (larger ones get a `ValidationException`).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

fn fault_fires(rate: f64) -> bool {
    if rate <= 0.0 {
        return false;
    }
    let Ok(word) = <[u8; 4]>::try_from(random_bytes(4).as_slice()) else {
        return false;
    };
    f64::from(u32::from_le_bytes(word)) / f64::from(u32::MAX) < rate
}

/// The middleware.
pub async fn identities(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let operation = operation_name(request.uri().path());
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
    let request = if request.method() == axum::http::Method::POST {
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
        let matching = state
            .faults
            .iter()
            .filter(|(r, _)| r.operation.as_deref().is_none_or(|o| o == op));
        for (rule, fired) in matching {
            let fires = fault_fires(rule.error_rate);
            if rule.latency_ms == 0 && !fires {
                continue;
            }
            // `times` bounds how many requests the rule touches (delayed or failed): a burst.
            if fired.fetch_add(1, Ordering::Relaxed) >= rule.times.unwrap_or(u64::MAX) {
                continue;
            }
            if rule.latency_ms > 0 {
                tokio::time::sleep(Duration::from_millis(rule.latency_ms)).await;
            }
            if fires {
                tracing::info!(operation = op, status = rule.status, "injected fault");
                return Err(ApiError::for_injected_status(rule.status));
            }
        }
    } else if request.method() == axum::http::Method::POST {
        return Err(ApiError::NotFound(format!(
            "Unknown operation {}",
            request.uri().path()
        )));
    }
    Ok(next.run(request).await)
}
