//! USER_FEDERATION (3LO): the session state machine behind GetResourceOauth2Token.

use serde_json::{Value, json};

use super::session::{
    self, Session, SessionStatus, TokenTarget, VaultToken, load_token, save_token, vault_key,
};
use super::token_request::{TokenRequest, extend_params, to_vault_token};
use crate::aws_error::{ApiError, ApiResult};
use crate::ids::{b64url, now_secs, random_token, sha256, uuid_v4};
use crate::oauth_client::{ClientAuth, request_token};
use crate::registry::return_url_allowed;
use crate::sensitive::Sensitive;
use crate::state::AppState;
use crate::validate::SESSION_URI_PREFIX;

/// The message for a session that is unknown, expired, or bound to someone else.
pub const INVALID_SESSION: &str = "Invalid or expired session";

/// GetResourceOauth2Token with `oauth2Flow = USER_FEDERATION`.
pub async fn get_token(state: &AppState, request: &TokenRequest) -> ApiResult<Value> {
    let user_key = request.wat.user.user_key().ok_or_else(|| {
        ApiError::validation(
            "USER_FEDERATION requires a workload access token bound to a user (GetWorkloadAccessTokenForJWT or GetWorkloadAccessTokenForUserId)",
        )
    })?;
    let workload = state.workload(&request.wat.workload)?;
    if workload.return_urls.is_empty() {
        return Err(ApiError::validation(
            "You must register and use at least one ResourceOauth2ReturnUrl on your workload identity to use this flow",
        ));
    }
    let return_url = request.body.return_url.clone().ok_or_else(|| {
        ApiError::validation("You must provide a ResourceOauth2ReturnUrl to proceed with this flow")
    })?;
    if !return_url_allowed(&workload.return_urls, &return_url) {
        return Err(ApiError::validation(
            "The provided ResourceOauth2ReturnUrl is not registered on your workload identity",
        ));
    }
    let key = vault_key(
        &workload.name,
        Some(&user_key),
        &request.provider.name,
        &request.body.target(),
    );
    if !request.body.force {
        if let Some(uri) = &request.body.session_uri {
            return poll(state, request, uri, &user_key);
        }
        if let Some(token) = load_token(state, &key)? {
            if token.usable() {
                return Ok(json!({ "accessToken": token.access_token.expose() }));
            }
            if let Some(refreshed) = refresh(state, request, &token).await {
                save_token(state, &key, &refreshed)?;
                return Ok(json!({ "accessToken": refreshed.access_token.expose() }));
            }
        }
    }
    start(state, request, return_url).await
}

fn poll(state: &AppState, request: &TokenRequest, uri: &str, user_key: &str) -> ApiResult<Value> {
    let id = uri.strip_prefix(SESSION_URI_PREFIX).unwrap_or_default();
    let session = session::load(state, id)?
        .filter(|s| {
            s.workload == request.wat.workload
                && s.provider == request.provider.name
                && s.user.user_key().as_deref() == Some(user_key)
        })
        .ok_or_else(|| ApiError::AccessDenied(INVALID_SESSION.into()))?;
    if matches!(
        session.status,
        SessionStatus::AwaitingUser | SessionStatus::AwaitingBinding
    ) && session.expired(state.session_ttl)
    {
        let ttl = state.session_ttl;
        // Compare-and-set: only a session still waiting (and expired) becomes FAILED, never
        // one a concurrent CompleteResourceTokenAuth claimed or completed meanwhile.
        let failed = session::update(state, &session.id, |mut s| {
            let waiting = matches!(
                s.status,
                SessionStatus::AwaitingUser | SessionStatus::AwaitingBinding
            );
            (waiting && s.expired(ttl)).then(|| {
                s.status = SessionStatus::Failed;
                s
            })
        })?;
        let current = match failed {
            Some(failed) => failed,
            None => session::load(state, &session.id)?
                .ok_or_else(|| ApiError::AccessDenied(INVALID_SESSION.into()))?,
        };
        return Ok(status_response(&current));
    }
    Ok(status_response(&session))
}

fn status_response(session: &Session) -> Value {
    match (&session.status, &session.access_token) {
        (SessionStatus::Completed, Some(token)) => json!({ "accessToken": token.expose() }),
        (SessionStatus::Completed | SessionStatus::Failed, _) => {
            json!({ "sessionUri": session.uri(), "sessionStatus": "FAILED" })
        }
        _ => json!({
            "authorizationUrl": session.authorization_url.expose(),
            "sessionUri": session.uri(),
            "sessionStatus": "IN_PROGRESS",
        }),
    }
}

