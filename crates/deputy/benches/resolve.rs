//! Resolver latency: cache hits with telemetry off and on (goal p50 <= 1 µs, p99 <= 5 µs), and
//! a cold resolve through the local vault against the same calls made directly with
//! `aws-sdk-bedrockagentcore` (goal: deputy's overhead <= 5%). Prints JSON lines.
//!
//! `cargo bench -p deputy --bench resolve` (`DEPUTY_BENCH_ONLY=hit|cold`, `DEPUTY_BENCH_TELEMETRY=off|on`
//! and `DEPUTY_BENCH_COLD=direct|deputy` run one part, for profilers).

use std::time::Instant;

use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_bedrockagentcore::types::Oauth2FlowType;
use deputy::Resolver;
use deputy::task::Task;
use deputy::vault::TokenVault;
use deputy_core::{Integration, Operation, TaskId};
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

fn sdk(vault: &RunningVault) -> aws_sdk_bedrockagentcore::Client {
    let config = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
        .endpoint_url(vault.endpoint())
        .build();
    aws_sdk_bedrockagentcore::Client::from_conf(config)
}

fn headless_task(id: &str) -> Result<Task, String> {
    Ok(Task::headless(TaskId::new(id).map_err(|e| e.to_string())?))
}

fn new_resolver(vault: &TokenVault) -> Result<Resolver, String> {
    Resolver::builder()
        .vault(vault.clone())
        .workload("deputy-agent")
        .build()
        .map_err(|e| e.to_string())
}

fn percentiles(mut nanos: Vec<u64>) -> (f64, f64) {
    if nanos.is_empty() {
        return (0.0, 0.0);
    }
    nanos.sort_unstable();
    let at =
        |q: f64| nanos[((nanos.len() as f64 * q) as usize).min(nanos.len() - 1)] as f64 / 1000.0;
    (at(0.5), at(0.99))
}

async fn cache_hits(resolver: &Resolver, task: &Task, n: usize) -> Result<Vec<u64>, String> {
    let mut nanos = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let token = resolver
            .resolve_token(task, &Integration::Linear, Operation::Read)
            .await
            .map_err(|e| e.to_string())?;
        nanos.push(start.elapsed().as_nanos() as u64);
        std::hint::black_box(token);
    }
    Ok(nanos)
}

/// Times spans that do nothing: the cost of the telemetry stack itself. With `fields`, the
/// span carries 12 short strings and one number, as a cache hit's `deputy.resolve` does.
fn bare_spans(n: usize, fields: bool) -> Vec<u64> {
    let mut nanos = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        let span = if fields {
            tracing::info_span!(
                "bench.span",
                a = "task-1",
                b = "linear",
                c = "read",
                d = "headless",
                e = "m2m",
                f = "linear-m2m",
                g = "linear-service",
                h = "{\"agent\":\"deputy-agent\"}",
                i = "cache",
                j = "hit",
                k = "sha256:0123456789abcdef0123456789abcdef",
                l = "not_required",
                m = i as u64,
            )
        } else {
            tracing::info_span!("bench.span")
        };
        span.in_scope(|| std::hint::black_box(i));
        drop(span);
        nanos.push(start.elapsed().as_nanos() as u64);
    }
    nanos
}

/// Cold resolves: `GetWorkloadAccessToken` + `GetResourceOauth2Token` each time, straight
/// through the SDK and through a warm resolver whose entry for the key is dropped before each
/// resolve (a cold resolve as a long-running agent meets it: first use of a key, or after
/// expiry), in one run. The local vault shares this thread, so whoever runs second may pay
/// for the server's leftover work from the first: the order alternates every iteration. `DEPUTY_BENCH_COLD=direct|deputy` runs one
/// contender alone (for a profiler).
async fn cold_resolves(
    client: &aws_sdk_bedrockagentcore::Client,
    vault: &TokenVault,
    client_settings: &str,
) -> Result<(), String> {
    const COLD: usize = 2_000;
    let (mut direct, mut deputy) = (Vec::with_capacity(COLD), Vec::with_capacity(COLD));
    let warm = new_resolver(vault)?;
    let t = headless_task("cold")?;
    let only = std::env::var("DEPUTY_BENCH_COLD").unwrap_or_default();
    for i in 0..COLD {
        warm.forget_provider("linear-service");
        if only != "deputy" && (only == "direct" || i % 2 == 0) {
            direct.push(direct_call(client).await?);
        }
        if only != "direct" {
            deputy.push(deputy_call(&warm, &t).await?);
        }
        if only.is_empty() && i % 2 == 1 {
            direct.push(direct_call(client).await?);
        }
    }
    let (d50, d99) = percentiles(direct);
    let (r50, r99) = percentiles(deputy);
    println!(
        "{{\"bench\":\"cold_resolve\",\"client\":\"{client_settings}\",\"direct_sdk_p50_us\":{d50:.0},\"deputy_p50_us\":{r50:.0},\"direct_sdk_p99_us\":{d99:.0},\"deputy_p99_us\":{r99:.0},\"overhead_p50_pct\":{:.1},\"goal_pct\":5}}",
        (r50 / d50 - 1.0) * 100.0
    );
    Ok(())
}

