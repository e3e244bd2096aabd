//! One task's delegation graph (user → orchestrator → agent → target) as inline SVG, with
//! the flow and source of each resolution on the agent → target edges.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use deputy_core::audit::AuditRecord;

use super::escape;

const NODE_W: usize = 170;
const NODE_H: usize = 38;
const COL_GAP: usize = 60;
/// The agent → target gap is wide enough for the flow · source · operation labels.
const TARGET_GAP: usize = 280;
const ROW_GAP: usize = 34;
const MARGIN: usize = 16;

/// The column a node sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    User,
    Orchestrator,
    Agent,
    Target,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Orchestrator => "orchestrator",
            Kind::Agent => "agent",
            Kind::Target => "target",
        }
    }
}

fn column_x(column: usize) -> usize {
    let gaps = column.min(2) * COL_GAP + usize::from(column == 3) * TARGET_GAP;
    MARGIN + column * NODE_W + gaps
}

/// A node: its column and its name.
type Node = (Kind, String);

/// Nodes and edges of one task, deduplicated; an edge's labels count each resolution.
#[derive(Debug, Default)]
pub(super) struct Graph {
    nodes: BTreeMap<Node, usize>,
    edges: BTreeMap<(Node, Node), BTreeMap<String, usize>>,
}

impl Graph {
    pub(super) fn of(records: &[&AuditRecord]) -> Self {
        let mut graph = Graph::default();
        for record in records {
            let chain = record.asserted_chain.as_ref();
            let user = match chain.and_then(|c| c.user.as_ref()) {
                Some(user) => user.as_str().to_owned(),
                None => "(no user)".to_owned(),
            };
            let mut path = vec![(Kind::User, user)];
            if let Some(orchestrator) = chain.and_then(|c| c.orchestrator.as_ref()) {
                path.push((Kind::Orchestrator, orchestrator.clone()));
            }
            let agent = chain.map_or("(unknown agent)", |c| c.agent.as_str());
            path.push((Kind::Agent, agent.to_owned()));
            let target = match &record.correlation.repo {
                Some(repo) => format!("{} {}", record.integration, repo.as_str()),
                None => record.integration.to_string(),
            };
            path.push((Kind::Target, target));
            for node in &path {
                let next = graph.nodes.len();
                graph.nodes.entry(node.clone()).or_insert(next);
            }
            for pair in path.windows(2) {
                let labels = graph
                    .edges
                    .entry((pair[0].clone(), pair[1].clone()))
                    .or_default();
                if pair[1].0 == Kind::Target {
                    let flow = record.flow.as_deref().unwrap_or("none");
                    let label = match (record.source, &record.error_kind) {
                        (Some(source), _) => {
                            format!("{flow} · {} · {}", source.name(), record.operation)
                        }
                        (None, kind) => format!(
                            "{} ({}) · {flow} · {}",
                            super::refused_label(record.outcome),
                            kind.as_deref().unwrap_or("unknown"),
                            record.operation
                        ),
                    };
                    *labels.entry(label).or_default() += 1;
                }
            }
        }
        graph
    }

    /// The graph as an `<svg>` element.
    pub(super) fn svg(&self) -> String {
        let mut rows: BTreeMap<Kind, usize> = BTreeMap::new();
        let mut positions: BTreeMap<&Node, (usize, usize)> = BTreeMap::new();
        let mut ordered: Vec<(&Node, &usize)> = self.nodes.iter().collect();
        ordered.sort_by_key(|(node, first)| (node.0, **first));
        for (node, _) in ordered {
            let row = rows.entry(node.0).or_default();
            let column = node.0 as usize;
            let x = column_x(column);
            let y = MARGIN + *row * (NODE_H + ROW_GAP);
            positions.insert(node, (x, y));
            *row += 1;
        }
        let max_rows = rows.values().copied().max().unwrap_or(1);
        let width = column_x(3) + NODE_W + MARGIN;
        let height = 2 * MARGIN + max_rows * (NODE_H + ROW_GAP);
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg class="graph" role="img" aria-label="delegation graph" viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">"#
        );
        for ((from, to), labels) in &self.edges {
            let (Some(&(x1, y1)), Some(&(x2, y2))) = (positions.get(from), positions.get(to))
            else {
                continue;
            };
            let (ax, ay, bx, by) = (x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2);
            let label: Vec<String> = labels
                .iter()
                .map(|(l, n)| {
                    if *n > 1 {
                        format!("{l} ×{n}")
                    } else {
                        l.clone()
                    }
                })
                .collect();
            let label = escape(&label.join(", "));
            let _ = write!(
                svg,
                r##"<g class="edge" data-from="{}" data-to="{}" data-label="{label}"><line x1="{ax}" y1="{ay}" x2="{bx}" y2="{by}" stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>"##,
                escape(&from.1),
                escape(&to.1),
            );
            for (i, l) in labels.keys().enumerate() {
                let _ = write!(
                    svg,
                    r#"<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>"#,
                    (ax + bx) / 2,
                    (ay + by) / 2 - 4 - i * 12,
                    escape(l)
                );
            }
            svg.push_str("</g>");
        }
        for (node, (x, y)) in &positions {
            let missing = node.1.starts_with('(');
            let fill = if missing { "#fde2e2" } else { "#e8f0fe" };
            let _ = write!(
                svg,
                r##"<g class="node" data-kind="{}" data-name="{}"><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" stroke="#345"/><text x="{}" y="{}" font-size="11" text-anchor="middle">{}</text><text x="{}" y="{}" font-size="9" fill="#567" text-anchor="middle">{}</text></g>"##,
                node.0.name(),
                escape(&node.1),
                x + NODE_W / 2,
                y + 16,
                escape(&node.1),
                x + NODE_W / 2,
                y + 30,
                node.0.name(),
            );
        }
        svg.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs></svg>"##);
        svg
    }
}
