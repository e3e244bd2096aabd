//! The consent return URL the CLI serves (`deputy resolve --wait`, `deputy demo`), with a
//! sign-in against the local vault's dev IdP.
//!
//! The return URL binds a consent only for the user signed in on the browser
//! ([`deputy::callback`]). Here that sign-in is a page that checks the person's dev-IdP user
//! name and password (by asking the dev IdP for their JWT and verifying it against its JWKS)
//! and sets a signed session cookie; a browser that arrives at the return URL without one is
//! sent to it first and comes back after.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use deputy::callback::{SignedSessionCookie, consent_callback_router};
use deputy::user_jwt::UserJwt;
use deputy::verify::TokenVerifier;
use deputy::{Resolver, UserToken};
use deputy_core::IssuerMap;
use deputy_vault_local::fetch_user_token;

/// Where the sign-in page is served.
pub const SIGN_IN_PATH: &str = "/deputy/sign-in";

/// The dev IdP's users sign in here; the cookie names them as `dev+<name>`.
struct DevSignIn {
    cookie: Arc<SignedSessionCookie>,
    endpoint: String,
    verifier: TokenVerifier,
    issuers: IssuerMap,
}

/// The dev IdP of a local vault: its issuer and keys, as its discovery document gives them.
#[derive(Debug, Clone)]
pub struct DevIdp {
    /// `iss` of its tokens.
    pub issuer: String,
    /// Its JWKS.
    pub jwks_uri: String,
}

impl DevIdp {
    /// Reads `<endpoint>/idp/.well-known/openid-configuration` (the endpoint may be a proxy in
    /// front of the vault; the issuer is what the IdP says it is).
    pub async fn discover(endpoint: &str) -> Result<Self, String> {
        let url = format!(
            "{}/idp/.well-known/openid-configuration",
            endpoint.trim_end_matches('/')
        );
        let failed =
            |e: String| format!("cannot read the dev IdP's discovery document at {url}: {e}");
        let doc: serde_json::Value = reqwest::Client::new()
            .get(&url)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| failed(e.to_string()))?
            .json()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let field = |name: &str| {
            doc.get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .ok_or_else(|| failed(format!("no {name}")))
        };
        Ok(DevIdp {
            issuer: field("issuer")?,
            jwks_uri: field("jwks_uri")?,
        })
    }

    /// Verifies its user JWTs (audience `deputy`).
    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier::new(self.issuer.clone(), self.jwks_uri.clone(), ["deputy"])
    }

    /// Its users are `dev+<name>`.
    pub fn issuers(&self) -> Result<IssuerMap, String> {
        let mut issuers = IssuerMap::new();
        issuers
            .insert(&self.issuer, "dev")
            .map_err(|e| e.to_string())?;
        Ok(issuers)
    }
}

/// The return URL at `callback_path` and the sign-in page, for a vault at `endpoint` with dev
/// IdP `idp`. Returns the cookie signer too, so a scripted browser can be signed in.
pub fn consent_app(
    resolver: Resolver,
    callback_path: &str,
    endpoint: &str,
    idp: &DevIdp,
) -> Result<(Router, Arc<SignedSessionCookie>), String> {
    let cookie = Arc::new(
        SignedSessionCookie::random()
            .map_err(|e| e.to_string())?
            // The CLI serves plain HTTP on loopback.
            .secure(false)
            .sign_in_url(SIGN_IN_PATH),
    );
    let sign_in = Arc::new(DevSignIn {
        cookie: Arc::clone(&cookie),
        endpoint: endpoint.to_owned(),
        verifier: idp.verifier(),
        issuers: idp.issuers()?,
    });
    let app = consent_callback_router(resolver, callback_path, cookie.clone()).merge(
        Router::new()
            .route(SIGN_IN_PATH, get(form).post(submit))
            .with_state(sign_in),
    );
    Ok((app, cookie))
}

/// Only a local path may follow a sign-in: never another host (no open redirect).
fn local_next(next: Option<&String>) -> &str {
    match next {
        Some(next) if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') => {
            next
        }
        _ => "/",
    }
}

async fn form(Query(query): Query<HashMap<String, String>>) -> Response {
    let next = deputy_vault_local::idp::pages::escape(local_next(query.get("next")));
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>deputy: sign in</title>\
         <p>Sign in as yourself (a dev IdP user) to record your consent.</p>\
         <form method=post><input type=hidden name=next value=\"{next}\">\
         <label>User <input name=username autocomplete=username></label> \
         <label>Password <input name=password type=password autocomplete=current-password></label> \
         <button>Sign in</button></form>"
    ))
    .into_response()
}

async fn submit(
    State(sign_in): State<Arc<DevSignIn>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let refused = || {
        (
            StatusCode::UNAUTHORIZED,
            Html("<!doctype html><meta charset=utf-8><p>Wrong user name or password.</p>"),
        )
            .into_response()
    };
    let Ok(token) = fetch_user_token(
        &sign_in.endpoint,
        field("username"),
        field("password"),
        "deputy",
    )
    .await
    else {
        return refused();
    };
    let Ok(jwt) = UserJwt::verify(UserToken::new(token), &sign_in.verifier, &sign_in.issuers).await
    else {
        return refused();
    };
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, sign_in.cookie.set_cookie(jwt.user())),
            (header::LOCATION, local_next(form.get("next")).to_owned()),
        ],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_follow_a_sign_in() {
        let next = |s: &str| local_next(Some(&s.to_owned())).to_owned();
        assert_eq!(next("/deputy/callback?x=1"), "/deputy/callback?x=1");
        for hostile in [
            "//evil.example/x",
            "https://evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(next(hostile), "/", "{hostile}");
        }
        assert_eq!(local_next(None), "/");
    }
}
