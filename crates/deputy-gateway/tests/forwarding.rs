//! What reaches the target besides the credential: only allow-listed headers, and never one
//! that carries the user's token, whatever its name (issue #19, item 10).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use deputy_gateway::Interceptor;
use deputy_gateway::config::GatewayConfig;
use serde_json::json;

fn forwarded(out: &deputy_gateway::event::InterceptorOutput) -> BTreeMap<String, String> {
    out.mcp
        .transformed_gateway_request
        .as_ref()
        .unwrap_or_else(|| panic!("refused: {out:?}"))
        .headers
        .clone()
}

#[tokio::test]
async fn the_user_token_never_leaves_in_another_header_or_a_cookie() {
    let world = support::world().await;
    let interceptor = support::interceptor(&world).await;
    for (tool, audience) in [("docs___search", "docs-mcp"), ("aws___describe", "deputy")] {
        let jwt = world.vault.mint_user_token("alice", audience).unwrap();
        let out = interceptor
            .handle_value(support::event(
                Some(tool),
                Some(json!({
                    "x-custom-usertoken": jwt,
                    "x-forwarded-user-token": jwt,
                    "x-extra": "harmless",
                    "cookie": format!("session={jwt}; theme=dark"),
                    "authorization": "Bearer gateway-inbound-credential",
                    "accept": format!("application/json; t={jwt}"),
                    "user-agent": "agent/1.0",
                    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                    "mcp-session-id": "sess-1",
                })),
            ))
            .await;
        let headers = forwarded(&out);
        assert_eq!(
            headers.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "Authorization",
                "mcp-session-id",
                "traceparent",
                "user-agent"
            ],
            "{tool}"
        );
        for (name, value) in &headers {
            if name != "Authorization" || tool == "aws___describe" {
                assert!(
                    !value.contains(&jwt),
                    "{tool}: {name} carries the user token"
                );
            }
            assert!(
                !value.contains("gateway-inbound-credential"),
                "{tool}: {name}"
            );
        }
    }
}

#[tokio::test]
async fn the_allow_list_is_configurable_and_never_admits_a_credential_header() {
    let world = support::world().await;
    let with = |names: &str| {
        let config = world.config.replacen(
            "[inbound]",
            &format!("forward_headers = {names}\n\n[inbound]"),
            1,
        );
        toml::from_str::<GatewayConfig>(&config).unwrap()
    };
    let interceptor = Interceptor::from_config(with(r#"["X-Tenant"]"#))
        .await
        .unwrap();
    let jwt = world.vault.mint_user_token("alice", "docs-mcp").unwrap();
    let out = interceptor
        .handle_value(support::event(
            Some("docs___search"),
            Some(json!({"X-Custom-UserToken": jwt, "x-tenant": "acme", "user-agent": "a"})),
        ))
        .await;
    let headers = forwarded(&out);
    assert_eq!(
        headers.keys().map(String::as_str).collect::<Vec<_>>(),
        ["Authorization", "x-tenant"]
    );
    for refused in [
        r#"["cookie"]"#,
        r#"["Authorization"]"#,
        r#"["x-custom-usertoken"]"#,
        r#"["accept", "Proxy-Authorization"]"#,
    ] {
        let err = Interceptor::from_config(with(refused))
            .await
            .err()
            .unwrap_or_else(|| panic!("{refused} was accepted"));
        assert!(err.to_string().contains("carries credentials"), "{err}");
    }
}
