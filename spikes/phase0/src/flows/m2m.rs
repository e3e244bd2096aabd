//! M2M: a workload-only WAT, then client credentials through the vault.

use aws_sdk_bedrockagentcore::types::Oauth2FlowType;

use crate::claims;
use crate::context::{Context, sdk_error};
use crate::record::{SpikeRecord, Status};

/// The calls the M2M spike makes.
pub const PLAN: [&str; 6] = [
    "bedrock-agentcore-control:CreateWorkloadIdentity name=phase0-m2m-<suffix>",
    "bedrock-agentcore-control:CreateOauth2CredentialProvider CustomOauth2 (discovery URL, client id/secret)",
    "bedrock-agentcore:GetWorkloadAccessToken workloadName=<workload>",
    "bedrock-agentcore:GetResourceOauth2Token oauth2Flow=M2M",
    "bedrock-agentcore-control:DeleteOauth2CredentialProvider",
    "bedrock-agentcore-control:DeleteWorkloadIdentity",
];

/// Runs the M2M checks.
pub async fn run(ctx: &mut Context, record: &mut SpikeRecord) -> Result<(), String> {
    let arn = ctx.create_workload(None).await?;
    record.push(
        "workload_identity_created",
        Status::Pass,
        format!("arn {arn}"),
    );
    let callback = ctx.create_provider(false).await?;
    record.push(
        "provider_created",
        Status::Pass,
        format!("callbackUrl {callback}"),
    );
    let wat = ctx
        .data
        .get_workload_access_token()
        .workload_name(&ctx.workload)
        .send()
        .await
        .map_err(|e| format!("GetWorkloadAccessToken: {}", sdk_error(&e)))?;
    record.push(
        "workload_access_token",
        Status::Pass,
        format!(
            "opaque token of {} characters",
            wat.workload_access_token().len()
        ),
    );
    let token = ctx
        .data
        .get_resource_oauth2_token()
        .workload_identity_token(wat.workload_access_token())
        .resource_credential_provider_name(&ctx.provider)
        .set_scopes(Some(ctx.args.scopes.clone()))
        .oauth2_flow(Oauth2FlowType::M2M)
        .send()
        .await
        .map_err(|e| format!("GetResourceOauth2Token (M2M): {}", sdk_error(&e)))?;
    let Some(access) = token.access_token() else {
        record.push(
            "m2m_token_issued",
            Status::Fail,
            "the vault answered without an access token",
        );
        return Ok(());
    };
    record.push(
        "m2m_token_issued",
        Status::Pass,
        format!("access token of {} characters", access.len()),
    );
    match claims::payload(access) {
        Ok(c) => {
            let sub = c.get("sub").and_then(|v| v.as_str()).unwrap_or_default();
            let client = c.get("client_id").and_then(|v| v.as_str()).unwrap_or(sub);
            let ok = client == ctx.client_id;
            record.push(
                "m2m_token_is_the_clients",
                if ok { Status::Pass } else { Status::Fail },
                claims::evidence(&c),
            );
        }
        Err(e) => record.push(
            "m2m_token_is_the_clients",
            Status::Skipped,
            format!("opaque token: {e}"),
        ),
    }
    Ok(())
}
