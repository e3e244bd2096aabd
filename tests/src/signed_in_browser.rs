//! A scripted browser that lands on a consent return URL served by `deputy resolve --wait` or
//! `deputy demo`: sent to their sign-in page first, it signs in with a dev IdP user's password,
//! keeps the session cookie it is given, and comes back to the return URL.
//!
//! ```no_run
//! # async fn run(return_url: &str) -> Result<(), String> {
//! let status = deputy_tests::signed_in_browser::open_return_url(return_url, "bob", "bob").await?;
//! assert_eq!(status, 200);
//! # Ok(()) }
//! ```

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

/// Opens `return_url`; when sent to sign in, signs in as `user` with `password` and follows
/// the way back. Returns the return URL's final status (200 when the consent was bound).
pub async fn open_return_url(return_url: &str, user: &str, password: &str) -> Result<u16, String> {
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let url = reqwest::Url::parse(return_url).map_err(|e| e.to_string())?;
    let first = http
        .get(url.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if first.status() != 303 {
        return Ok(first.status().as_u16());
    }
    let sign_in = location(&url, &first)?;
    let next = sign_in
        .query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .ok_or("the sign-in redirect has no next")?;
    // The form, with its CSRF field and the cookie that must come back with it.
    let page = http
        .get(sign_in.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let csrf_cookie = first_cookie(&page).ok_or("the sign-in form set no CSRF cookie")?;
    let html = page.text().await.map_err(|e| e.to_string())?;
    let csrf = html
        .split("name=csrf value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("the sign-in form has no CSRF field")?
        .to_owned();
    let signed = http
        .post(sign_in.clone())
        .header(COOKIE, csrf_cookie)
        .form(&[
            ("username", user),
            ("password", password),
            ("next", &next),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if signed.status() != 303 {
        return Ok(signed.status().as_u16());
    }
    let cookie = first_cookie(&signed).ok_or("the sign-in set no cookie")?;
    let back = location(&url, &signed)?;
    let last = http
        .get(back)
        .header(COOKIE, cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(last.status().as_u16())
}

fn location(base: &reqwest::Url, response: &reqwest::Response) -> Result<reqwest::Url, String> {
    let to = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("a redirect without Location")?;
    base.join(to).map_err(|e| e.to_string())
}

/// The `name=value` of the response's first `Set-Cookie`.
fn first_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}
