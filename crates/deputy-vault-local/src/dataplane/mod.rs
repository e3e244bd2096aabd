//! The AgentCore Identity data plane (restJson1).

pub mod api_key;
pub mod callback;
pub mod complete;
pub mod federation;
pub mod identities;
pub mod oauth2_token;
pub mod obo;
pub mod session;
pub mod token_request;
pub mod wat;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// The data-plane operations and their paths.
pub const OPERATIONS: &[(&str, &str)] = &[
    (
        "/identities/GetWorkloadAccessToken",
        "GetWorkloadAccessToken",
    ),
    (
        "/identities/GetWorkloadAccessTokenForJWT",
        "GetWorkloadAccessTokenForJWT",
    ),
    (
        "/identities/GetWorkloadAccessTokenForUserId",
        "GetWorkloadAccessTokenForUserId",
    ),
    ("/identities/oauth2/token", "GetResourceOauth2Token"),
    ("/identities/api-key", "GetResourceApiKey"),
    (
        "/identities/CompleteResourceTokenAuth",
        "CompleteResourceTokenAuth",
    ),
];

/// The data-plane routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/identities/GetWorkloadAccessToken",
            post(identities::for_workload),
        )
        .route(
            "/identities/GetWorkloadAccessTokenForJWT",
            post(identities::for_jwt),
        )
        .route(
            "/identities/GetWorkloadAccessTokenForUserId",
            post(identities::for_user_id),
        )
        .route("/identities/oauth2/token", post(oauth2_token::handler))
        .route("/identities/api-key", post(api_key::handler))
        .route(
            "/identities/CompleteResourceTokenAuth",
            post(complete::handler),
        )
        .route("/identities/oauth2/callback/{id}", get(callback::handler))
}
