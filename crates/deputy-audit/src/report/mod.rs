//! The self-contained HTML audit report: per task, the delegation graph, the findings and the
//! counts. No scripts, styles or images are loaded from anywhere.

mod graph;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use deputy_core::audit::{AuditRecord, Outcome};

use crate::finding::{Finding, Rule};
use crate::invariants::InvariantChecker;

/// Renders the report for `records`, re-checking every invariant over them in order, plus
/// `extra` findings that have no record (token material the pipeline refused to write).
///
/// ```
/// let html = deputy_audit::report::render(&[], &[]);
/// assert!(html.starts_with("<!DOCTYPE html>"));
/// assert!(html.contains(r#"data-count="records">0<"#));
/// ```
pub fn render(records: &[AuditRecord], extra: &[Finding]) -> String {
    let mut checker = InvariantChecker::default();
    let mut findings: Vec<Finding> = records.iter().flat_map(|r| checker.check(r)).collect();
    findings.extend(extra.iter().filter(|f| f.record.is_none()).cloned());

    let mut tasks: BTreeMap<&str, Vec<&AuditRecord>> = BTreeMap::new();
    for record in records {
        tasks
            .entry(record.correlation.task_id.as_str())
            .or_default()
            .push(record);
    }
    let mut by_rule: BTreeMap<Rule, usize> = BTreeMap::new();
    for finding in &findings {
        *by_rule.entry(finding.rule).or_default() += 1;
    }
    let mut by_source: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_flow: BTreeMap<&str, usize> = BTreeMap::new();
    for record in records {
        // A refusal has no source: it is counted under its outcome (`refused: denied`, …).
        let source = match record.source {
            Some(source) => source.name(),
            None => refused_label(record.outcome),
        };
        *by_source.entry(source).or_default() += 1;
        *by_flow
            .entry(record.flow.as_deref().unwrap_or("none"))
            .or_default() += 1;
    }

    let mut html = String::with_capacity(16 * 1024);
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    // Defence in depth behind the escaping: nothing loads, nothing runs, nothing submits.
    html.push_str(CONTENT_SECURITY_POLICY);
    html.push_str("<title>deputy audit report</title><style>");
    html.push_str(STYLE);
    html.push_str("</style></head><body><h1>deputy audit report</h1>");
    html.push_str(r#"<section id="counts"><h2>Counts</h2><table>"#);
    count_row(&mut html, "records", "records", records.len());
    count_row(&mut html, "tasks", "tasks", tasks.len());
    count_row(&mut html, "findings", "findings", findings.len());
    for rule in Rule::ALL {
        let n = by_rule.get(&rule).copied().unwrap_or(0);
        count_row(
            &mut html,
            &format!("rule:{}", rule.name()),
            rule.summary(),
            n,
        );
    }
    for (source, n) in &by_source {
        count_row(
            &mut html,
            &format!("source:{source}"),
            &format!("source {source}"),
            *n,
        );
    }
    for (flow, n) in &by_flow {
        count_row(
            &mut html,
            &format!("flow:{flow}"),
            &format!("flow {flow}"),
            *n,
        );
    }
    html.push_str("</table></section>");

    for (task, records) in &tasks {
        let _ = write!(
            html,
            r#"<section class="task" data-task-id="{t}"><h2>Task {t}</h2><p class="summary">{n} resolution(s); trace {trace}</p>"#,
            t = escape(task),
            n = records.len(),
            trace = escape(
                records
                    .iter()
                    .find_map(|r| r.correlation.trace_id.as_ref())
                    .map_or("(none)", |t| t.as_str())
            ),
        );
        html.push_str(&graph::Graph::of(records).svg());
        let task_findings: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.task_id() == Some(task))
            .collect();
        findings_table(&mut html, &task_findings);
        html.push_str("</section>");
    }
    let orphans: Vec<&Finding> = findings.iter().filter(|f| f.record.is_none()).collect();
    if !orphans.is_empty() {
        html.push_str(r#"<section class="task" data-task-id=""><h2>Spans refused</h2>"#);
        findings_table(&mut html, &orphans);
        html.push_str("</section>");
    }
    html.push_str("</body></html>\n");
    html
}

/// How the report names a refusal's outcome (`refused: denied`, …).
fn refused_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Issued => "issued",
        Outcome::Denied => "refused: denied",
        Outcome::ConsentPending => "refused: consent_pending",
        Outcome::Failed => "refused: failed",
    }
}

fn count_row(html: &mut String, key: &str, label: &str, n: usize) {
    let _ = write!(
        html,
        r#"<tr><th>{}</th><td data-count="{}">{n}</td></tr>"#,
        escape(label),
        escape(key)
    );
}

fn findings_table(html: &mut String, findings: &[&Finding]) {
    if findings.is_empty() {
        html.push_str(r#"<p class="clean">No findings.</p>"#);
        return;
    }
    html.push_str(
        r#"<table class="findings"><tr><th>rule</th><th>finding</th><th>where</th></tr>"#,
    );
    for finding in findings {
        let place = match (&finding.record, &finding.span) {
            (Some(record), _) => format!(
                "{} {} rule {}",
                record.integration,
                record.operation,
                record.rule_id.as_deref().unwrap_or("none")
            ),
            (None, Some(span)) => format!(
                "span {} in trace {}{}",
                span.span_id,
                span.trace_id,
                span.line.map(|l| format!(", line {l}")).unwrap_or_default()
            ),
            (None, None) => String::new(),
        };
        let _ = write!(
            html,
            r#"<tr class="finding" data-rule="{r}"><td>{r}</td><td>{m}</td><td>{p}</td></tr>"#,
            r = finding.rule.name(),
            m = escape(&finding.message),
            p = escape(&place),
        );
    }
    html.push_str("</table>");
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#123}\
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ccd;padding:4px 8px;text-align:left;font-size:13px}\
section.task{border-top:2px solid #345;margin-top:24px;padding-top:8px}\
tr.finding td:first-child{color:#a00;font-weight:600}.clean{color:#080}svg.graph{display:block;max-width:100%}";

/// The report's Content-Security-Policy: no script, no fetch, no form target, no base URL; only
/// its own inline style and inline SVG.
const CONTENT_SECURITY_POLICY: &str = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; base-uri 'none'; form-action 'none'\">";

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
