//! The return-URL router: binds a session only for the state the resolver issued, once, and
//! only when the user signed in on the browser is the user who started it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use deputy::callback::{BearerJwtAuthenticator, SignedSessionCookie, consent_callback_router};
use deputy::task::Task;
use deputy::verify::TokenVerifier;
use deputy::{ConsentRequired, ResolveError, Resolver};
use deputy_core::{Operation, UserId, attr};
use deputy_tests::spans::SpanLog;
use deputy_vault_local::{RunningVault, complete_consent_as_browser};
use tracing_subscriber::layer::SubscriberExt;

/// A resolver whose return URL is served by the router, with `authenticator`.
async fn serve(
    vault: &RunningVault,
    authenticator: Arc<dyn deputy::callback::BrowserAuthenticator>,
) -> (Resolver, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let return_url = format!("http://{}/deputy/callback", listener.local_addr().unwrap());
    let resolver = common::builder(vault)
        .return_url(&return_url)
        .build()
        .unwrap();
    let app = consent_callback_router(resolver.clone(), "/deputy/callback", authenticator);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (resolver, return_url)
}

/// Every test records its spans: a thread without a subscriber next to one with a subscriber
/// can leave a callsite's cached interest at "never" for both.
fn record_spans() -> (SpanLog, tracing::subscriber::DefaultGuard) {
    let spans = SpanLog::default();
    let guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.layer()));
    (spans, guard)
}

fn cookies() -> Arc<SignedSessionCookie> {
    Arc::new(
        SignedSessionCookie::new(b"0123456789abcdef0123456789abcdef".to_vec())
            .unwrap()
            .secure(false),
    )
}

/// The `Cookie` header of a browser signed in to the app as `user`.
fn signed_in(cookies: &SignedSessionCookie, user: &str) -> String {
    let user = UserId::from_parts("dev", user).unwrap();
    format!("deputy_session={}", cookies.issue(&user))
}

async fn consent_for(resolver: &Resolver, task: &Task) -> Box<ConsentRequired> {
    match resolver.resolve_slack_token(task, Operation::Read).await {
        Err(ResolveError::ConsentRequired(consent, _)) => consent,
        other => panic!("expected consent, got {other:?}"),
    }
}

async fn get(url: &str, cookie: Option<&str>) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.get(url);
    if let Some(cookie) = cookie {
        request = request.header(reqwest::header::COOKIE, cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_callback_binds_once_and_refuses_forgeries() {
    let (_spans, _guard) = record_spans();
    let vault = common::vault().await;
    let cookies = cookies();
    let (resolver, return_url) = serve(&vault, cookies.clone()).await;
    let alice_browser = signed_in(&cookies, "alice");

    let task = common::interactive(&vault, "alice", "t-callback");
    let consent = consent_for(&resolver, &task).await;
    let seen = complete_consent_as_browser(&consent.authorization_url, "alice", "alice")
        .await
        .unwrap();
    assert!(
        seen.return_url.starts_with(&return_url),
        "{}",
        seen.return_url
    );
    assert!(
        seen.return_url.contains("custom_state="),
        "the vault echoes the state"
    );

    // Forged state, and a missing parameter.
    let forged = format!(
        "{return_url}?session_id={}&custom_state=00112233445566778899aabbccddeeff",
        seen.session_id
    );
    assert_eq!(get(&forged, Some(&alice_browser)).await.status(), 403);
    let incomplete = format!("{return_url}?session_id=x");
    assert_eq!(get(&incomplete, Some(&alice_browser)).await.status(), 400);
    // The state with another session id is refused and spent.
    let url = reqwest::Url::parse(&seen.return_url).unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "custom_state")
        .unwrap()
        .1
        .into_owned();
    let swapped = format!(
        "{return_url}?session_id=urn:ietf:params:oauth:request_uri:other&custom_state={state}"
    );
    assert_eq!(get(&swapped, Some(&alice_browser)).await.status(), 403);
    assert_eq!(
        resolver
            .resolve_slack_token(&task, Operation::Read)
            .await
            .unwrap_err()
            .kind(),
        "consent_required"
    );

    // A fresh session, bound through the real callback by its own user, then replayed.
    let fresh = common::interactive(&vault, "bob", "t-callback-2");
    let consent = consent_for(&resolver, &fresh).await;
    let seen = complete_consent_as_browser(&consent.authorization_url, "bob", "bob")
        .await
        .unwrap();
    let bob_browser = signed_in(&cookies, "bob");
    let ok = get(&seen.return_url, Some(&bob_browser)).await;
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("Consent recorded"));
    assert_eq!(
        get(&seen.return_url, Some(&bob_browser)).await.status(),
        403,
        "a state is good once"
    );
    let token = resolver
        .resolve_slack_token(&fresh, Operation::Read)
        .await
        .unwrap();
    assert_eq!(token.provider.as_deref(), Some("slack"));
}

