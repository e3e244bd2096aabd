//! Documentation that is generated from code must match the code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use deputy_core::policy::PolicyTable;

#[test]
fn decision_table_doc_shows_the_built_in_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/decision-table.md");
    let doc = std::fs::read_to_string(path).expect("docs/decision-table.md exists");
    let rendered = PolicyTable::built_in().unwrap().to_markdown();
    assert!(
        doc.ends_with(&rendered),
        "docs/decision-table.md is out of date: regenerate its last section with `cargo run -q -p deputy-cli -- policy show`"
    );
}

#[test]
fn every_attribute_name_is_namespaced_or_part_of_the_envelope() {
    let envelope = ["task_id", "user_id", "repo", "trace_id", "session_id"];
    let mut seen = std::collections::BTreeSet::new();
    for name in deputy_core::attr::ALL {
        assert!(seen.insert(name), "{name} listed twice");
        assert!(
            envelope.contains(&name) || name.starts_with("deputy.") || name.starts_with("mcp."),
            "{name} is neither namespaced nor an envelope field"
        );
    }
}

#[test]
fn readme_example_is_the_compiled_example() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example =
        std::fs::read_to_string(format!("{root}/crates/deputy/examples/agent.rs")).unwrap();
    let block = readme
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```\n").next())
        .unwrap();
    let body = example.split_once("\n\n").map(|(_, body)| body).unwrap();
    assert_eq!(
        block, body,
        "README's agent example drifted from crates/deputy/examples/agent.rs"
    );
}
