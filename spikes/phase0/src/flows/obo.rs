//! On-behalf-of: a JWT-bound WAT, then RFC 8693 token exchange with an M2M actor token;
//! the issued token's `act` must name the actor client.

use aws_sdk_bedrockagentcore::types::Oauth2FlowType;

use crate::claims;
use crate::context::{Context, sdk_error};
use crate::record::{SpikeRecord, Status};

/// The calls the OBO spike makes.
pub const PLAN: [&str; 6] = [
    "bedrock-agentcore-control:CreateWorkloadIdentity name=phase0-on-behalf-of-<suffix>",
    "bedrock-agentcore-control:CreateOauth2CredentialProvider CustomOauth2 with onBehalfOfTokenExchangeConfig {grantType=TOKEN_EXCHANGE, actorTokenContent=M2M}",
    "bedrock-agentcore:GetWorkloadAccessTokenForJWT workloadName=<workload> userToken=<user JWT>",
    "bedrock-agentcore:GetResourceOauth2Token oauth2Flow=ON_BEHALF_OF_TOKEN_EXCHANGE",
    "bedrock-agentcore-control:DeleteOauth2CredentialProvider",
    "bedrock-agentcore-control:DeleteWorkloadIdentity",
];

/// Runs the OBO checks.
pub async fn run(ctx: &mut Context, record: &mut SpikeRecord) -> Result<(), String> {
    let user_jwt = crate::user_jwt(&ctx.args).await?;
    let user_sub = claims::payload(&user_jwt)?
        .get("sub")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| "the user JWT has no sub".to_owned())?;
    let arn = ctx.create_workload(None).await?;
    record.push(
        "workload_identity_created",
        Status::Pass,
        format!("arn {arn}"),
    );
    let callback = ctx.create_provider(true).await?;
    record.push(
        "provider_created",
        Status::Pass,
        format!("callbackUrl {callback}; actorTokenContent=M2M"),
    );
    let wat = ctx
        .data
        .get_workload_access_token_for_jwt()
        .workload_name(&ctx.workload)
        .user_token(&user_jwt)
        .send()
        .await
        .map_err(|e| format!("GetWorkloadAccessTokenForJWT: {}", sdk_error(&e)))?;
    record.push(
        "jwt_bound_workload_access_token",
        Status::Pass,
        format!("bound to the user JWT of sub={user_sub}"),
    );
    let token = ctx
        .data
        .get_resource_oauth2_token()
        .workload_identity_token(wat.workload_access_token())
        .resource_credential_provider_name(&ctx.provider)
        .set_scopes(Some(ctx.args.scopes.clone()))
        .oauth2_flow(Oauth2FlowType::OnBehalfOfTokenExchange)
        .send()
        .await
        .map_err(|e| {
            format!(
                "GetResourceOauth2Token (ON_BEHALF_OF_TOKEN_EXCHANGE): {}",
                sdk_error(&e)
            )
        })?;
    let Some(access) = token.access_token() else {
        record.push(
            "obo_token_issued",
            Status::Fail,
            "the vault answered without an access token",
        );
        return Ok(());
    };
    record.push(
        "obo_token_issued",
        Status::Pass,
        format!("access token of {} characters", access.len()),
    );
    let c = claims::payload(access)?;
    let sub = c.get("sub").and_then(|v| v.as_str()).unwrap_or_default();
    record.push(
        "obo_subject_is_the_user",
        if sub == user_sub {
            Status::Pass
        } else {
            Status::Fail
        },
        format!("token sub={sub:?}, user sub={user_sub:?}"),
    );
    let actor = c
        .get("act")
        .and_then(|a| a.get("sub"))
        .and_then(|v| v.as_str());
    record.push(
        "obo_act_names_the_m2m_actor",
        if actor == Some(ctx.client_id.as_str()) {
            Status::Pass
        } else {
            Status::Fail
        },
        format!(
            "act.sub={actor:?}, expected the actor client {:?}; {}",
            ctx.client_id,
            claims::evidence(&c)
        ),
    );
    Ok(())
}