/// The consent link hijack: mallory starts a consent and forwards the link to alice, who
/// approves at the provider and lands on the return URL signed in as herself.
#[tokio::test]
async fn a_forwarded_consent_link_approved_by_another_user_binds_nothing() {
    let (spans, _guard) = record_spans();
    let vault = common::vault().await;
    let cookies = cookies();
    let (resolver, _) = serve(&vault, cookies.clone()).await;

    let mallory = common::interactive(&vault, "mallory", "t-mallory");
    let forwarded = consent_for(&resolver, &mallory).await;
    let seen = complete_consent_as_browser(&forwarded.authorization_url, "alice", "alice")
        .await
        .unwrap();
    let refused = get(&seen.return_url, Some(&signed_in(&cookies, "alice"))).await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("started by someone else"),
        "the page tells alice what happened"
    );
    // Nothing was bound: mallory's agent is asked for a new consent of her own, and gets no
    // token, now or after the spent link is replayed by mallory's own browser.
    let again = consent_for(&resolver, &mallory).await;
    assert_ne!(again.session_uri, forwarded.session_uri, "a fresh session");
    assert_eq!(
        get(&seen.return_url, Some(&signed_in(&cookies, "mallory")))
            .await
            .status(),
        403
    );
    assert_eq!(
        resolver
            .resolve_slack_token(&mallory, Operation::Read)
            .await
            .unwrap_err()
            .kind(),
        "consent_required"
    );
    assert_eq!(vault.call_count("CompleteResourceTokenAuth"), 0);
    // The refusal is a span an auditor sees.
    let callbacks = spans.named(attr::SPAN_CONSENT_CALLBACK);
    assert!(
        callbacks
            .iter()
            .any(|span| span.get(attr::CONSENT_CALLBACK).map(String::as_str)
                == Some("refused_other_user")
                && span.get(attr::ERROR_KIND).map(String::as_str) == Some("consent_user_mismatch")),
        "{callbacks:?}"
    );
    // The library's own binding call refuses the same way when the app passes the wrong user.
    let err = resolver
        .complete_consent(
            &mallory,
            &deputy_core::Integration::Slack,
            &again.session_uri,
            &UserId::from_parts("dev", "alice").unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "consent_user_mismatch");
}

