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
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use deputy::callback::{SignedSessionCookie, consent_callback_router, request_cookie};
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
        // Browsers drop tabs and newlines from a Location, so `/\t/evil` would become `//evil`.
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.contains('\\')
                && !next.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            next
        }
        _ => "/",
    }
}

/// The sign-in form's CSRF cookie: `SameSite=Strict`, so a form another site submits arrives
/// without it (login CSRF would sign the victim's browser in as the attacker, whose forwarded
/// consent link would then bind the victim's consent to the attacker).
const CSRF_COOKIE: &str = "deputy_sign_in_csrf";

async fn form(Query(query): Query<HashMap<String, String>>) -> Response {
    let next = deputy_vault_local::idp::pages::escape(local_next(query.get("next")));
    let csrf = deputy_vault_local::ids::random_token(16);
    if csrf.is_empty() {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html("<!doctype html><meta charset=utf-8><p>No randomness; try again.</p>"),
        )
            .into_response();
    }
    (
        [(
            header::SET_COOKIE,
            format!("{CSRF_COOKIE}={csrf}; Path={SIGN_IN_PATH}; HttpOnly; SameSite=Strict"),
        )],
        Html(format!(
            "<!doctype html><meta charset=utf-8><title>deputy: sign in</title>\
             <p>Sign in as yourself (a dev IdP user) to record your consent.</p>\
             <form method=post><input type=hidden name=next value=\"{next}\">\
             <input type=hidden name=csrf value=\"{csrf}\">\
             <label>User <input name=username autocomplete=username></label> \
             <label>Password <input name=password type=password autocomplete=current-password></label> \
             <button>Sign in</button></form>"
        )),
    )
        .into_response()
}

/// Whether the POST came from this server's own form: its CSRF cookie and field agree, and an
/// `Origin`, when sent, is this host.
fn same_site_form(headers: &HeaderMap, field: &str) -> bool {
    // Sent twice, or oversized: no match.
    let cookie = request_cookie(headers, CSRF_COOKIE).ok().flatten();
    let origin_ok = match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .is_some_and(|(_, authority)| host.to_str().ok() == Some(authority)),
        (Some(_), None) => false,
    };
    origin_ok
        && !field.is_empty()
        && cookie.is_some_and(|cookie| {
            aws_lc_rs::constant_time::verify_slices_are_equal(cookie.as_bytes(), field.as_bytes())
                .is_ok()
        })
}

async fn submit(
    State(sign_in): State<Arc<DevSignIn>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if !same_site_form(&headers, field("csrf")) {
        return (
            StatusCode::FORBIDDEN,
            Html("<!doctype html><meta charset=utf-8><p>This sign-in did not come from this page; open the sign-in page and try again.</p>"),
        )
            .into_response();
    }
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
            "/\t/evil.example",
            "/\n/evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(next(hostile), "/", "{hostile}");
        }
        assert_eq!(local_next(None), "/");
    }

    #[test]
    fn only_this_pages_own_form_signs_in() {
        let headers = |pairs: &[(&str, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.append(
                    axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                );
            }
            map
        };
        let ours = headers(&[
            ("cookie", "a=b; deputy_sign_in_csrf=tok123"),
            ("host", "127.0.0.1:9"),
        ]);
        assert!(same_site_form(&ours, "tok123"));
        // Another site's form: no cookie (SameSite=Strict), a wrong field, or its Origin.
        assert!(!same_site_form(
            &headers(&[("host", "127.0.0.1:9")]),
            "tok123"
        ));
        assert!(!same_site_form(&ours, "tok124"));
        assert!(!same_site_form(&ours, ""));
        let cross = headers(&[
            ("cookie", "deputy_sign_in_csrf=tok123"),
            ("host", "127.0.0.1:9"),
            ("origin", "https://evil.example"),
        ]);
        assert!(!same_site_form(&cross, "tok123"));
        let same = headers(&[
            ("cookie", "deputy_sign_in_csrf=tok123"),
            ("host", "127.0.0.1:9"),
            ("origin", "http://127.0.0.1:9"),
        ]);
        assert!(same_site_form(&same, "tok123"));
    }
}
