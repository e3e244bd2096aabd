//! `deputy audit ingest --follow FILE` as a process: a line appended to the followed file
//! comes out as a record while the process keeps running, a malformed line is reported on
//! stderr at once, and a rotated file is read from its start.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use deputy_tests::process::ChildGuard;

/// Generous: the child polls every 100 ms.
const DEADLINE: Duration = Duration::from_secs(20);

fn span_line(task: &str) -> String {
    let span = serde_json::json!({ "resourceSpans": [{ "scopeSpans": [{ "spans": [{
        "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
        "spanId": "00f067aa0ba902b7",
        "name": "deputy.resolve",
        "endTimeUnixNano": "1795000000000000000",
        "attributes": [
            { "key": "task_id", "value": { "stringValue": task } },
            { "key": "deputy.integration", "value": { "stringValue": "linear" } },
            { "key": "deputy.operation", "value": { "stringValue": "read" } },
            { "key": "deputy.flow", "value": { "stringValue": "m2m" } },
            { "key": "deputy.rule_id", "value": { "stringValue": "service-read" } },
            { "key": "deputy.source", "value": { "stringValue": "vault" } },
            { "key": "deputy.consent", "value": { "stringValue": "not_required" } },
            { "key": "deputy.actor_chain.asserted", "value": { "stringValue": "{\"agent\":\"deputy-agent\"}" } }
        ]
    }] }] }] });
    format!("{span}\n")
}

/// Lines of `reader`, as they come, on a channel.
fn lines(reader: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn append(path: &std::path::Path, text: &str) {
    let mut f = std::fs::File::options().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn followed_lines_become_records_live_and_errors_are_reported_at_once() {
    let dir = std::env::temp_dir().join(format!("deputy-follow-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("spans.jsonl");
    std::fs::write(&input, "").unwrap();
    let mut child = ChildGuard(
        Command::new(env!("CARGO_BIN_EXE_deputy"))
            .args(["audit", "ingest", "--follow", "--out", "-"])
            .arg(&input)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let records = lines(child.0.stdout.take().unwrap());
    let errors = lines(child.0.stderr.take().unwrap());

    append(&input, &span_line("t-live-1"));
    let record = records
        .recv_timeout(DEADLINE)
        .expect("a record while running");
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert_eq!(record["correlation"]["task_id"], "t-live-1");
    assert!(child.0.try_wait().unwrap().is_none(), "still running");

    append(&input, "not json\n");
    let error = errors.recv_timeout(DEADLINE).expect("the error at once");
    assert!(error.contains("line 2"), "{error}");

    // Rotated: a new file takes the path; it is read from its start.
    let rotated = dir.join("spans.jsonl.new");
    std::fs::write(&rotated, span_line("t-live-2")).unwrap();
    std::fs::rename(&rotated, &input).unwrap();
    let record = records
        .recv_timeout(DEADLINE)
        .expect("a record from the new file");
    assert!(record.contains("\"t-live-2\""), "{record}");
    assert!(child.0.try_wait().unwrap().is_none(), "still running");
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
