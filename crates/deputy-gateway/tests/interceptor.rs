//! The interceptor in-process: every mode with real tokens, and every bad input refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use deputy_gateway::event::InterceptorOutput;
use serde_json::{Value, json};

fn forwarded(out: &InterceptorOutput) -> (&std::collections::BTreeMap<String, String>, &Value) {
    let request = out
        .mcp
        .transformed_gateway_request
        .as_ref()
        .unwrap_or_else(|| panic!("refused: {out:?}"));
    (&request.headers, &request.body)
}

fn refused(out: &InterceptorOutput) -> (u16, String) {
    let response = out
        .mcp
        .transformed_gateway_response
        .as_ref()
        .unwrap_or_else(|| panic!("forwarded: {out:?}"));
    assert!(out.mcp.transformed_gateway_request.is_none());
    assert_eq!(response.body["jsonrpc"], "2.0");
    assert_eq!(response.body["id"], 7);
    (
        response.status_code,
        response.body["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let padded = payload.replace('-', "+").replace('_', "/");
    let mut bytes = Vec::new();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut buf, mut bits) = (0u32, 0);
    for c in padded.bytes() {
        let v = alphabet.iter().position(|a| *a == c).unwrap() as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn passthrough_forwards_only_a_token_issued_for_the_target() {
    let world = support::world().await;
    let interceptor = support::interceptor(&world).await;
    let jwt = world.vault.mint_user_token("alice", "docs-mcp").unwrap();
    let out = interceptor
        .handle_value(support::event(
            Some("docs___search"),
            Some(json!({"X-Custom-UserToken": jwt, "traceparent": "t1"})),
        ))
        .await;
    let (headers, body) = forwarded(&out);
    assert_eq!(headers["Authorization"], format!("Bearer {jwt}"));
    assert_eq!(headers["traceparent"], "t1");
    assert!(
        !headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("x-custom-usertoken")),
        "the custom header is stripped"
    );
    assert_eq!(body["params"]["name"], "docs___search", "body unchanged");

    // A token for another audience is refused with 403, and never echoed.
    let other = world.vault.mint_user_token("alice", "deputy").unwrap();
    let out = interceptor
        .handle_value(support::event(
            Some("docs___search"),
            Some(json!({"x-custom-usertoken": other})),
        ))
        .await;
    let (status, message) = refused(&out);
    assert_eq!(status, 403, "{message}");
    assert!(!serde_json::to_string(&out).unwrap().contains(&other));
    // tools/list uses the default target's mode.
    let out = interceptor
        .handle_value(support::event(
            None,
            Some(json!({"X-Custom-UserToken": jwt})),
        ))
        .await;
    assert!(forwarded(&out).0.contains_key("Authorization"));
}

#[tokio::test]
async fn exchange_gives_the_target_a_user_token_that_names_the_agent() {
    let world = support::world().await;
    let interceptor = support::interceptor(&world).await;
    let jwt = world.vault.mint_user_token("alice", "deputy").unwrap();
    let out = interceptor
        .handle_value(support::event(
            Some("aws___describe"),
            Some(json!({"X-Custom-UserToken": jwt})),
        ))
        .await;
    let (headers, _) = forwarded(&out);
    let exchanged = headers["Authorization"].strip_prefix("Bearer ").unwrap();
    assert_ne!(
        exchanged, jwt,
        "the user's own token never leaves the interceptor"
    );
    let claims = claims(exchanged);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], "aws-native");
    assert_eq!(claims["act"]["sub"], "aws-native", "{claims}");
}

#[tokio::test]
async fn broker_forwards_a_service_token_from_the_central_account() {
    let world = support::world().await;
    let interceptor = support::interceptor(&world).await;
    let out = interceptor
        .handle_value(support::event(Some("billing___invoices"), Some(json!({}))))
        .await;
    let (headers, _) = forwarded(&out);
    let token = headers["Authorization"].strip_prefix("Bearer ").unwrap();
    let claims = claims(token);
    assert_eq!(
        claims["client_id"].as_str().or(claims["sub"].as_str()),
        Some("billing-service"),
        "{claims}"
    );
    // No headers passed at all is fine for the broker (no user identity needed).
    let mut event = support::event(Some("billing___invoices"), None);
    event["mcp"]["gatewayRequest"]
        .as_object_mut()
        .unwrap()
        .remove("headers");
    assert!(
        interceptor
            .handle_value(event)
            .await
            .mcp
            .transformed_gateway_request
            .is_some()
    );
}

