//! The AgentCore Gateway REQUEST-interceptor event parser, and the header readers run on
//! its headers, on arbitrary JSON.
//!
//! Properties: an event that parses serializes and parses back to the same JSON; header
//! lookups are case-insensitive; a refusal echoes the JSON-RPC id and serializes.
#![no_main]

use deputy_gateway::agent::user_token_from_runtime;
use deputy_gateway::event::{InterceptorInput, InterceptorOutput, Refusal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<InterceptorInput>(data) else {
        return;
    };
    let once = serde_json::to_value(&input).unwrap();
    let reparsed: InterceptorInput = serde_json::from_value(once.clone()).unwrap();
    assert_eq!(serde_json::to_value(&reparsed).unwrap(), once);

    let request = &input.mcp.gateway_request;
    let _ = (request.method(), request.tool());
    if let Some(headers) = &request.headers {
        for name in headers.keys() {
            let upper = name.to_ascii_uppercase();
            assert!(
                request.header(&upper).is_some(),
                "header {name:?} not found as {upper:?}"
            );
        }
        let pairs = || headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let _ = deputy::wat_headers::from_headers(pairs());
        if let Some(token) = user_token_from_runtime(pairs()) {
            assert!(!token.expose().is_empty());
        }
    }
    let id = request.id();
    let output = InterceptorOutput::refuse(&Refusal::bad_request("fuzz"), id.clone());
    let response = output.mcp.transformed_gateway_response.as_ref().unwrap();
    assert_eq!(response.body["id"], id);
    let text = serde_json::to_string(&output).unwrap();
    let back: InterceptorOutput = serde_json::from_str(&text).unwrap();
    assert_eq!(back, output);
});
