//! The decision-table loader on arbitrary TOML.
//!
//! Properties of every table that loads: loading is deterministic; it declares at most
//! `MAX_FEATURES` features; under every feature combination each cell of every integration is
//! decided by exactly one active rule, and `explain` agrees with `decide_cell`; no decision
//! gives a headless task a user flow, OBO to a webhook, or a GitHub write without repository
//! authorization; the Markdown rendering names every rule.
#![no_main]

use deputy_core::flow::Flow;
use deputy_core::policy::{MAX_FEATURES, PolicyTable};
use deputy_core::{Integration, Operation, TriggerKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let loaded = PolicyTable::from_toml("fuzz.toml", text);
    let again = PolicyTable::from_toml("fuzz.toml", text);
    let table = match (loaded, again) {
        (Ok(table), Ok(again)) => {
            assert_eq!(table, again, "loading the same text twice gave two tables");
            table
        }
        (Err(e), Err(again)) => {
            assert_eq!(e.to_string(), again.to_string());
            return;
        }
        _ => panic!("loading the same text twice gave Ok once and Err once"),
    };
    assert!(table.features().len() <= MAX_FEATURES);
    let names: Vec<String> = table.features().keys().cloned().collect();
    for mask in 0u32..(1 << names.len()) {
        let mut state = table.clone();
        for (i, name) in names.iter().enumerate() {
            state = state.with_feature(name, mask & (1 << i) != 0).unwrap();
        }
        check_every_cell(&state);
    }
    assert!(
        table
            .clone()
            .with_feature("\u{0}not-declared", true)
            .is_err()
    );
    let markdown = table.to_markdown();
    for rule in table.rules() {
        assert!(
            markdown.contains(&format!("`{}`", rule.id)),
            "rule {:?} not rendered",
            rule.id
        );
    }
});

fn check_every_cell(table: &PolicyTable) {
    let on = |f: &str| table.features().get(f).copied().unwrap_or(false);
    for integration in table.integrations() {
        for trigger in TriggerKind::ALL {
            for operation in Operation::ALL {
                let firing = table
                    .rules()
                    .iter()
                    .filter(|r| r.is_active(on) && r.covers(integration, trigger, operation))
                    .count();
                assert_eq!(
                    firing, 1,
                    "{integration} {trigger:?} {operation:?}: {firing} rules"
                );
                let decision = table.decide_cell(integration, trigger, operation).unwrap();
                let explanation = table.explain(integration, trigger, operation);
                assert_eq!(explanation.outcome.as_ref(), Ok(&decision));
                assert_eq!(explanation.trail.len(), table.rules().len());
                if trigger == TriggerKind::Headless {
                    assert!(
                        !decision.flow.needs_user(),
                        "headless {integration} gets {}",
                        decision.flow
                    );
                }
                if trigger == TriggerKind::Webhook {
                    assert!(!matches!(decision.flow, Flow::OnBehalfOf { .. }));
                }
                if *integration == Integration::Github
                    && operation == Operation::Write
                    && !decision.is_deny()
                {
                    assert!(
                        decision.repo_authorization,
                        "GitHub write without repo authorization"
                    );
                }
            }
        }
    }
}
