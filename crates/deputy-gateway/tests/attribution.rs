//! Who a forwarded credential is attributed to and what the client learns (issue #19, item
//! 10): task ids the interceptor makes itself, refusals without internals, and a credential
//! span for passthrough and broker shaped like the resolver's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use deputy_core::attr;
use deputy_core::audit::TokenFingerprint;
use deputy_gateway::event::InterceptorOutput;
use deputy_tests::spans::SpanLog;
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt;

fn with_id(mut event: Value, id: Value, session: Option<&str>) -> Value {
    event["mcp"]["gatewayRequest"]["body"]["id"] = id;
    if let Some(session) = session {
        event["mcp"]["gatewayRequest"]["headers"]["mcp-session-id"] = json!(session);
    }
    event
}

fn bearer(out: &InterceptorOutput) -> String {
    let request = out
        .mcp
        .transformed_gateway_request
        .as_ref()
        .unwrap_or_else(|| panic!("refused: {out:?}"));
    request.headers["Authorization"]
        .strip_prefix("Bearer ")
        .unwrap()
        .to_owned()
}

fn task_ids(spans: &[BTreeMap<String, String>]) -> Vec<String> {
    spans.iter().map(|s| s[attr::TASK_ID].clone()).collect()
}

#[tokio::test]
async fn task_ids_are_unique_per_request_and_never_the_client_json_rpc_id() {
    let world = support::world().await;
    let interceptor = support::interceptor(&world).await;
    let log = SpanLog::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(log.layer()));
    let jwt = world.vault.mint_user_token("alice", "deputy").unwrap();
    let exchange = || {
        support::event(
            Some("aws___describe"),
            Some(json!({"X-Custom-UserToken": jwt})),
        )
    };
    // The same JSON-RPC id twice, an id that names someone else's task, and a session.
    for event in [
        exchange(),
        exchange(),
        with_id(exchange(), json!("victim-task"), Some("sess-9")),
    ] {
        bearer(&interceptor.handle_value(event).await);
    }
    bearer(
        &interceptor
            .handle_value(support::event(Some("billing___invoices"), Some(json!({}))))
            .await,
    );
    let resolves = task_ids(&log.named(attr::SPAN_RESOLVE));
    assert!(
        resolves[0] != resolves[1] && resolves.iter().all(|id| !id.contains("victim")),
        "{resolves:?}"
    );
    let gateways = task_ids(&log.named(attr::SPAN_GATEWAY));
    assert_eq!((resolves.len(), gateways.len()), (3, 4));
    let distinct: std::collections::BTreeSet<&String> = gateways.iter().collect();
    assert_eq!(distinct.len(), 4, "{gateways:?}");
    assert_eq!(
        resolves,
        gateways[..3],
        "the resolver runs under the gateway's task"
    );
    for id in &gateways {
        assert!(id.starts_with("gw-") && id.len() >= 35, "{id}");
        assert!(!id.contains("victim") && !id.contains("mcp-7"), "{id}");
    }
    assert!(gateways[2].ends_with("-sess-9"), "{}", gateways[2]);
    assert_eq!(log.named(attr::SPAN_GATEWAY)[2][attr::SESSION_ID], "sess-9");
}

