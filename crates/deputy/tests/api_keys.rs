//! API keys through the vault: environment-scoped names, a backup after rotation, a pool.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use deputy_core::policy::PolicyTable;
use deputy_core::{Integration, Operation};
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig};

async fn vault() -> RunningVault {
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deputy-vault-local/development.toml"
    ))
    .unwrap();
    let extra = [
        "prod-search-key",
        "prod-search-key-next",
        "prod-llm-a",
        "prod-llm-b",
        "prod-llm-c",
        "staging-search-key",
    ]
    .iter()
    .map(|name| format!("\n[[api_keys]]\nname = \"{name}\"\napi_key = \"value-of-{name}\"\n"))
    .collect::<String>();
    let config = VaultConfig::from_toml_str(&format!("{base}{extra}")).unwrap();
    LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn policy(environment: &str) -> PolicyTable {
    let text = format!(
        "version = 1\nenvironment = \"{environment}\"\n\
         [[rule]]\nid = \"search\"\nintegrations = [\"search\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"api_key\"\nprovider = \"search-key\"\nbackup_provider = \"search-key-next\"\n\
         [[rule]]\nid = \"llm\"\nintegrations = [\"llm\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"api_key\"\nprovider = \"llm-a\"\npool = [\"llm-a\", \"llm-b\", \"llm-c\"]\n\
         [[rule]]\nid = \"rest\"\nintegrations = [\"github\", \"linear\", \"jira\", \"slack\", \"aws-native\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"deny\"\nreason = \"not in this test\"\n"
    );
    PolicyTable::from_toml("keys.toml", &text).unwrap()
}

#[tokio::test]
async fn environment_prefix_and_backup_after_rotation() {
    let vault = vault().await;
    let search: Integration = "search".parse().unwrap();
    let resolver = common::builder(&vault)
        .policy(policy("prod"))
        .build()
        .unwrap();
    let task = common::headless("keys-1");
    let primary = resolver
        .resolve_token(&task, &search, Operation::Read)
        .await
        .unwrap();
    assert_eq!(primary.token.expose(), "value-of-prod-search-key");
    assert_eq!(primary.provider.as_deref(), Some("prod-search-key"));
    // Still the primary (from the cache) until the downstream rejects it.
    assert_eq!(
        resolver
            .resolve_token(&task, &search, Operation::Read)
            .await
            .unwrap()
            .token,
        primary.token
    );
    resolver.report_invalid_api_key(&primary);
    let backup = resolver
        .resolve_token(&task, &search, Operation::Read)
        .await
        .unwrap();
    assert_eq!(backup.token.expose(), "value-of-prod-search-key-next");

    // The staging table never reaches prod's providers.
    let staging = common::builder(&vault)
        .policy(policy("staging"))
        .build()
        .unwrap();
    let key = staging
        .resolve_token(&task, &search, Operation::Read)
        .await
        .unwrap();
    assert_eq!(key.provider.as_deref(), Some("staging-search-key"));
}

#[tokio::test]
async fn a_pool_rotates_round_robin_and_skips_invalid_keys() {
    let vault = vault().await;
    let llm: Integration = "llm".parse().unwrap();
    let resolver = common::builder(&vault)
        .policy(policy("prod"))
        .build()
        .unwrap();
    let task = common::headless("keys-2");
    let mut seen: HashMap<std::sync::Arc<str>, usize> = HashMap::new();
    let mut last = None;
    for _ in 0..9 {
        let key = resolver
            .resolve_token(&task, &llm, Operation::Read)
            .await
            .unwrap();
        *seen.entry(key.provider.clone().unwrap()).or_default() += 1;
        last = Some(key);
    }
    assert_eq!(seen.len(), 3);
    assert!(seen.values().all(|n| *n == 3), "{seen:?}");
    assert_eq!(
        vault.call_count("GetResourceApiKey"),
        3,
        "each pool member is fetched once, then cached"
    );
    let invalid = last.unwrap();
    resolver.report_invalid_api_key(&invalid);
    for _ in 0..6 {
        let key = resolver
            .resolve_token(&task, &llm, Operation::Read)
            .await
            .unwrap();
        assert_ne!(key.provider, invalid.provider);
    }
}
