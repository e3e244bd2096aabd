//! Interceptor latency for passthrough with a warm JWKS cache (goal: p99 <= 50 µs in-process).
//! Measures each call, prints JSON with p50/p99/max.
//!
//! `cargo bench -p deputy-gateway --bench interceptor`

use std::time::Instant;

use deputy_gateway::Interceptor;
use deputy_gateway::config::GatewayConfig;
use deputy_vault_local::{LocalVault, VaultConfig};
use serde_json::json;

const CALLS: usize = 20_000;

fn main() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
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
        // Warm-up, which also fills the JWKS cache.
        for _ in 0..1_000 {
            let out = interceptor.handle_value(event.clone()).await;
            if out.mcp.transformed_gateway_request.is_none() {
                return Err(format!("warm-up was refused: {out:?}"));
            }
        }
        let mut nanos = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let event = event.clone();
            let start = Instant::now();
            let out = interceptor.handle_value(event).await;
            nanos.push(start.elapsed().as_nanos() as u64);
            std::hint::black_box(out);
        }
        nanos.sort_unstable();
        let at = |q: f64| nanos[((nanos.len() as f64 * q) as usize).min(nanos.len() - 1)] as f64 / 1000.0;
        println!(
            "{{\"bench\":\"gateway_passthrough_warm_jwks\",\"calls\":{CALLS},\"p50_us\":{:.1},\"p99_us\":{:.1},\"max_us\":{:.1},\"goal_p99_us\":50,\"met\":{}}}",
            at(0.50),
            at(0.99),
            at(1.0),
            at(0.99) <= 50.0
        );
        vault.shutdown().await;
        Ok(())
    })
}