#[tokio::test]
async fn broker_refusals_name_no_role_account_or_secret_to_the_client() {
    let world = support::world().await;
    let issuer = world.vault.idp_issuer();
    let config = format!(
        "{}\n[[target]]\nname = \"ghost\"\nmode = \"broker\"\nsecret_id = \"central/ghost-client\"\nrole_arn = \"{}\"\ntoken_endpoint = \"{issuer}/token\"\n",
        world.config,
        support::CENTRAL_ROLE,
    );
    let interceptor = deputy_gateway::Interceptor::from_config(toml::from_str(&config).unwrap())
        .await
        .unwrap();
    let log = SpanLog::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(log.layer()));
    let out = interceptor
        .handle_value(support::event(Some("ghost___x"), Some(json!({}))))
        .await;
    let response = out.mcp.transformed_gateway_response.as_ref().unwrap();
    assert_eq!(response.status_code, 502);
    let shown = serde_json::to_string(&out).unwrap();
    for internal in [
        "ghost-client",
        "111122223333",
        "arn:aws",
        "central-broker",
        &issuer,
    ] {
        assert!(
            !shown.contains(internal),
            "the client is told {internal}: {shown}"
        );
    }
    // The operator still learns what failed, from the span (and the log line under it).
    let spans = log.named(attr::SPAN_GATEWAY);
    let detail = &spans[0][attr::ERROR_DETAIL];
    assert!(detail.contains("central/ghost-client"), "{detail}");
    assert_eq!(spans[0][attr::ERROR_KIND], "upstream");
}

#[tokio::test]
async fn passthrough_and_broker_record_the_credential_span_an_exchange_records() {
    let world = support::world().await;
    let interceptor = support::interceptor(&world).await;
    let log = SpanLog::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(log.layer()));
    let docs_jwt = world.vault.mint_user_token("alice", "docs-mcp").unwrap();
    let user_jwt = world.vault.mint_user_token("alice", "deputy").unwrap();
    let passthrough = bearer(
        &interceptor
            .handle_value(support::event(
                Some("docs___search"),
                Some(json!({"X-Custom-UserToken": docs_jwt})),
            ))
            .await,
    );
    let broker = bearer(
        &interceptor
            .handle_value(support::event(Some("billing___invoices"), Some(json!({}))))
            .await,
    );
    let exchanged = bearer(
        &interceptor
            .handle_value(support::event(
                Some("aws___describe"),
                Some(json!({"X-Custom-UserToken": user_jwt})),
            ))
            .await,
    );
    let credentials = log.named(attr::SPAN_GATEWAY_CREDENTIAL);
    let resolve = &log.named(attr::SPAN_RESOLVE)[0];
    assert_eq!(credentials.len(), 2, "{credentials:#?}");
    let (pass, brok) = (&credentials[0], &credentials[1]);
    assert_eq!(
        (pass[attr::SOURCE].as_str(), brok[attr::SOURCE].as_str()),
        ("gateway-passthrough", "token-broker")
    );
    assert_eq!(
        pass[attr::TOKEN_FINGERPRINT],
        TokenFingerprint::of(&passthrough).as_str()
    );
    assert_eq!(
        brok[attr::TOKEN_FINGERPRINT],
        TokenFingerprint::of(&broker).as_str()
    );
    assert_eq!(
        resolve[attr::TOKEN_FINGERPRINT],
        TokenFingerprint::of(&exchanged).as_str()
    );
    assert_eq!(pass[attr::USER_ID], "dev+alice");
    assert!(!brok.contains_key(attr::USER_ID));
    // The attributes a record needs, as the resolver's span carries them.
    for required in [
        attr::TASK_ID,
        attr::INTEGRATION,
        attr::OPERATION,
        attr::TRIGGER,
        attr::FLOW,
        attr::RULE_ID,
        attr::SOURCE,
        attr::CONSENT,
        attr::TOKEN_FINGERPRINT,
        attr::ACTOR_CHAIN_ASSERTED,
    ] {
        assert!(resolve.contains_key(required), "{required}");
        assert!(
            pass.contains_key(required) && brok.contains_key(required),
            "{required}"
        );
    }
    for (span, fields) in log.closed() {
        for (name, value) in &fields {
            if span.starts_with("deputy.") {
                assert!(attr::ALL.contains(&name.as_str()), "{span}.{name}");
            }
            for token in [&docs_jwt, &user_jwt, &passthrough, &broker, &exchanged] {
                assert!(
                    !value.contains(token.as_str()),
                    "{span}.{name} carries a token"
                );
            }
        }
    }
}
