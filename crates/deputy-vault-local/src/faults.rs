//! Fault injection, a test seam with two parts:
//!
//! - `[[faults]]` rules ([`FaultRule`]): latency and errors by HTTP status, at a rate, for a
//!   bounded number of requests;
//! - the fault plan ([`PlannedFault`]): "answer the next `times` calls of `operation` with
//!   `error`", for any error the operation's model lists, with the model's status, so the
//!   SDKs see it typed (e.g. `CreateApiKeyCredentialProviderError::ServiceQuotaExceededException`).
//!   It is seeded from `[[fault_plan]]` and, only when `fault_admin = true`, extended at run
//!   time through `POST /_deputy/faults` from a loopback peer. At most
//!   [`MAX_PLANNED`] entries are pending, each at most [`MAX_TIMES`] times.
//!
//! ```
//! use deputy_vault_local::faults::{FaultPlan, PlannedFault};
//! let plan = FaultPlan::default();
//! plan.add(&PlannedFault { operation: "GetTokenVault".into(), error: "ThrottlingException".into(), times: 1 }).unwrap();
//! assert!(plan.add(&PlannedFault { operation: "GetTokenVault".into(), error: "DecryptionFailure".into(), times: 1 }).is_err());
//! ```

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use crate::aws_error::{ApiError, ModelledError};
pub use crate::config::FaultRule;
use crate::ids::random_bytes;
use crate::state::AppState;

/// The most planned faults pending at once.
pub const MAX_PLANNED: usize = 64;
/// The most times one planned fault may fire.
pub const MAX_TIMES: u32 = 1000;
/// The admin route's path (off unless `fault_admin = true`).
pub const ADMIN_PATH: &str = "/_deputy/faults";
const ADMIN_BODY_LIMIT: usize = 4096;

/// One planned fault: the next `times` calls of `operation` answer `error`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PlannedFault {
    /// A modelled operation name, e.g. `CreateApiKeyCredentialProvider`.
    pub operation: String,
    /// A modelled error shape the operation lists, e.g. `ServiceQuotaExceededException`.
    pub error: String,
    /// How many calls it answers (1 to [`MAX_TIMES`]).
    pub times: u32,
}

/// Why a planned fault was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The operation is not in the model.
    #[error("'{0}' is not an AgentCore Identity operation of the model")]
    UnknownOperation(String),
    /// The operation's model does not list that error.
    #[error("{operation} does not model '{error}'; it models: {allowed}")]
    NotModelled {
        /// Operation.
        operation: String,
        /// The refused error.
        error: String,
        /// The errors it models.
        allowed: String,
    },
    /// `times` is out of range.
    #[error("times must be between 1 and {MAX_TIMES}")]
    Times,
    /// The plan is full.
    #[error("at most {MAX_PLANNED} planned faults may be pending")]
    Full,
}

#[derive(Debug)]
struct Pending {
    operation: &'static str,
    error: ModelledError,
    left: u32,
}

/// The pending planned faults, in the order they were planned.
#[derive(Debug, Default)]
pub struct FaultPlan {
    pending: Mutex<Vec<Pending>>,
}

impl FaultPlan {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        match self.pending.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Plans `fault` after checking it against the model and the bounds.
    pub fn add(&self, fault: &PlannedFault) -> Result<(), PlanError> {
        let operation = crate::model::find(&fault.operation)
            .ok_or_else(|| PlanError::UnknownOperation(fault.operation.clone()))?;
        let error = ModelledError::from_code(&fault.error)
            .filter(|e| operation.errors.contains(e))
            .ok_or_else(|| PlanError::NotModelled {
                operation: operation.name.to_owned(),
                error: fault.error.clone(),
                allowed: operation
                    .errors
                    .iter()
                    .map(|e| e.code())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        if !(1..=MAX_TIMES).contains(&fault.times) {
            return Err(PlanError::Times);
        }
        let mut pending = self.lock();
        if pending.len() >= MAX_PLANNED {
            return Err(PlanError::Full);
        }
        pending.push(Pending {
            operation: operation.name,
            error,
            left: fault.times,
        });
        Ok(())
    }

    /// Takes one firing of the first planned fault for `operation`, if any.
    pub fn take(&self, operation: &str) -> Option<ModelledError> {
        let mut pending = self.lock();
        let index = pending.iter().position(|p| p.operation == operation)?;
        let error = pending[index].error;
        pending[index].left -= 1;
        if pending[index].left == 0 {
            pending.remove(index);
        }
        Some(error)
    }

    /// How many planned faults are pending.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is planned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn fires(rate: f64) -> bool {
    if rate <= 0.0 {
        return false;
    }
    let Ok(word) = <[u8; 4]>::try_from(random_bytes(4).as_slice()) else {
        return false;
    };
    f64::from(u32::from_le_bytes(word)) / f64::from(u32::MAX) < rate
}

/// Applies the fault rules and the plan to a call of `operation`: waits out added latency,
/// and answers with the injected error, if one fires.
pub async fn inject(state: &AppState, operation: &str) -> Result<(), ApiError> {
    let matching = state
        .faults
        .iter()
        .filter(|(r, _)| r.operation.as_deref().is_none_or(|o| o == operation));
    for (rule, fired) in matching {
        let fire = fires(rule.error_rate);
        if rule.latency_ms == 0 && !fire {
            continue;
        }
        // `times` bounds how many requests the rule touches (delayed or failed): a burst.
        if fired.fetch_add(1, Ordering::Relaxed) >= rule.times.unwrap_or(u64::MAX) {
            continue;
        }
        if rule.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(rule.latency_ms)).await;
        }
        if fire {
            tracing::info!(operation, status = rule.status, "injected fault");
            return Err(ApiError::for_injected_status(rule.status));
        }
    }
    if let Some(error) = state.fault_plan.take(operation) {
        tracing::info!(operation, code = error.code(), "injected planned fault");
        return Err(ApiError::modelled(
            error,
            format!("Injected fault: {} (deputy fault plan)", error.code()),
        ));
    }
    Ok(())
}

/// `POST /_deputy/faults` with a [`PlannedFault`] as JSON: 200 `{"pending": n}`, 400 with
/// the reason, or 403 for a peer that is not on loopback.
async fn admin(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    if !peer.ip().is_loopback() {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({ "message": "The fault admin route only answers loopback peers" })),
        )
            .into_response();
    }
    let refused = |message: String| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "message": message })),
        )
            .into_response()
    };
    let fault: PlannedFault = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return refused(format!("expected {{operation, error, times}}: {e}")),
    };
    match state.fault_plan.add(&fault) {
        Ok(()) => axum::Json(json!({ "pending": state.fault_plan.len() })).into_response(),
        Err(e) => refused(e.to_string()),
    }
}

/// The admin route, for servers started with `fault_admin = true`.
pub fn admin_router() -> Router<Arc<AppState>> {
    Router::new()
        .route(ADMIN_PATH, post(admin))
        .layer(DefaultBodyLimit::max(ADMIN_BODY_LIMIT))
}
