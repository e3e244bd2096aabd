//! Interceptor latency for passthrough with a warm JWKS cache (goal: p99 <= 50 µs in-process).
//!
//! `cargo bench -p deputy-gateway --bench interceptor`

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use deputy_gateway::Interceptor;
use deputy_gateway::config::GatewayConfig;
use deputy_vault_local::{LocalVault, VaultConfig};
use serde_json::json;

fn passthrough(c: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    };
    let (vault, interceptor, event) = runtime.block_on(async {
        let vault = LocalVault::start(VaultConfig::development(), "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?)
            .await
            .map_err(|e| e.to_string())?;
        let issuer = vault.idp_issuer();
        let config: GatewayConfig = toml::from_str(&format!(
            "workload = \"deputy-agent\"\n[[target]]\nname = \"docs\"\nmode = \"passthrough\"\nissuer = \"{issuer}\"\njwks_uri = \"{issuer}/jwks\"\naudience = \"docs-mcp\"\n"
        ))
        .map_err(|e| e.to_string())?;
        let interceptor = Interceptor::from_config(config).await.map_err(|e| e.to_string())?;
        let jwt = vault.mint_user_token("alice", "docs-mcp").map_err(|e| e.to_string())?;
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "docs___search", "arguments": {}}});
        let event = json!({"interceptorInputVersion": "1.0", "mcp": {"gatewayRequest": {"path": "/mcp", "httpMethod": "POST", "headers": {"X-Custom-UserToken": jwt}, "body": body}}});
        // Warm the JWKS cache.
        let out = interceptor.handle_value(event.clone()).await;
        if out.mcp.transformed_gateway_request.is_none() {
            return Err(format!("warm-up was refused: {out:?}"));
        }
        Ok::<_, String>((vault, interceptor, event))
    })
    .unwrap_or_else(|e| panic!("set-up failed: {e}"));
    let mut group = c.benchmark_group("interceptor");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("passthrough_warm_jwks", |b| {
        b.iter(|| runtime.block_on(interceptor.handle_value(event.clone())))
    });
    group.finish();
    runtime.block_on(vault.shutdown());
}

criterion_group!(benches, passthrough);
criterion_main!(benches);