/// `GetWorkloadAccessToken` then `GetResourceOauth2Token`, straight through the SDK.
async fn direct_call(client: &aws_sdk_bedrockagentcore::Client) -> Result<u64, String> {
    let start = Instant::now();
    let wat = client
        .get_workload_access_token()
        .workload_name("deputy-agent")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let out = client
        .get_resource_oauth2_token()
        .workload_identity_token(wat.workload_access_token())
        .resource_credential_provider_name("linear-service")
        .oauth2_flow(Oauth2FlowType::M2M)
        .set_scopes(Some(vec![]))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let nanos = start.elapsed().as_nanos() as u64;
    std::hint::black_box(out);
    Ok(nanos)
}

/// The same two calls through the resolver (its cache entry dropped), sharing the SDK client.
async fn deputy_call(resolver: &Resolver, task: &Task) -> Result<u64, String> {
    let start = Instant::now();
    let token = resolver
        .resolve_token(task, &Integration::Linear, Operation::Read)
        .await
        .map_err(|e| e.to_string())?;
    let nanos = start.elapsed().as_nanos() as u64;
    std::hint::black_box(token);
    Ok(nanos)
}

fn main() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let vault = LocalVault::start(VaultConfig::development(), "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?).await.map_err(|e| e.to_string())?;
        let client = sdk(&vault);
        let token_vault = TokenVault::new(client.clone());
        let resolver = new_resolver(&token_vault)?;
        let task = headless_task("bench-hit")?;
        // `DEPUTY_BENCH_ONLY=cold` skips the cache-hit runs (for profiling the cold path).
        let only_cold = std::env::var("DEPUTY_BENCH_ONLY").is_ok_and(|v| v == "cold");
        // `DEPUTY_BENCH_TELEMETRY=off` or `=on` times the cache hits in that mode only.
        let telemetry = std::env::var("DEPUTY_BENCH_TELEMETRY").unwrap_or_default();
        if !only_cold && telemetry != "on" {
        cache_hits(&resolver, &task, 10_000).await?;
        let (p50, p99) = percentiles(cache_hits(&resolver, &task, 200_000).await?);
        println!("{{\"bench\":\"cache_hit\",\"telemetry\":\"off\",\"p50_us\":{p50:.2},\"p99_us\":{p99:.2},\"goal\":\"p50<=1,p99<=5\"}}");
        }
        if !only_cold && telemetry != "off" {
        let export = deputy::otel::otlp_layer_to("http://127.0.0.1:9/v1/traces").map_err(|e| e.to_string())?;
        let subscriber = tracing_subscriber::registry().with(export.layer);
        let guard = tracing::subscriber::set_default(subscriber);
        cache_hits(&resolver, &task, 10_000).await?;
        let (p50, p99) = percentiles(cache_hits(&resolver, &task, 100_000).await?);
        println!("{{\"bench\":\"cache_hit\",\"telemetry\":\"on (OpenTelemetry layer)\",\"p50_us\":{p50:.2},\"p99_us\":{p99:.2},\"goal\":\"p50<=1,p99<=5\"}}");
        // As an agent calls it: inside its own task span, which the resolve span is parented to.
        let nanos = cache_hits(&resolver, &task, 100_000).instrument(tracing::info_span!("agent.task")).await?;
        let (p50, p99) = percentiles(nanos);
        println!("{{\"bench\":\"cache_hit\",\"telemetry\":\"on (OpenTelemetry layer), inside a caller's span\",\"p50_us\":{p50:.2},\"p99_us\":{p99:.2},\"goal\":\"p50<=1,p99<=5\"}}");
        // The floor of the tracing -> OpenTelemetry stack alone, no deputy code: one span,
        // entered once, with no fields, and with as many attributes as a cache hit records.
        let (p50, p99) = percentiles(bare_spans(100_000, false));
        println!("{{\"bench\":\"bare_span\",\"telemetry\":\"on (OpenTelemetry layer)\",\"attributes\":0,\"p50_us\":{p50:.2},\"p99_us\":{p99:.2}}}");
        let (p50, p99) = percentiles(bare_spans(100_000, true));
        println!("{{\"bench\":\"bare_span\",\"telemetry\":\"on (OpenTelemetry layer)\",\"attributes\":13,\"p50_us\":{p50:.2},\"p99_us\":{p99:.2}}}");
        drop(guard);
        let _ = export.provider.shutdown();

        }

        // `DEPUTY_BENCH_ONLY=hit` skips the cold part (for profiling the hit path).
        if std::env::var("DEPUTY_BENCH_ONLY").is_ok_and(|v| v == "hit") {
            vault.shutdown().await;
            return Ok(());
        }
        // Against a client without timeouts (the SDK's defaults), and against the client
        // deputy builds in production (`TokenVault::connect`: retries, connect, attempt and
        // operation timeouts), used by both contenders.
        cold_resolves(&client, &token_vault, "sdk defaults").await?;
        let sdk_config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
            .endpoint_url(vault.endpoint())
            .load()
            .await;
        let connected = TokenVault::connect(&sdk_config, &deputy::vault::CallPolicy::default());
        cold_resolves(connected.client(), &connected, "TokenVault::connect").await?;
        vault.shutdown().await;
        Ok(())
    })
}
