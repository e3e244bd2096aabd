//! The return-URL endpoint of user federation, as an axum router.
//!
//! After consent, the vault sends the browser to the workload's return URL with `session_id`
//! and the `custom_state` the resolver generated when it started the session. The router
//! accepts the callback only when that state is one the resolver issued (once, unexpired) and
//! names the same session, then performs `CompleteResourceTokenAuth` with the artifact that
//! minted the starting task's WAT. Waiting resolves then receive the token on their next poll.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use serde::Deserialize;

use crate::Resolver;
use crate::error::ResolveError;

/// The query the vault appends to the return URL.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    /// The session to bind.
    pub session_id: Option<String>,
    /// The state the resolver sent with the session.
    pub custom_state: Option<String>,
}

/// A router serving `GET {path}` as the consent return URL for `resolver`.
///
/// ```no_run
/// # async fn serve(resolver: deputy::Resolver) -> std::io::Result<()> {
/// let app = deputy::callback::consent_callback_router(resolver, "/deputy/callback");
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8788").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
pub fn consent_callback_router(resolver: Resolver, path: &str) -> Router {
    Router::new()
        .route(path, get(callback))
        .with_state(resolver)
}

async fn callback(
    State(resolver): State<Resolver>,
    Query(query): Query<CallbackQuery>,
) -> (StatusCode, Html<String>) {
    let (Some(session), Some(state)) = (query.session_id.as_deref(), query.custom_state.as_deref())
    else {
        return page(
            StatusCode::BAD_REQUEST,
            "This link is incomplete: it needs session_id and custom_state.",
        );
    };
    match resolver.complete_consent_callback(session, state).await {
        Ok(()) => page(
            StatusCode::OK,
            "Consent recorded. You can close this tab; the agent continues.",
        ),
        Err(ResolveError::AccessDenied { .. }) => page(
            StatusCode::FORBIDDEN,
            "This consent belongs to another user or has expired.",
        ),
        Err(ResolveError::CallbackRejected(_)) => page(
            StatusCode::FORBIDDEN,
            "This consent link is unknown, was already used, or has expired. Start again from the agent.",
        ),
        Err(_) => page(
            StatusCode::BAD_GATEWAY,
            "The Token Vault could not record the consent; try the link again shortly.",
        ),
    }
}

fn page(status: StatusCode, message: &str) -> (StatusCode, Html<String>) {
    (
        status,
        Html(format!(
            "<!doctype html><meta charset=utf-8><title>deputy</title><p>{message}</p>"
        )),
    )
}
