//! Phase 0 spikes: binaries that re-validate `USER_FEDERATION`, on-behalf-of and `M2M` against a
//! real AWS account (`--region`) or the local vault (`--endpoint`). Each creates a throwaway
//! workload identity and credential provider through the control plane, runs its flow,
//! verifies what came back, deletes what it created (also on failure) and writes a dated JSON
//! record with every check and the overall GO / GO-LIKELY / NO-GO. Tokens never appear in the
//! record: evidence names claims, hosts and parameter names.
//!
//! ```no_run
//! # async fn demo() {
//! use clap::Parser;
//! let args = phase0::args::Args::parse_from(["phase0-m2m", "--endpoint", "http://127.0.0.1:8787"]);
//! let code = phase0::run(phase0::SpikeFlow::M2m, args).await;
//! # let _ = code; }
//! ```

pub mod args;
pub mod claims;
pub mod context;
mod flows;
pub mod record;
mod return_url;

use std::process::ExitCode;

use args::Args;
use context::Context;
use record::{SpikeRecord, Status, Verdict};

/// Which spike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpikeFlow {
    /// `phase0-user-federation`.
    UserFederation,
    /// `phase0-obo`.
    OnBehalfOf,
    /// `phase0-m2m`.
    M2m,
}

impl SpikeFlow {
    /// The flow name in the record.
    pub fn name(self) -> &'static str {
        match self {
            SpikeFlow::UserFederation => "user_federation",
            SpikeFlow::OnBehalfOf => "on_behalf_of",
            SpikeFlow::M2m => "m2m",
        }
    }

    fn plan(self) -> &'static [&'static str] {
        match self {
            SpikeFlow::UserFederation => &flows::federation::PLAN,
            SpikeFlow::OnBehalfOf => &flows::obo::PLAN,
            SpikeFlow::M2m => &flows::m2m::PLAN,
        }
    }
}

/// Runs one spike and writes its record; exit 0 for GO and GO-LIKELY, 1 for NO-GO.
pub async fn run(flow: SpikeFlow, args: Args) -> ExitCode {
    let (kind, target) = args.target();
    let mut record = SpikeRecord::new(flow.name(), kind, &target);
    if args.dry_run {
        record.dry_run = true;
        for (i, call) in flow.plan().iter().enumerate() {
            println!("phase0 dry run {}: {call}", i + 1);
            record.push(
                &format!("step_{}", i + 1),
                Status::Skipped,
                format!("dry run: {call}"),
            );
        }
    } else {
        match Context::new(args.clone(), flow.name()).await {
            Ok(mut ctx) => {
                let outcome = match flow {
                    SpikeFlow::UserFederation => {
                        flows::federation::run(&mut ctx, &mut record).await
                    }
                    SpikeFlow::OnBehalfOf => flows::obo::run(&mut ctx, &mut record).await,
                    SpikeFlow::M2m => flows::m2m::run(&mut ctx, &mut record).await,
                };
                if let Err(message) = outcome {
                    record.push("run", Status::Fail, message);
                }
                ctx.cleanup(&mut record).await;
            }
            Err(message) => record.push("setup", Status::Fail, message),
        }
    }
    let verdict = record.finish();
    let json = match serde_json::to_string_pretty(&record) {
        Ok(json) => json,
        Err(e) => {
            eprintln!("phase0: cannot write the record: {e}");
            return ExitCode::FAILURE;
        }
    };
    match &args.out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, format!("{json}\n")) {
                eprintln!("phase0: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
        None => println!("{json}"),
    }
    eprintln!(
        "phase0 {}: {}",
        flow.name(),
        serde_json::to_string(&verdict).unwrap_or_default()
    );
    if verdict == Verdict::NoGo {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The inbound user JWT: `--user-jwt`/`PHASE0_USER_JWT`, or with `--endpoint` one from the
/// local dev IdP for `--user`.
pub(crate) async fn user_jwt(args: &Args) -> Result<String, String> {
    if let Some(jwt) = &args.user_jwt {
        return Ok(jwt.clone());
    }
    let Some(endpoint) = &args.endpoint else {
        return Err("PHASE0_USER_JWT (or --user-jwt) is required with --region: an inbound user JWT your workload accepts".to_owned());
    };
    let password = args.password.clone().unwrap_or_else(|| args.user.clone());
    let mut form = reqwest::Url::parse("http://form.invalid/").map_err(|e| e.to_string())?;
    form.query_pairs_mut()
        .append_pair("username", &args.user)
        .append_pair("password", &password)
        .append_pair("audience", "deputy");
    let response = reqwest::Client::new()
        .post(format!(
            "{}/idp/dev/user-token",
            endpoint.trim_end_matches('/')
        ))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form.query().unwrap_or_default().to_owned())
        .send()
        .await
        .map_err(|e| format!("cannot reach the local dev IdP at {endpoint}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!(
            "the local dev IdP refused a token for {}: HTTP {}",
            args.user,
            response.status()
        ));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| format!("dev IdP answer: {e}"))?;
    ["access_token", "id_token", "token", "user_token"]
        .iter()
        .find_map(|k| body.get(*k).and_then(|v| v.as_str()).map(str::to_owned))
        .ok_or_else(|| "the dev IdP answer has no token".to_owned())
}
