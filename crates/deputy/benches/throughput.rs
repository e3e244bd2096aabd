//! Resolver throughput and load against the local vault, with a realistic key mix: 1,000 users
//! × 3 user-federation providers (GitHub, Linear, Jira), drawn with a Zipf(1.0) popularity.
//!
//! For 1, 8, 64 and 512 concurrent tasks, each on a fresh resolver (empty cache): resolves/s,
//! vault calls per resolve, and the goal "vault token calls = distinct keys" (counted by the
//! local vault itself), with every served token's expiry checked against the clock. Then the
//! load run: 1,000,000 resolves from 512 tasks, reporting errors (must be 0), peak RSS and RSS
//! growth. Prints JSON lines.
//!
//! `cargo bench -p deputy --bench throughput`
//! (`DEPUTY_BENCH_LOAD_RESOLVES=100000` shortens the load run.)

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Credentials, Region};
use deputy::Resolver;
use deputy::UserToken;
use deputy::error::ResolveError;
use deputy::task::Task;
use deputy::user_jwt::UserJwt;
use deputy::vault::TokenVault;
use deputy_core::{Integration, IssuerMap, Operation, TaskId};
use deputy_vault_local::config::DEVELOPMENT_TOML;
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig, complete_consent_as_browser};

const USERS: usize = 1_000;
const PROVIDERS: [Integration; 3] = [Integration::Github, Integration::Linear, Integration::Jira];
const KEYS: usize = USERS * PROVIDERS.len();
const RESOLVES_PER_LEVEL: usize = 200_000;

/// Zipf(1.0) over the keys: the cumulative distribution, sampled by binary search.
struct Zipf(Vec<f64>);

impl Zipf {
    fn new(n: usize) -> Self {
        let weights: Vec<f64> = (1..=n).map(|rank| 1.0 / rank as f64).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        Zipf(
            weights
                .iter()
                .map(|w| {
                    acc += w / total;
                    acc
                })
                .collect(),
        )
    }

    fn sample(&self, uniform: f64) -> usize {
        self.0
            .partition_point(|&c| c < uniform)
            .min(self.0.len() - 1)
    }
}

/// xorshift64*: a deterministic per-task random stream, no dependency needed.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn user_name(i: usize) -> String {
    format!("user{i:04}")
}

/// The development configuration plus 1,000 dev-IdP users.
fn config() -> Result<VaultConfig, String> {
    let mut text = DEVELOPMENT_TOML.to_owned();
    for i in 0..USERS {
        text.push_str(&format!(
            "\n[[dev_idp.users]]\nname = \"{}\"\n",
            user_name(i)
        ));
    }
    VaultConfig::from_toml_str(&text).map_err(|e| e.to_string())
}

fn token_vault(vault: &RunningVault) -> TokenVault {
    let config = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
        .endpoint_url(vault.endpoint())
        .build();
    TokenVault::new(aws_sdk_bedrockagentcore::Client::from_conf(config))
}

fn resolver(vault: &TokenVault) -> Result<Resolver, String> {
    Resolver::builder()
        .vault(vault.clone())
        .workload("deputy-agent")
        .return_url("http://127.0.0.1:9/callback")
        .build()
        .map_err(|e| e.to_string())
}

/// One interactive task per user, with a JWT-bound WAT.
fn tasks(vault: &RunningVault) -> Result<Vec<Task>, String> {
    let mut issuers = IssuerMap::new();
    issuers
        .insert(&vault.idp_issuer(), "dev")
        .map_err(|e| e.to_string())?;
    (0..USERS)
        .map(|i| {
            let jwt = vault
                .mint_user_token(&user_name(i), "deputy")
                .map_err(|e| e.to_string())?;
            let jwt =
                UserJwt::from_verified(UserToken::new(jwt), &issuers).map_err(|e| e.to_string())?;
            let id = TaskId::new(&format!("task-{i}")).map_err(|e| e.to_string())?;
            Ok(Task::interactive(id, jwt))
        })
        .collect()
}

