//! The return-URL endpoint of user federation, as an axum router.
//!
//! After consent, the vault sends the browser to the workload's return URL with `session_id`
//! and the `custom_state` the resolver generated when it started the session. The router
//! binds the session (`CompleteResourceTokenAuth`, with the artifact that minted the starting
//! task's WAT) only when
//! 1. a [`BrowserAuthenticator`] says who is signed in on the browser (no sign-in: 401, or a
//!    redirect to the app's sign-in page; nothing is spent);
//! 2. the state is one the resolver issued (once, unexpired) for that same session;
//! 3. the browser's user is the user who started the session. Otherwise it answers 403 and
//!    binds nothing: a consent link forwarded to someone else cannot give the sender the
//!    recipient's token.
//!
//! Every callback is a `deputy.consent_callback` span with its outcome. At most
//! [`MAX_CONCURRENT_CALLBACKS`] are served at once (503 beyond), each within
//! [`CALLBACK_TIMEOUT`] (504), with a query of at most [`MAX_QUERY_BYTES`] (414) and
//! credentials of at most [`MAX_CREDENTIAL_BYTES`].

mod browser;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use deputy_core::attr;
use serde::Deserialize;
use tokio::sync::Semaphore;

pub use browser::{
    AuthenticateFuture, BearerJwtAuthenticator, BrowserAuthError, BrowserAuthenticator,
    MAX_CREDENTIAL_BYTES, MIN_COOKIE_KEY_BYTES, SignedSessionCookie, request_cookie,
};

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

/// The most callbacks served at once; more are refused with 503 until one finishes.
pub const MAX_CONCURRENT_CALLBACKS: usize = 64;
/// The longest a callback may take (sign-in check and binding); then it answers 504.
pub const CALLBACK_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest query a callback accepts (the vault's is about 150 bytes).
pub const MAX_QUERY_BYTES: usize = 2048;

#[derive(Clone)]
struct CallbackState {
    resolver: Resolver,
    authenticator: Arc<dyn BrowserAuthenticator>,
    in_flight: Arc<Semaphore>,
}

/// A router serving `GET {path}` as the consent return URL for `resolver`; `authenticator`
/// says who is signed in on the browser that arrives.
///
/// ```no_run
/// # async fn serve(resolver: deputy::Resolver) -> std::io::Result<()> {
/// use std::sync::Arc;
/// use deputy::callback::SignedSessionCookie;
/// // The same key the app's sign-in uses to set the cookie (SignedSessionCookie::set_cookie).
/// let cookie = SignedSessionCookie::new(std::fs::read("/run/secrets/session-key")?)
///     .map_err(std::io::Error::other)?;
/// let app = deputy::callback::consent_callback_router(resolver, "/deputy/callback", Arc::new(cookie));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8788").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
pub fn consent_callback_router(
    resolver: Resolver,
    path: &str,
    authenticator: Arc<dyn BrowserAuthenticator>,
) -> Router {
    Router::new()
        .route(path, get(callback))
        .with_state(CallbackState {
            resolver,
            authenticator,
            in_flight: Arc::new(Semaphore::new(MAX_CONCURRENT_CALLBACKS)),
        })
}

/// What a callback came to, as the span records it.
fn outcome(result: &Result<(), ResolveError>) -> &'static str {
    match result {
        Ok(()) => "bound",
        Err(ResolveError::ConsentUserMismatch { .. }) => "refused_other_user",
        Err(ResolveError::CallbackRejected(_)) => "refused_unknown_state",
        Err(ResolveError::AccessDenied { .. }) => "refused_by_vault",
        Err(_) => "vault_failed",
    }
}

