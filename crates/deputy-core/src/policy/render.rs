//! The table as Markdown a reviewer can read: one matrix per feature state, then the rules.

use std::fmt::Write as _;

use crate::flow::Flow;
use crate::{Operation, TriggerKind};

use super::decision::{Consent, Decision};
use super::table::PolicyTable;

impl PolicyTable {
    /// Renders the table as Markdown: a matrix of decisions per feature state, then every rule.
    ///
    /// ```
    /// let md = deputy_core::policy::PolicyTable::built_in().unwrap().to_markdown();
    /// assert!(md.contains("| github |"));
    /// ```
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let feature_names: Vec<&String> = self.features().keys().collect();
        for mask in 0u32..(1 << feature_names.len()) {
            let mut table = self.clone();
            let mut states = Vec::new();
            for (i, name) in feature_names.iter().enumerate() {
                let on = mask & (1 << i) != 0;
                states.push(format!("`{name}` {}", if on { "on" } else { "off" }));
                table = match table.with_feature(name, on) {
                    Ok(t) => t,
                    Err(_) => return out,
                };
            }
            if states.is_empty() {
                out.push_str("### Decisions\n\n");
            } else {
                let _ = writeln!(out, "### Decisions with {}\n", states.join(", "));
            }
            table.write_matrix(&mut out);
            out.push('\n');
        }
        out.push_str("### Rules\n\n| rule | line | integrations | triggers | operations | active | flow | provider | scopes | consent | SM fallback | repo auth | why |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for rule in self.rules() {
            let d = &rule.decision;
            let active = match (&rule.when, &rule.unless) {
                (Some(w), _) => format!("when `{w}`"),
                (_, Some(u)) => format!("unless `{u}`"),
                _ => "always".to_owned(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                rule.id,
                rule.line,
                rule.integrations,
                rule.triggers,
                rule.operations,
                active,
                flow_detail(&d.flow),
                d.provider
                    .as_deref()
                    .map_or("-".to_owned(), |p| format!("`{p}`")),
                if d.scopes.is_empty() {
                    "-".to_owned()
                } else {
                    d.scopes.join(" ")
                },
                consent_text(d),
                match (d.secrets_manager_fallback, d.fallback_replaces_user) {
                    (true, true) => "yes (replaces the user)",
                    (fallback, _) => yes_no(fallback),
                },
                yes_no(d.repo_authorization),
                rule.summary.as_deref().unwrap_or(""),
            );
        }
        out
    }

    fn write_matrix(&self, out: &mut String) {
        out.push_str("| integration |");
        for trigger in TriggerKind::ALL {
            for op in Operation::ALL {
                let _ = write!(out, " {trigger} {op} |");
            }
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(TriggerKind::ALL.len() * Operation::ALL.len()));
        out.push('\n');
        for integration in self.integrations() {
            let _ = write!(out, "| {integration} |");
            for trigger in TriggerKind::ALL {
                for op in Operation::ALL {
                    let cell = match self.decide_cell(integration, trigger, op) {
                        Ok(d) => cell_text(&d),
                        Err(_) => "(no rule)".to_owned(),
                    };
                    let _ = write!(out, " {cell} |");
                }
            }
            out.push('\n');
        }
    }
}

fn cell_text(d: &Decision) -> String {
    let mut text = match &d.flow {
        Flow::Deny { .. } => "**deny**".to_owned(),
        flow => format!("**{}**", flow.name()),
    };
    if let Some(provider) = &d.provider {
        let _ = write!(text, " `{provider}`");
    }
    match d.consent {
        Consent::FailClosed => text.push_str(" fail-closed"),
        Consent::Prompt => text.push_str(" prompt"),
        Consent::NotApplicable => {}
    }
    if d.consent_max_age.is_some() {
        text.push_str(" fresh-consent");
    }
    if d.repo_authorization {
        text.push_str(" +repo-auth");
    }
    text
}

fn consent_text(d: &Decision) -> String {
    match d.consent_max_age {
        Some(age) => format!(
            "{}, fresh (at most {} s old)",
            consent_name(d.consent),
            age.as_secs()
        ),
        None => consent_name(d.consent).to_owned(),
    }
}

fn flow_detail(flow: &Flow) -> String {
    match flow {
        Flow::OnBehalfOf { actor } => format!("on_behalf_of (actor {})", actor.wire_name()),
        Flow::GithubApp { permissions } => {
            let perms: Vec<String> = permissions
                .iter()
                .map(|(k, v)| format!("{k}:{v:?}"))
                .collect();
            format!("github_app ({})", perms.join(", ").to_lowercase())
        }
        Flow::Deny { reason } => format!("deny ({reason})"),
        other => other.name().to_owned(),
    }
}

fn consent_name(consent: Consent) -> &'static str {
    match consent {
        Consent::Prompt => "prompt",
        Consent::FailClosed => "fail_closed",
        Consent::NotApplicable => "-",
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}
