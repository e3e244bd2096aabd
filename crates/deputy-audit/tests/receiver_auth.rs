//! With a bearer token, the receiver answers requests without it, or with another one, `401`
//! before reading their bodies; with it, they are received.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::{fingerprint, line, resolve_span, span};
use deputy_audit::Pipeline;
use deputy_audit::pipeline::JsonLinesSink;
use deputy_audit::receiver::{BearerToken, Config, TokenError, router_with};
use deputy_core::attr;

const TOKEN: &str = "4f1c9a0e7b2d8c3f6a5e1b0d9c8f7a6e";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_the_right_bearer_token_get_401_and_are_not_read() {
    let shared = Arc::new(Mutex::new((
        Pipeline::default(),
        JsonLinesSink::new(Vec::new(), Vec::new()),
    )));
    let token = BearerToken::new(format!("{TOKEN}\n").into()).unwrap();
    let config = Config {
        token: Some(token),
        ..Config::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, router_with(shared.clone(), config)).into_future());
    let http = reqwest::Client::new();
    let body = |n: u32| {
        line(vec![span(
            n,
            attr::SPAN_RESOLVE,
            &resolve_span(
                &format!("t-{n}"),
                Some("dev+alice"),
                "read",
                &fingerprint(n),
            ),
        )])
    };
    let one_short = &TOKEN[..TOKEN.len() - 1];
    let wrong_last = format!("{one_short}0");
    let refused = [
        None,
        Some(format!("Bearer {one_short}")),
        Some(format!("Bearer {wrong_last}")),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Basic {TOKEN}")),
        Some(TOKEN.to_owned()),
        Some("Bearer ".to_owned()),
    ];
    for (n, authorization) in refused.iter().enumerate() {
        let mut request = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body(n as u32));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{authorization:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let message = response.text().await.unwrap();
        assert!(message.contains("Authorization: Bearer"), "{message}");
        assert!(!message.contains(one_short), "{message}");
    }
    for (n, scheme) in [(100, "Bearer"), (101, "bearer")] {
        let response = http
            .post(&url)
            .header("content-type", "application/json")
            .header("authorization", format!("{scheme} {TOKEN}"))
            .body(body(n))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let guard = shared.lock().unwrap();
    assert_eq!(guard.0.stats().spans, 2);
    assert_eq!(String::from_utf8_lossy(&guard.1.records).lines().count(), 2);
}

#[test]
fn short_or_unprintable_tokens_are_refused_and_no_token_is_printed() {
    assert_eq!(
        BearerToken::new("abc".to_owned().into()).unwrap_err(),
        TokenError::TooShort
    );
    assert_eq!(
        BearerToken::new("0123456789 abcdef0123".to_owned().into()).unwrap_err(),
        TokenError::NotPrintable
    );
    let token = BearerToken::new(TOKEN.to_owned().into()).unwrap();
    assert!(!format!("{token:?}").contains(TOKEN));
    let config = Config {
        token: Some(token),
        ..Config::default()
    };
    assert!(!format!("{config:?}").contains(TOKEN));
}
