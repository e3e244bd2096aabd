//! Resolver benchmarks: the cache-hit path with telemetry off and on, and a cold resolve through
//! the local vault against the same calls made directly with `aws-sdk-bedrockagentcore`.
//!
//! `cargo bench -p deputy --bench resolve`

use std::time::Duration;

use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_bedrockagentcore::types::Oauth2FlowType;
use criterion::{Criterion, criterion_group, criterion_main};
use deputy::Resolver;
use deputy::task::{Task, WatSource};
use deputy::vault::{TokenVault, WatBinding};
use deputy_core::{Integration, Operation, TaskContext, TaskId, Trigger};
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig};
use tracing_subscriber::layer::SubscriberExt;

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    }
}

fn sdk(vault: &RunningVault) -> aws_sdk_bedrockagentcore::Client {
    let config = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
        .endpoint_url(vault.endpoint())
        .build();
    aws_sdk_bedrockagentcore::Client::from_conf(config)
}

fn task(id: &str) -> Task {
    let ctx = TaskContext::new(
        TaskId::new(id).unwrap_or_else(|e| panic!("{e}")),
        Trigger::Headless,
    );
    Task::new(ctx, WatSource::Mint(WatBinding::Workload))
}

fn resolver(vault: &RunningVault) -> Resolver {
    Resolver::builder()
        .vault(TokenVault::new(sdk(vault)))
        .workload("deputy-agent")
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn cache_hit(c: &mut Criterion) {
    let rt = runtime();
    let vault = rt
        .block_on(LocalVault::start(
            VaultConfig::development(),
            "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let resolver = resolver(&vault);
    let task = task("bench-hit");
    let linear = Integration::Linear;
    rt.block_on(resolver.resolve_token(&task, &linear, Operation::Read))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("cache_hit");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("telemetry_off", |b| {
        b.iter(|| rt.block_on(resolver.resolve_token(&task, &linear, Operation::Read)))
    });
    // Telemetry on: the OpenTelemetry layer records every span (exported to a closed port).
    let export = deputy::otel::otlp_layer_to("http://127.0.0.1:9/v1/traces")
        .unwrap_or_else(|e| panic!("{e}"));
    let subscriber = tracing_subscriber::registry().with(export.layer);
    tracing::subscriber::with_default(subscriber, || {
        group.bench_function("telemetry_on", |b| {
            b.iter(|| rt.block_on(resolver.resolve_token(&task, &linear, Operation::Read)))
        });
    });
    group.finish();
    let _ = export.provider.shutdown();
    rt.block_on(vault.shutdown());
}

fn cold_resolve_vs_sdk(c: &mut Criterion) {
    let rt = runtime();
    let vault = rt
        .block_on(LocalVault::start(
            VaultConfig::development(),
            "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let client = sdk(&vault);
    let mut group = c.benchmark_group("cold_resolve");
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("direct_sdk", |b| {
        b.iter(|| {
            rt.block_on(async {
                let wat = client
                    .get_workload_access_token()
                    .workload_name("deputy-agent")
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                client
                    .get_resource_oauth2_token()
                    .workload_identity_token(wat.workload_access_token())
                    .resource_credential_provider_name("linear-service")
                    .oauth2_flow(Oauth2FlowType::M2M)
                    .set_scopes(Some(vec![]))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
            })
        })
    });
    // A fresh resolver per iteration: every resolve is a cache miss (WAT + token calls).
    group.bench_function("deputy_resolver", |b| {
        b.iter_batched(
            || resolver(&vault),
            |resolver| {
                rt.block_on(resolver.resolve_token(
                    &task("bench-cold"),
                    &Integration::Linear,
                    Operation::Read,
                ))
                .unwrap_or_else(|e| panic!("{e}"))
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
    rt.block_on(vault.shutdown());
}

criterion_group!(benches, cache_hit, cold_resolve_vs_sdk);
criterion_main!(benches);