#[tokio::test]
async fn bad_input_is_refused_clearly_never_panics_never_echoes() {
    let world = support::world().await;
    let interceptor = support::interceptor(&world).await;
    let jwt = world.vault.mint_user_token("alice", "docs-mcp").unwrap();
    let alg_none_token = {
        // A token with alg none, built by hand.
        let enc = |v: &Value| {
            let s = v.to_string();
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in s.as_bytes().chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
                for i in 0..=chunk.len() {
                    out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        };
        format!(
            "{}.{}.",
            enc(&json!({"alg": "none", "typ": "JWT"})),
            enc(
                &json!({"sub": "alice", "aud": "docs-mcp", "iss": world.vault.idp_issuer(), "exp": 4102444800u64})
            )
        )
    };
    let tampered = {
        let mut t = jwt.clone();
        let last = t.pop().unwrap();
        t.push(if last == 'A' { 'B' } else { 'A' });
        t
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            support::event(Some("docs___search"), None),
            401,
            "passRequestHeaders",
        ),
        (
            support::event(Some("docs___search"), Some(json!({}))),
            401,
            "no user token",
        ),
        (
            support::event(
                Some("docs___search"),
                Some(json!({"X-Custom-UserToken": "x".repeat(9000)})),
            ),
            400,
            "longer than",
        ),
        (
            support::event(
                Some("docs___search"),
                Some(json!({"X-Custom-UserToken": alg_none_token})),
            ),
            401,
            "failed verification",
        ),
        (
            support::event(
                Some("docs___search"),
                Some(json!({"X-Custom-UserToken": tampered})),
            ),
            401,
            "failed verification",
        ),
        (
            support::event(
                Some("nowhere___x"),
                Some(json!({"X-Custom-UserToken": jwt})),
            ),
            403,
            "no credential mode",
        ),
        (
            json!({"interceptorInputVersion": "2.0", "mcp": {"gatewayRequest": {"body": {"jsonrpc": "2.0", "id": 7, "method": "tools/list"}}}}),
            400,
            "version",
        ),
        (
            json!({"interceptorInputVersion": "1.0", "mcp": {"gatewayRequest": {"body": {"id": 7, "method": 3}}}}),
            400,
            "JSON-RPC 2.0",
        ),
        (
            json!({"interceptorInputVersion": "1.0", "mcp": {"gatewayRequest": {"body": {"id": 7}, "headers": "nope"}}}),
            400,
            "not an interceptor event",
        ),
        (
            json!({"interceptorInputVersion": "1.0", "mcp": {"gatewayRequest": {"path": "/mcp", "body": {"id": 7, "jsonrpc": "2.0"}}}}),
            400,
            "JSON-RPC 2.0",
        ),
    ];
    for (event, status, expected) in cases {
        let shown = event.to_string();
        let out = interceptor.handle_value(event).await;
        let response = out
            .mcp
            .transformed_gateway_response
            .as_ref()
            .unwrap_or_else(|| panic!("forwarded {shown}"));
        let message = response.body["error"]["message"].as_str().unwrap();
        assert_eq!(response.status_code, status, "{message} for {shown}");
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        assert!(
            !message.contains(&jwt) && !message.contains("eyJ"),
            "token text in {message}"
        );
    }
}

#[tokio::test]
async fn an_expired_user_token_is_refused() {
    let mut config = deputy_vault_local::VaultConfig::development();
    config.dev_idp.user_token_ttl_seconds = 1;
    let vault = deputy_vault_local::LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let issuer = vault.idp_issuer();
    let config: deputy_gateway::config::GatewayConfig = toml::from_str(&format!(
        "workload = \"deputy-agent\"\nclock_skew_seconds = 0\n[[target]]\nname = \"docs\"\nmode = \"passthrough\"\nissuer = \"{issuer}\"\njwks_uri = \"{issuer}/jwks\"\naudience = \"docs-mcp\"\n"
    ))
    .unwrap();
    let interceptor = deputy_gateway::Interceptor::from_config(config)
        .await
        .unwrap();
    let jwt = vault.mint_user_token("alice", "docs-mcp").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let out = interceptor
        .handle_value(support::event(
            Some("docs___search"),
            Some(json!({"X-Custom-UserToken": jwt})),
        ))
        .await;
    let (status, message) = refused(&out);
    assert_eq!(
        (status, message.as_str()),
        (401, "the user token has expired")
    );
}