/// Every user consents to every provider once, as a browser would, so resolves get tokens.
async fn consent_all(resolver: &Resolver, tasks: &[Task]) -> Result<(), String> {
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(32) {
        let mut joins = Vec::new();
        for &key in chunk {
            let (resolver, task) = (resolver.clone(), tasks[key / PROVIDERS.len()].clone());
            joins.push(tokio::spawn(async move {
                let integration = &PROVIDERS[key % PROVIDERS.len()];
                match resolver
                    .resolve_token(&task, integration, Operation::Read)
                    .await
                {
                    Err(ResolveError::ConsentRequired(consent, _)) => {
                        let user = user_name(key / PROVIDERS.len());
                        let seen =
                            complete_consent_as_browser(&consent.authorization_url, &user, &user)
                                .await
                                .map_err(|e| e.to_string())?;
                        resolver
                            .complete_consent(
                                &task,
                                integration,
                                &seen.session_id,
                                task.ctx().user().ok_or("the task has a user")?,
                            )
                            .await
                            .map_err(|e| e.to_string())
                    }
                    Ok(_) => Ok(()),
                    Err(other) => Err(other.to_string()),
                }
            }));
        }
        for join in joins {
            join.await.map_err(|e| e.to_string())??;
        }
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    resolves: u64,
    errors: u64,
    expired_served: u64,
    keys: HashSet<usize>,
}

/// `resolves` resolves from `concurrency` tasks on `resolver`, keys drawn from `zipf`.
async fn run(
    resolver: &Resolver,
    tasks: &Arc<Vec<Task>>,
    zipf: &Arc<Zipf>,
    concurrency: usize,
    resolves: usize,
) -> Result<Tally, String> {
    let mut joins = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let (resolver, tasks, zipf) = (resolver.clone(), tasks.clone(), zipf.clone());
        let share = resolves / concurrency + usize::from(worker < resolves % concurrency);
        joins.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (worker as u64 + 1));
            let mut tally = Tally::default();
            for _ in 0..share {
                let key = zipf.sample(rng.next_f64());
                let task = &tasks[key / PROVIDERS.len()];
                let integration = &PROVIDERS[key % PROVIDERS.len()];
                tally.keys.insert(key);
                match resolver
                    .resolve_token(task, integration, Operation::Read)
                    .await
                {
                    Ok(token) => {
                        tally.resolves += 1;
                        if token.expires_at <= SystemTime::now() {
                            tally.expired_served += 1;
                        }
                    }
                    Err(_) => tally.errors += 1,
                }
            }
            tally
        }));
    }
    let mut total = Tally::default();
    for join in joins {
        let tally = join.await.map_err(|e| e.to_string())?;
        total.resolves += tally.resolves;
        total.errors += tally.errors;
        total.expired_served += tally.expired_served;
        total.keys.extend(tally.keys);
    }
    Ok(total)
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let addr = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
        let vault = LocalVault::start(config()?, addr)
            .await
            .map_err(|e| e.to_string())?;
        let client = token_vault(&vault);
        let tasks = Arc::new(tasks(&vault)?);
        consent_all(&resolver(&client)?, &tasks).await?;
        let zipf = Arc::new(Zipf::new(KEYS));
        for concurrency in [1, 8, 64, 512] {
            let fresh = resolver(&client)?;
            let (token_calls, wat_calls) = (
                vault.call_count("GetResourceOauth2Token"),
                vault.call_count("GetWorkloadAccessTokenForUserId"),
            );
            let start = Instant::now();
            let tally = run(&fresh, &tasks, &zipf, concurrency, RESOLVES_PER_LEVEL).await?;
            let seconds = start.elapsed().as_secs_f64();
            let token_calls = vault.call_count("GetResourceOauth2Token") - token_calls;
            let wat_calls = vault.call_count("GetWorkloadAccessTokenForUserId") - wat_calls;
            println!(
                "{{\"bench\":\"throughput\",\"concurrency\":{concurrency},\"resolves\":{},\"errors\":{},\"resolves_per_s\":{:.0},\"distinct_keys\":{},\"vault_token_calls\":{token_calls},\"vault_wat_calls\":{wat_calls},\"vault_calls_per_resolve\":{:.5},\"expired_tokens_served\":{},\"goal_met\":{}}}",
                tally.resolves,
                tally.errors,
                tally.resolves as f64 / seconds,
                tally.keys.len(),
                (token_calls + wat_calls) as f64 / tally.resolves.max(1) as f64,
                tally.expired_served,
                token_calls == tally.keys.len() as u64 && tally.expired_served == 0 && tally.errors == 0,
            );
        }

        // Load: 1 M resolves from 512 tasks on one resolver.
        let resolves = std::env::var("DEPUTY_BENCH_LOAD_RESOLVES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1_000_000);
        let load = resolver(&client)?;
        let rss_before = status_kib("VmRSS:");
        let start = Instant::now();
        let tally = run(&load, &tasks, &zipf, 512, resolves).await?;
        let seconds = start.elapsed().as_secs_f64();
        let rss_after = status_kib("VmRSS:");
        println!(
            "{{\"bench\":\"load\",\"tasks\":512,\"resolves\":{},\"errors\":{},\"expired_tokens_served\":{},\"seconds\":{seconds:.2},\"resolves_per_s\":{:.0},\"rss_before_mib\":{:.1},\"rss_after_mib\":{:.1},\"rss_growth_mib\":{:.1},\"peak_rss_mib\":{:.1}}}",
            tally.resolves,
            tally.errors,
            tally.expired_served,
            tally.resolves as f64 / seconds,
            rss_before as f64 / 1024.0,
            rss_after as f64 / 1024.0,
            rss_after.saturating_sub(rss_before) as f64 / 1024.0,
            status_kib("VmHWM:") as f64 / 1024.0,
        );
        vault.shutdown().await;
        Ok(())
    })
}
