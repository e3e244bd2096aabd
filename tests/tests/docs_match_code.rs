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

/// Every file and test function the threat table in `docs/security.md` names as a proof
/// exists in the workspace (and so runs under the README's test command).
#[test]
fn every_proof_the_threat_table_names_exists() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let doc = std::fs::read_to_string(root.join("docs/security.md")).unwrap();
    let mut sources = Vec::new();
    for dir in ["crates", "tests", "spikes"] {
        collect_rust_files(&root.join(dir), &mut sources);
    }
    let texts: Vec<(String, String)> = sources
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(p).unwrap())
        })
        .collect();
    let table = doc
        .lines()
        .skip_while(|l| !l.starts_with("| threat |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'));
    let mut checked = 0;
    for row in table {
        let proof = row.trim_end_matches('|').rsplit('|').next().unwrap();
        for quoted in proof.split('`').skip(1).step_by(2) {
            for part in quoted.split("::") {
                let part = part.trim();
                if let Some(file) = part
                    .strip_suffix(".rs")
                    .or_else(|| part.strip_suffix(".py"))
                    .map(|_| part.rsplit('/').next().unwrap())
                {
                    assert!(
                        texts.iter().any(|(name, _)| name == file),
                        "docs/security.md names {file}, which does not exist"
                    );
                    checked += 1;
                } else if part.len() > 12
                    && part.matches('_').count() >= 2
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                {
                    let needle = format!("fn {part}(");
                    let python = format!("def {part}(");
                    assert!(
                        texts
                            .iter()
                            .any(|(_, text)| text.contains(&needle) || text.contains(&python)),
                        "docs/security.md names the test {part}, which does not exist"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 30, "the threat table names {checked} proofs");
}

fn collect_rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.ends_with("target") {
            collect_rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "py") {
            out.push(path);
        }
    }
}
