//! The Lambda binary driven through the Lambda Runtime API (served here), with real events for
//! each mode; a target server then checks what the gateway would deliver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use deputy::verify::TokenVerifier;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_binary_serves_every_mode_through_the_runtime_api() {
    let world = support::world().await;
    let alice_docs = world.vault.mint_user_token("alice", "docs-mcp").unwrap();
    let alice = world.vault.mint_user_token("alice", "deputy").unwrap();
    let events = [
        (
            "passthrough",
            support::event(
                Some("docs___search"),
                Some(json!({"X-Custom-UserToken": alice_docs})),
            ),
        ),
        (
            "exchange",
            support::event(
                Some("aws___describe"),
                Some(json!({"X-Custom-UserToken": alice})),
            ),
        ),
        (
            "broker",
            support::event(Some("billing___invoices"), Some(json!({}))),
        ),
        (
            "forged",
            support::event(
                Some("docs___search"),
                Some(json!({"X-Custom-UserToken": format!("{alice_docs}x")})),
            ),
        ),
        ("garbage", json!({"not": "an event"})),
    ];
    // Everything the binary writes is searched for secrets at the end (issue #8).
    let (lambda, responses) =
        support::lambda::run("modes", &world.config, &[("RUST_LOG", "trace")], &events).await;

    // What a target behind the gateway receives, checked the way a target would.
    let issuer = world.vault.idp_issuer();
    let check = |id: &str, audience: &str| {
        let out = &responses[id];
        assert_eq!(out["interceptorOutputVersion"], "1.0");
        let forwarded = &out["mcp"]["transformedGatewayRequest"];
        assert!(
            out["mcp"].get("transformedGatewayResponse").is_none(),
            "{id}: {out}"
        );
        let original =
            events.iter().find(|(e, _)| *e == id).unwrap().1["mcp"]["gatewayRequest"]["body"]
                .clone();
        assert_eq!(forwarded["body"], original, "{id}: the body is unchanged");
        let bearer = forwarded["headers"]["Authorization"]
            .as_str()
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap()
            .to_owned();
        (
            TokenVerifier::new(issuer.clone(), format!("{issuer}/jwks"), [audience]),
            bearer,
        )
    };
    let (verifier, token) = check("passthrough", "docs-mcp");
    assert_eq!(verifier.verify(&token).await.unwrap().subject.sub, "alice");
    let (verifier, token) = check("exchange", "aws-native");
    let observed = verifier.verify(&token).await.unwrap();
    assert_eq!(
        (
            observed.subject.sub.as_str(),
            observed.actors.current().unwrap().sub.as_str()
        ),
        ("alice", "aws-native")
    );
    let (_, broker_token) = check("broker", "billing");
    assert_eq!(broker_token.split('.').count(), 3);
    for refused in ["forged", "garbage"] {
        let out = &responses[refused];
        let status = out["mcp"]["transformedGatewayResponse"]["statusCode"]
            .as_u64()
            .unwrap();
        assert!(status == 401 || status == 400, "{refused}: {out}");
        assert!(!out.to_string().contains(&alice_docs[..40]), "token echoed");
    }

    // No token the binary handled, nor the broker's client secret, reached its output.
    let output = lambda.stop();
    let mut canary = deputy_tests::canary::Canary::default();
    canary.add("passthrough user JWT", &alice_docs);
    canary.add("exchange user JWT", &alice);
    canary.add("broker client secret", "billing-client-secret");
    for (id, _) in &events[..3] {
        canary.add_from_json(id, &responses[*id]);
        let bearer = responses[*id]["mcp"]["transformedGatewayRequest"]["headers"]["Authorization"]
            .as_str()
            .unwrap();
        canary.add(
            &format!("{id} bearer"),
            bearer.trim_start_matches("Bearer "),
        );
    }
    assert!(output.contains("TRACE"), "the binary logs at trace level");
    canary.assert_clean("deputy-gateway-lambda output", &output);
}

/// A broker target whose secret exists only in `eu-west-1`: a Lambda there must read it from
/// there, with no region in its configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_calls_sts_and_secrets_manager_in_the_region_it_runs_in() {
    let world = support::world().await;
    support::put_secret_in(
        &world.moto,
        "eu-west-1",
        support::CENTRAL_ROLE,
        "billing-client-eu",
        r#"{"client_id":"billing-service","client_secret":"billing-client-secret"}"#,
    )
    .await;
    let issuer = world.vault.idp_issuer();
    let config = format!(
        "{}\n[[target]]\nname = \"billing-eu\"\nmode = \"broker\"\nsecret_id = \"billing-client-eu\"\nrole_arn = \"{}\"\ntoken_endpoint = \"{issuer}/token\"\n",
        world.config.replace("region = \"us-east-1\"\n", ""),
        support::CENTRAL_ROLE,
    );
    assert!(!config.contains("region ="), "no region configured");
    let events = [(
        "broker-eu",
        support::event(Some("billing-eu___invoices"), Some(json!({}))),
    )];
    let (lambda, responses) =
        support::lambda::run("region", &config, &[("AWS_REGION", "eu-west-1")], &events).await;
    let out = &responses["broker-eu"];
    let log = lambda.stop();
    assert!(
        out["mcp"].get("transformedGatewayResponse").is_none(),
        "refused: {out}\n{log}"
    );
    assert_eq!(support::lambda::bearer(out).split('.').count(), 3);
}
