//! `deputy explain`: the decision for one request, with the reasoning trail.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;
use deputy_core::flow::Flow;
use deputy_core::policy::{Consent, Decision, Explanation};
use deputy_core::{Integration, Operation, TriggerKind};

use crate::policy::PolicySource;

/// Arguments of `deputy explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The integration: github, linear, jira, slack, aws-native, or a custom name.
    #[arg(long)]
    integration: Integration,
    /// How the task started: interactive, webhook or headless.
    #[arg(long)]
    trigger: TriggerKind,
    /// read or write.
    #[arg(long = "op")]
    operation: Operation,
    #[command(flatten)]
    source: PolicySource,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `deputy explain`. Exits 0 with a decision (deny included), 1 when no rule covers the request.
pub fn run(args: &ExplainArgs) -> Result<ExitCode, String> {
    let table = args.source.load()?;
    let explanation = table.explain(&args.integration, args.trigger, args.operation);
    if args.json {
        let json = serde_json::to_string_pretty(&explanation).map_err(|e| e.to_string())?;
        println!("{json}");
    } else {
        print!("{}", render(&explanation, table.source_name()));
    }
    Ok(if explanation.outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn render(e: &Explanation, source: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "request   {} (policy {source})", e.cell);
    match &e.outcome {
        Ok(d) => describe(&mut out, d),
        Err(no_rule) => {
            let _ = writeln!(out, "decision  none: {no_rule}");
        }
    }
    out.push_str("\ntrail\n");
    for consideration in &e.trail {
        let _ = writeln!(out, "  {consideration}");
    }
    out
}

fn describe(out: &mut String, d: &Decision) {
    let _ = writeln!(out, "decision  {} (rule {})", d.flow, d.rule_id);
    match &d.flow {
        Flow::OnBehalfOf { actor } => {
            let _ = writeln!(
                out,
                "  oauth2Flow        ON_BEHALF_OF_TOKEN_EXCHANGE, actorTokenContent {}",
                actor.wire_name()
            );
        }
        Flow::GithubApp { permissions } => {
            let perms: Vec<String> = permissions
                .iter()
                .map(|(k, v)| format!("{k}={v:?}").to_lowercase())
                .collect();
            let _ = writeln!(
                out,
                "  permissions       {} (repositories: the task's repository only)",
                perms.join(", ")
            );
        }
        Flow::Deny { reason } => {
            let _ = writeln!(out, "  reason            {reason}");
        }
        flow => {
            if let Some(wire) = flow.oauth2_flow() {
                let _ = writeln!(out, "  oauth2Flow        {wire}");
            }
        }
    }
    if let Some(provider) = &d.provider {
        let _ = writeln!(out, "  provider          {provider}");
    }
    for (label, values) in [
        ("scopes", &d.scopes),
        ("audiences", &d.audiences),
        ("resources", &d.resources),
    ] {
        if !values.is_empty() {
            let _ = writeln!(out, "  {label:<17} {}", values.join(" "));
        }
    }
    let consent = match d.consent {
        Consent::Prompt => {
            "prompt: return the authorization URL, or wait for the user with a consent handler"
        }
        Consent::FailClosed => {
            "fail closed: return ConsentRequired at once unless consent is on file"
        }
        Consent::NotApplicable => "not applicable",
    };
    let _ = writeln!(out, "  consent           {consent}");
    if let Some(age) = d.consent_max_age {
        let _ = writeln!(
            out,
            "  fresh consent     at most {} s old: a new consent is forced (forceAuthentication), never the vault's stored token",
            age.as_secs()
        );
    }
    let _ = writeln!(
        out,
        "  SM fallback       {}",
        if d.secrets_manager_fallback {
            "allowed when the vault is unavailable (and DEPUTY_FALLBACK is set)"
        } else {
            "never"
        }
    );
    let _ = writeln!(
        out,
        "  repo auth         {}",
        if d.repo_authorization {
            "required: a RepoAuthorizer must allow the repository first"
        } else {
            "not required"
        }
    );
}