async fn refresh(
    state: &AppState,
    request: &TokenRequest,
    token: &VaultToken,
) -> Option<VaultToken> {
    let refresh_token = token.refresh_token.as_ref()?;
    let server = state.auth_server(&request.provider).await.ok()?;
    let params = vec![
        ("grant_type".to_string(), "refresh_token".to_string()),
        (
            "refresh_token".to_string(),
            refresh_token.expose().to_owned(),
        ),
    ];
    let response = request_token(
        &state.http,
        &request.provider,
        &server.token_endpoint,
        params,
        ClientAuth::Provider,
        "Refresh",
    )
    .await
    .ok()?;
    let mut refreshed = to_vault_token(response);
    if refreshed.refresh_token.is_none() {
        refreshed.refresh_token = Some(refresh_token.clone());
    }
    Some(refreshed)
}

async fn start(state: &AppState, request: &TokenRequest, return_url: String) -> ApiResult<Value> {
    let server = state.auth_server(&request.provider).await?;
    let id = b64url(uuid_v4().as_bytes());
    let oauth_state = random_token(24);
    let verifier = random_token(48);
    let mut params = vec![
        ("response_type".to_string(), "code".to_string()),
        ("client_id".to_string(), request.provider.client_id.clone()),
        (
            "redirect_uri".to_string(),
            state.callback_url(&request.provider),
        ),
        ("state".to_string(), oauth_state.clone()),
        (
            "code_challenge".to_string(),
            b64url(&sha256(verifier.as_bytes())),
        ),
        ("code_challenge_method".to_string(), "S256".to_string()),
    ];
    extend_params(&mut params, request, &request.body.scopes, &[]);
    let mut url = url::Url::parse(&server.authorization_endpoint).map_err(|_| {
        ApiError::validation("The provider's authorization endpoint is not a valid URL")
    })?;
    url.query_pairs_mut().extend_pairs(params.iter());
    let session = Session {
        id,
        oauth_state,
        workload: request.wat.workload.clone(),
        user: request.wat.user.clone(),
        provider: request.provider.name.clone(),
        scopes: request.body.scopes.clone(),
        token_key: vault_key(
            &request.wat.workload,
            request.wat.user.user_key().as_deref(),
            &request.provider.name,
            &request.body.target(),
        ),
        return_url,
        custom_state: request.body.custom_state.clone().map(Sensitive::new),
        authorization_url: Sensitive::new(url.to_string()),
        code_verifier: Sensitive::new(verifier),
        code: None,
        access_token: None,
        status: SessionStatus::AwaitingUser,
        created: now_secs(),
    };
    session::save(state, &session)?;
    tracing::info!(workload = %session.workload, provider = %session.provider, "3LO session started");
    Ok(json!({
        "authorizationUrl": session.authorization_url.expose(),
        "sessionUri": session.uri(),
        "sessionStatus": "IN_PROGRESS",
    }))
}

/// Exchanges the `code` of a session that CompleteResourceTokenAuth claimed (its status is
/// [`SessionStatus::Exchanging`], so no other call redeems it) and stores the token in the
/// vault. The session then becomes COMPLETED, or FAILED if the exchange failed.
pub async fn redeem(state: &AppState, session: Session, code: Sensitive) -> ApiResult<()> {
    let key = if session.token_key.is_empty() {
        vault_key(
            &session.workload,
            session.user.user_key().as_deref(),
            &session.provider,
            &TokenTarget {
                scopes: &session.scopes,
                ..TokenTarget::default()
            },
        )
    } else {
        session.token_key.clone()
    };
    let outcome = match exchange_code(state, &session, &code).await {
        Ok(token) => save_token(state, &key, &token).map(|()| token),
        Err(e) => Err(e),
    };
    let access_token = outcome.as_ref().ok().map(|t| t.access_token.clone());
    session::update(state, &session.id, |mut s| {
        (s.status == SessionStatus::Exchanging).then(|| {
            s.status = if access_token.is_some() {
                SessionStatus::Completed
            } else {
                SessionStatus::Failed
            };
            s.access_token = access_token;
            s
        })
    })?;
    outcome.map(|_| ())
}

async fn exchange_code(
    state: &AppState,
    session: &Session,
    code: &Sensitive,
) -> ApiResult<VaultToken> {
    let provider = state.provider(&session.provider)?;
    let server = state.auth_server(&provider).await?;
    let params = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".to_string(), code.expose().to_owned()),
        ("redirect_uri".to_string(), state.callback_url(&provider)),
        (
            "code_verifier".to_string(),
            session.code_verifier.expose().to_owned(),
        ),
    ];
    let response = request_token(
        &state.http,
        &provider,
        &server.token_endpoint,
        params,
        ClientAuth::Provider,
        "Token exchange",
    )
    .await?;
    Ok(to_vault_token(response))
}
