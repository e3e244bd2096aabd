//! The HTML report, opened in headless Chromium: a screenshot, and DOM assertions on the
//! counts, each task's delegation graph and the findings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fingerprint, line, resolve_span, set, span};
use deputy_audit::pipeline::{JsonLinesSink, run_lines};
use deputy_audit::{Finding, Pipeline};
use deputy_core::attr;
use deputy_core::audit::AuditRecord;
use deputy_tests::webdriver::Browser;
use serde_json::json;

fn records_and_findings() -> (Vec<AuditRecord>, Vec<Finding>) {
    let alice = resolve_span("task-alice", Some("dev+alice"), "write", &fingerprint(1));
    let mut alice_obo = resolve_span("task-alice", Some("dev+alice"), "read", &fingerprint(2));
    set(
        &mut alice_obo,
        attr::INTEGRATION,
        json!({ "stringValue": "aws-native" }),
    );
    set(
        &mut alice_obo,
        attr::FLOW,
        json!({ "stringValue": "on_behalf_of" }),
    );
    let observed = json!({ "subject": { "sub": "mallory" }, "actors": [{ "sub": "rogue-agent" }] });
    set(
        &mut alice_obo,
        attr::ACTOR_CHAIN_OBSERVED,
        json!({ "stringValue": observed.to_string() }),
    );
    let mut nightly = resolve_span("task-nightly", None, "write", &fingerprint(3));
    set(
        &mut nightly,
        attr::SOURCE,
        json!({ "stringValue": "secrets-manager-fallback" }),
    );
    set(&mut nightly, attr::FLOW, json!({ "stringValue": "m2m" }));
    let mut leak = resolve_span("task-leak", Some("dev+bob"), "read", &fingerprint(4));
    set(
        &mut leak,
        "debug",
        json!({ "stringValue": "ghp_0123456789abcdefABCDEF0123" }),
    );
    let input = line(vec![
        span(1, attr::SPAN_RESOLVE, &alice),
        span(2, attr::SPAN_RESOLVE, &alice_obo),
        span(3, attr::SPAN_RESOLVE, &nightly),
        span(4, attr::SPAN_RESOLVE, &leak),
    ]);
    let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
    run_lines(&mut Pipeline::default(), input.as_bytes(), &mut sink).unwrap();
    let parse = |b: Vec<u8>| {
        String::from_utf8(b)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    (
        parse(sink.records)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        parse(sink.findings)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_renders_graphs_findings_and_counts_in_chromium() {
    let (records, findings) = records_and_findings();
    assert_eq!(records.len(), 3);
    let html = deputy_audit::report::render(&records, &findings);
    assert!(!html.contains("ghp_0123456789abcdefABCDEF0123"));
    let dir = std::env::temp_dir().join(format!("deputy-audit-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, &html).unwrap();

    let browser = Browser::launch().await;
    browser.goto(&format!("file://{}", page.display())).await;
    let dom = browser
        .eval(
            r#"
            const count = k => document.querySelector(`[data-count="${k}"]`)?.textContent;
            const tasks = {};
            for (const s of document.querySelectorAll('section.task')) {
              tasks[s.dataset.taskId] = {
                nodes: [...s.querySelectorAll('g.node')].map(n => n.dataset.kind + ':' + n.dataset.name),
                edges: [...s.querySelectorAll('g.edge')].map(e => e.dataset.from + '>' + e.dataset.to + '|' + e.dataset.label),
                rules: [...s.querySelectorAll('tr.finding')].map(r => r.dataset.rule),
                graphWidth: s.querySelector('svg.graph')?.getBoundingClientRect().width ?? 0,
              };
            }
            return {
              title: document.title,
              records: count('records'), tasks: count('tasks'), findings: count('findings'),
              fallback: count('rule:secrets_manager_fallback'), material: count('rule:token_material'),
              viaFallback: count('source:secrets-manager-fallback'),
              byTask: tasks,
              resources: performance.getEntriesByType('resource').length,
              scripts: document.scripts.length,
              text: document.body.innerText,
            };"#,
        )
        .await;
    let png = browser.screenshot().await;
    browser.close().await;
    std::fs::write(dir.join("report.png"), &png).unwrap();

    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "screenshot of {} bytes",
        png.len()
    );
    assert_eq!(dom["title"], "deputy audit report");
    assert_eq!(
        (
            dom["records"].as_str(),
            dom["tasks"].as_str(),
            dom["findings"].as_str()
        ),
        (Some("3"), Some("2"), Some("4")),
        "{dom:#}"
    );
    assert_eq!(
        (
            dom["fallback"].as_str(),
            dom["material"].as_str(),
            dom["viaFallback"].as_str()
        ),
        (Some("1"), Some("1"), Some("1"))
    );
    assert_eq!(dom["resources"], 0, "the report loads nothing from outside");
    assert_eq!(dom["scripts"], 0);

    let alice = &dom["byTask"]["task-alice"];
    let nodes: Vec<&str> = alice["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for expected in [
        "user:dev+alice",
        "orchestrator:orchestrator",
        "agent:deputy-agent",
        "target:github octo-org/infra",
        "target:aws-native octo-org/infra",
    ] {
        assert!(nodes.contains(&expected), "{expected} not in {nodes:?}");
    }
    let edges: Vec<&str> = alice["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(edges.contains(&"dev+alice>orchestrator|"), "{edges:?}");
    assert!(edges.contains(&"orchestrator>deputy-agent|"), "{edges:?}");
    assert!(
        edges.contains(&"deputy-agent>github octo-org/infra|user_federation · vault · write"),
        "{edges:?}"
    );
    assert!(
        edges.contains(&"deputy-agent>aws-native octo-org/infra|on_behalf_of · vault · read"),
        "{edges:?}"
    );
    assert_eq!(alice["rules"], json!(["chain_disagreement"]));
    assert!(alice["graphWidth"].as_f64().unwrap() > 300.0);

    let nightly = &dom["byTask"]["task-nightly"];
    let nodes: Vec<&str> = nightly["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(nodes.contains(&"user:(no user)"), "{nodes:?}");
    assert!(nightly["edges"].as_array().unwrap().iter().any(|e| {
        e.as_str()
            .unwrap()
            .ends_with("|m2m · secrets-manager-fallback · write")
    }));
    assert_eq!(
        nightly["rules"],
        json!(["write_without_user", "secrets_manager_fallback"])
    );

    let refused = &dom["byTask"][""];
    assert_eq!(refused["rules"], json!(["token_material"]));
    let text = dom["text"].as_str().unwrap();
    assert!(text.contains("Task task-nightly"),);
    assert!(!text.contains("ghp_0123456789abcdefABCDEF0123"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Span strings an attacker controls (a user id, a rule id, a provider) hold
/// script tags, `javascript:` URLs and attribute-breaking quotes: the report shows them as
/// text, runs nothing, links nowhere, and says so in its Content-Security-Policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_span_strings_run_nothing_in_the_report() {
    let hostile = [
        (
            attr::RULE_ID,
            r#""><script>window.pwned=1</script><b a=" onmouseover="window.pwned=3"#,
        ),
        (attr::PROVIDER, "javascript:window.pwned=2"),
    ];
    let mut span_attrs = resolve_span(
        "task-hostile",
        Some(r#"dev+"><img/src/onerror=window.pwned=4>"#),
        "read",
        &fingerprint(9),
    );
    for (key, value) in hostile {
        set(&mut span_attrs, key, json!({ "stringValue": value }));
    }
    let input = line(vec![span(9, attr::SPAN_RESOLVE, &span_attrs)]);
    let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
    run_lines(&mut Pipeline::default(), input.as_bytes(), &mut sink).unwrap();
    let records: Vec<AuditRecord> = String::from_utf8(sink.records)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        records.len(),
        1,
        "the hostile span is a record: {}",
        String::from_utf8_lossy(&sink.findings)
    );
    let html = deputy_audit::report::render(&records, &[]);
    assert!(html.contains("http-equiv=\"Content-Security-Policy\""));
    assert!(!html.contains("<script>window.pwned"));
    let dir = std::env::temp_dir().join(format!("deputy-audit-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, &html).unwrap();

    let browser = Browser::launch().await;
    browser.goto(&format!("file://{}", page.display())).await;
    let dom = browser
        .eval(
            r#"
            for (const el of document.querySelectorAll('*')) {
              el.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
            }
            return {
              pwned: window.pwned ?? null,
              scripts: document.scripts.length,
              handlers: [...document.querySelectorAll('*')]
                .flatMap(el => [...el.attributes].map(a => a.name))
                .filter(name => name.startsWith('on')).length,
              javascriptLinks: [...document.querySelectorAll('[href],[src],[action]')]
                .filter(el => /^\s*javascript:/i.test(el.getAttribute('href') ?? el.getAttribute('src') ?? el.getAttribute('action') ?? '')).length,
              csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content ?? '',
              text: document.body.innerText,
            };"#,
        )
        .await;
    browser.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(dom["pwned"], serde_json::Value::Null, "{dom:#}");
    assert_eq!(dom["scripts"], 0);
    assert_eq!(
        dom["handlers"], 0,
        "no event-handler attribute was injected"
    );
    assert_eq!(dom["javascriptLinks"], 0);
    assert!(
        dom["csp"].as_str().unwrap().contains("script-src 'none'"),
        "{dom:#}"
    );
    // The hostile user id is there, as text.
    let text = dom["text"].as_str().unwrap();
    assert!(
        text.contains(r#"dev+"><img/src/onerror=window.pwned=4>"#),
        "{text}"
    );
}