/// Serves one callback within the limits on size, concurrency and time.
async fn callback(State(state): State<CallbackState>, uri: Uri, headers: HeaderMap) -> Response {
    if uri.query().map_or(0, str::len) > MAX_QUERY_BYTES {
        return page(
            StatusCode::URI_TOO_LONG,
            "This link is too long to be a consent link.",
        );
    }
    let Ok(query) = Query::<CallbackQuery>::try_from_uri(&uri) else {
        return page(StatusCode::BAD_REQUEST, "This link is malformed.");
    };
    let Ok(_permit) = Arc::clone(&state.in_flight).try_acquire_owned() else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many consents are being recorded right now; open the link again in a moment.",
        );
    };
    match tokio::time::timeout(CALLBACK_TIMEOUT, bind(&state, &uri, &headers, &query.0)).await {
        Ok(response) => response,
        Err(_) => page(
            StatusCode::GATEWAY_TIMEOUT,
            "Recording the consent took too long; open the link again.",
        ),
    }
}

async fn bind(
    state: &CallbackState,
    uri: &Uri,
    headers: &HeaderMap,
    query: &CallbackQuery,
) -> Response {
    let span = tracing::info_span!(
        attr::SPAN_CONSENT_CALLBACK,
        { attr::CONSENT_CALLBACK } = tracing::field::Empty,
        { attr::INTEGRATION } = tracing::field::Empty,
        { attr::ERROR_KIND } = tracing::field::Empty,
    );
    let (Some(session), Some(custom_state)) =
        (query.session_id.as_deref(), query.custom_state.as_deref())
    else {
        span.record(attr::CONSENT_CALLBACK, "refused_incomplete");
        return page(
            StatusCode::BAD_REQUEST,
            "This link is incomplete: it needs session_id and custom_state.",
        );
    };
    let user = match state.authenticator.authenticate(headers).await {
        Ok(user) => user,
        Err(BrowserAuthError::NotSignedIn { sign_in_url }) => {
            span.record(attr::CONSENT_CALLBACK, "refused_not_signed_in");
            tracing::warn!(parent: &span, "consent callback from a browser with no sign-in; nothing was bound");
            return match sign_in_url {
                Some(url) => sign_in_redirect(&url, uri),
                None => page(
                    StatusCode::UNAUTHORIZED,
                    "Sign in to the app as yourself, then open this link again.",
                ),
            };
        }
        Err(BrowserAuthError::Invalid(reason)) => {
            span.record(attr::CONSENT_CALLBACK, "refused_invalid_sign_in");
            tracing::warn!(parent: &span, %reason, "consent callback with an invalid sign-in; nothing was bound");
            return page(
                StatusCode::UNAUTHORIZED,
                "Your sign-in is not valid or has expired. Sign in again, then open this link again.",
            );
        }
    };
    let result = state
        .resolver
        .complete_consent_callback(session, custom_state, &user)
        .await;
    span.record(attr::CONSENT_CALLBACK, outcome(&result));
    if let Err(error) = &result {
        span.record(attr::ERROR_KIND, error.kind());
        if let ResolveError::ConsentUserMismatch { integration, .. } = error {
            span.record(attr::INTEGRATION, integration.name());
        }
        tracing::warn!(parent: &span, error = %error, "consent callback refused");
    }
    match result {
        Ok(()) => page(
            StatusCode::OK,
            "Consent recorded. You can close this tab; the agent continues.",
        ),
        Err(ResolveError::ConsentUserMismatch { .. }) => page(
            StatusCode::FORBIDDEN,
            "This consent was started by someone else, so nothing was recorded. If someone sent you this link, do not use it: consent links only work for the person whose agent asked.",
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

/// Sends a browser with no sign-in to the app's sign-in page, to come back here after.
fn sign_in_redirect(sign_in_url: &str, uri: &Uri) -> Response {
    let next = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut url = String::from(sign_in_url);
    url.push(if sign_in_url.contains('?') { '&' } else { '?' });
    url.push_str("next=");
    url.extend(url::form_urlencoded::byte_serialize(next.as_bytes()));
    (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response()
}

fn page(status: StatusCode, message: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><meta charset=utf-8><title>deputy</title><p>{message}</p>"
        )),
    )
        .into_response()
}
