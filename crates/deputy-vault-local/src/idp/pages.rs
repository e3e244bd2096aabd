//! The dev IdP's HTML pages: login, consent and errors.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}\
         label,input,button{{display:block;margin:.5rem 0}}.error{{color:#b00}}</style></head>\
         <body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    )
}

/// The login form for a pending authorization request.
pub fn login(request_id: &str, client_id: &str, error: Option<&str>) -> Response {
    let error_html = error
        .map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<p>Sign in to continue to <strong>{client}</strong>.</p>{error_html}\
         <form method=\"post\" action=\"login\" id=\"login-form\">\
         <input type=\"hidden\" name=\"request_id\" value=\"{rid}\">\
         <label for=\"username\">User name</label><input id=\"username\" name=\"username\" autocomplete=\"username\">\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\">\
         <button type=\"submit\" id=\"sign-in\">Sign in</button></form>",
        client = escape(client_id),
        rid = escape(request_id),
    );
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    (status, Html(page("Deputy dev IdP: sign in", &body))).into_response()
}

/// The consent form shown after a successful login.
pub fn consent(request_id: &str, client_id: &str, user: &str, scope: &str) -> Response {
    let scopes: String = scope
        .split_whitespace()
        .map(|s| format!("<li>{}</li>", escape(s)))
        .collect();
    let body = format!(
        "<p>Signed in as <strong id=\"user\">{user}</strong>.</p>\
         <p><strong>{client}</strong> asks for access to:</p><ul id=\"scopes\">{scopes}</ul>\
         <form method=\"post\" action=\"consent\" id=\"consent-form\">\
         <input type=\"hidden\" name=\"request_id\" value=\"{rid}\">\
         <button type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button></form>",
        user = escape(user),
        client = escape(client_id),
        rid = escape(request_id),
    );
    Html(page("Deputy dev IdP: consent", &body)).into_response()
}

/// An error page (used when redirecting back to the client would be unsafe).
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = format!("<p class=\"error\" id=\"error\">{}</p>", escape(message));
    (status, Html(page("Deputy dev IdP: error", &body))).into_response()
}