#[tokio::test]
async fn a_browser_with_no_sign_in_is_sent_to_sign_in_and_keeps_the_link_usable() {
    let (_spans, _guard) = record_spans();
    let vault = common::vault().await;
    let cookies = Arc::new(
        SignedSessionCookie::new(b"0123456789abcdef0123456789abcdef".to_vec())
            .unwrap()
            .sign_in_url("/app/sign-in"),
    );
    let (resolver, _) = serve(&vault, cookies.clone()).await;
    let task = common::interactive(&vault, "alice", "t-signin");
    let consent = consent_for(&resolver, &task).await;
    let seen = complete_consent_as_browser(&consent.authorization_url, "alice", "alice")
        .await
        .unwrap();
    let redirect = get(&seen.return_url, None).await;
    assert_eq!(redirect.status(), 303);
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/app/sign-in?next=%2Fdeputy%2Fcallback%3F"),
        "{location}"
    );
    // A forged cookie is no sign-in either.
    let forged = SignedSessionCookie::new(b"another key, another app, 32 byte".to_vec()).unwrap();
    assert_eq!(
        get(&seen.return_url, Some(&signed_in(&forged, "alice")))
            .await
            .status(),
        401
    );
    // Signed in, the same link still works: nothing was spent by the refusals.
    assert_eq!(
        get(&seen.return_url, Some(&signed_in(&cookies, "alice")))
            .await
            .status(),
        200
    );
    assert!(
        resolver
            .resolve_slack_token(&task, Operation::Read)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_verified_idp_token_can_say_who_is_at_the_browser() {
    let (_spans, _guard) = record_spans();
    let vault = common::vault().await;
    let issuer = vault.idp_issuer();
    let authenticator = BearerJwtAuthenticator::new(
        TokenVerifier::new(issuer.clone(), format!("{issuer}/jwks"), ["deputy"]),
        common::issuers(&vault),
    )
    .cookie("id_token");
    let (resolver, _) = serve(&vault, Arc::new(authenticator)).await;
    let mallory = common::interactive(&vault, "mallory", "t-jwt-mallory");
    let consent = consent_for(&resolver, &mallory).await;
    let seen = complete_consent_as_browser(&consent.authorization_url, "alice", "alice")
        .await
        .unwrap();
    let alice_id_token = vault.mint_user_token("alice", "deputy").unwrap();
    let other_audience = vault.mint_user_token("mallory", "someone-else").unwrap();
    assert_eq!(
        get(
            &seen.return_url,
            Some(&format!("id_token={other_audience}"))
        )
        .await
        .status(),
        401,
        "a token for another audience signs no one in"
    );
    assert_eq!(
        get(
            &seen.return_url,
            Some(&format!("id_token={alice_id_token}"))
        )
        .await
        .status(),
        403,
        "alice is signed in, and she did not start this consent"
    );

    let alice = common::interactive(&vault, "alice", "t-jwt-alice");
    let consent = consent_for(&resolver, &alice).await;
    let seen = complete_consent_as_browser(&consent.authorization_url, "alice", "alice")
        .await
        .unwrap();
    assert_eq!(
        get(
            &seen.return_url,
            Some(&format!("id_token={alice_id_token}"))
        )
        .await
        .status(),
        200
    );
}

/// Holds every sign-in check until released, counting them.
struct Held {
    release: Arc<tokio::sync::Notify>,
    waiting: Arc<std::sync::atomic::AtomicUsize>,
}

impl deputy::callback::BrowserAuthenticator for Held {
    fn authenticate<'a>(
        &'a self,
        _headers: &'a axum::http::HeaderMap,
    ) -> deputy::callback::AuthenticateFuture<'a> {
        Box::pin(async move {
            let released = self.release.notified();
            self.waiting
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            released.await;
            Err(deputy::callback::BrowserAuthError::NotSignedIn { sign_in_url: None })
        })
    }
}

#[tokio::test]
async fn a_flood_of_callbacks_is_bounded_in_concurrency_and_size() {
    let (_spans, _guard) = record_spans();
    let vault = common::vault().await;
    let held = Held {
        release: Arc::new(tokio::sync::Notify::new()),
        waiting: Arc::default(),
    };
    let (release, waiting) = (held.release.clone(), held.waiting.clone());
    let (_resolver, return_url) = serve(&vault, Arc::new(held)).await;
    let url = format!("{return_url}?session_id=s&custom_state=c");
    let limit = deputy::callback::MAX_CONCURRENT_CALLBACKS;
    let held_requests: Vec<_> = (0..limit)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { get(&url, None).await.status() })
        })
        .collect();
    while waiting.load(std::sync::atomic::Ordering::SeqCst) < limit {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // One more is refused at once, and so is an oversized query.
    assert_eq!(get(&url, None).await.status(), 503);
    let long = format!("{url}&x={}", "a".repeat(deputy::callback::MAX_QUERY_BYTES));
    assert_eq!(get(&long, None).await.status(), 414);
    release.notify_waiters();
    for request in held_requests {
        assert_eq!(request.await.unwrap(), 401);
    }
    // Served again once they are done.
    release.notify_waiters();
    let again = tokio::spawn(async move { get(&url, None).await.status() });
    while waiting.load(std::sync::atomic::Ordering::SeqCst) < limit + 1 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    release.notify_waiters();
    assert_eq!(again.await.unwrap(), 401);
}
