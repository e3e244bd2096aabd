//! USER_FEDERATION (3LO): the authorization URL, the PAR check, consent (or its timeout),
//! session binding, and polling for the token.

use std::time::Duration;

use aws_sdk_bedrockagentcore::types::{Oauth2FlowType, UserIdentifier};

use crate::claims;
use crate::context::{Context, sdk_error};
use crate::record::{SpikeRecord, Status};
use crate::return_url;

/// The calls the 3LO spike makes.
pub const PLAN: [&str; 9] = [
    "bedrock-agentcore-control:CreateWorkloadIdentity name=phase0-user-federation-<suffix> allowedResourceOauth2ReturnUrls=[<return url>]",
    "bedrock-agentcore-control:CreateOauth2CredentialProvider CustomOauth2 (discovery URL, client id/secret)",
    "bedrock-agentcore:GetWorkloadAccessTokenForUserId (or ForJWT with PHASE0_USER_JWT)",
    "bedrock-agentcore:GetResourceOauth2Token oauth2Flow=USER_FEDERATION forceAuthentication=true",
    "GET <authorizationUrl> without following redirects: is there a PAR request_uri at the downstream?",
    "serve <return url> until consent or --consent-timeout",
    "bedrock-agentcore:CompleteResourceTokenAuth sessionUri userIdentifier",
    "bedrock-agentcore:GetResourceOauth2Token (poll with sessionUri)",
    "bedrock-agentcore-control:DeleteOauth2CredentialProvider, DeleteWorkloadIdentity",
];

const SKIP_AFTER_CONSENT: [&str; 3] = ["consent", "session_binding", "token_after_consent"];

/// Runs the 3LO checks.
pub async fn run(ctx: &mut Context, record: &mut SpikeRecord) -> Result<(), String> {
    let return_url = ctx.args.return_url.clone();
    // Bind the return URL first: a port already in use fails before anything is created.
    let listener = return_url::Listener::bind(&return_url).await?;
    let arn = ctx.create_workload(Some(&return_url)).await?;
    record.push(
        "workload_identity_created",
        Status::Pass,
        format!("arn {arn}; return URL allowed"),
    );
    let callback = ctx.create_provider(false).await?;
    record.push(
        "provider_created",
        Status::Pass,
        format!("callbackUrl {callback} (register it at the IdP as the redirect URI)"),
    );
    let (wat, identifier) = match &ctx.args.user_jwt {
        Some(jwt) => {
            let out = ctx
                .data
                .get_workload_access_token_for_jwt()
                .workload_name(&ctx.workload)
                .user_token(jwt)
                .send()
                .await
                .map_err(|e| format!("GetWorkloadAccessTokenForJWT: {}", sdk_error(&e)))?;
            (
                out.workload_access_token().to_owned(),
                UserIdentifier::UserToken(jwt.clone()),
            )
        }
        None => {
            let out = ctx
                .data
                .get_workload_access_token_for_user_id()
                .workload_name(&ctx.workload)
                .user_id(&ctx.args.user)
                .send()
                .await
                .map_err(|e| format!("GetWorkloadAccessTokenForUserId: {}", sdk_error(&e)))?;
            (
                out.workload_access_token().to_owned(),
                UserIdentifier::UserId(ctx.args.user.clone()),
            )
        }
    };
    let request = || {
        ctx.data
            .get_resource_oauth2_token()
            .workload_identity_token(&wat)
            .resource_credential_provider_name(&ctx.provider)
            .set_scopes(Some(ctx.args.scopes.clone()))
            .oauth2_flow(Oauth2FlowType::UserFederation)
            .resource_oauth2_return_url(&return_url)
    };
    let started = request().force_authentication(true).send().await;
    let started = match started {
        Ok(out) => out,
        Err(e) => {
            record.push(
                "authorization_url_returned",
                Status::Fail,
                format!("GetResourceOauth2Token USER_FEDERATION: {}", sdk_error(&e)),
            );
            return Ok(());
        }
    };
    let (Some(url), Some(session)) = (started.authorization_url(), started.session_uri()) else {
        record.push("authorization_url_returned", Status::Fail, "no authorizationUrl/sessionUri in the answer (was a token on file despite forceAuthentication?)");
        return Ok(());
    };
    record.push(
        "authorization_url_returned",
        Status::Pass,
        format!(
            "authorizationUrl at {}; no ValidationException",
            host_of(url)
        ),
    );
    let well_formed = session
        .strip_prefix("urn:ietf:params:oauth:request_uri:")
        .is_some_and(|id| !id.is_empty());
    record.push(
        "session_uri_is_a_request_uri",
        if well_formed {
            Status::Pass
        } else {
            Status::Fail
        },
        "sessionUri has the urn:ietf:params:oauth:request_uri: form",
    );
    let (status, evidence) = par_check(url).await;
    record.push("par_request_uri_stays_at_the_vault", status, evidence);

    eprintln!("phase0: consent URL: {url}");
    eprintln!(
        "phase0: waiting up to {} s for consent at {return_url}",
        ctx.args.consent_timeout
    );
    let Some(session_id) = listener
        .wait(Duration::from_secs(ctx.args.consent_timeout))
        .await
    else {
        for name in SKIP_AFTER_CONSENT {
            record.push(
                name,
                Status::Skipped,
                format!(
                    "no consent within {} s (a human click is needed)",
                    ctx.args.consent_timeout
                ),
            );
        }
        return Ok(());
    };
    record.push(
        "consent",
        if session_id == session {
            Status::Pass
        } else {
            Status::Fail
        },
        "the return URL received the session_id of this session",
    );
    ctx.data
        .complete_resource_token_auth()
        .session_uri(session)
        .user_identifier(identifier)
        .send()
        .await
        .map_err(|e| format!("CompleteResourceTokenAuth: {}", sdk_error(&e)))?;
    record.push(
        "session_binding",
        Status::Pass,
        "CompleteResourceTokenAuth accepted the session for the same user",
    );
    let mut delay = Duration::from_millis(200);
    for _ in 0..12 {
        let polled = request()
            .session_uri(session)
            .send()
            .await
            .map_err(|e| format!("GetResourceOauth2Token (poll): {}", sdk_error(&e)))?;
        if let Some(access) = polled.access_token() {
            let evidence = match claims::payload(access) {
                Ok(c) => claims::evidence(&c),
                Err(_) => format!("opaque access token of {} characters", access.len()),
            };
            record.push("token_after_consent", Status::Pass, evidence);
            return Ok(());
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    record.push(
        "token_after_consent",
        Status::Fail,
        "no token after session binding and 12 polls",
    );
    Ok(())
}

fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

fn param_names(url: &reqwest::Url) -> Vec<String> {
    url.query_pairs().map(|(k, _)| k.into_owned()).collect()
}

/// Opens the authorization URL without following redirects: the downstream (the redirect
/// target, or the URL itself when it does not redirect) must not receive a `request_uri`.
async fn par_check(url: &str) -> (Status, String) {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return (Status::Fail, "authorizationUrl is not a URL".to_owned());
    };
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
    {
        Ok(c) => c,
        Err(e) => return (Status::Skipped, format!("no HTTP client: {e}")),
    };
    let at_vault = param_names(&parsed).iter().any(|n| n == "request_uri");
    let response = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) => {
            return (
                Status::Skipped,
                format!("could not open the authorization URL: {e}"),
            );
        }
    };
    let downstream = if response.status().is_redirection() {
        response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| parsed.join(l).ok())
    } else {
        None
    };
    match downstream {
        Some(target) => {
            let names = param_names(&target);
            let leaked = names.iter().any(|n| n == "request_uri");
            (
                if leaked { Status::Fail } else { Status::Pass },
                format!(
                    "{} (request_uri there: {at_vault}) redirects to {}{} with parameters [{}]",
                    parsed.host_str().unwrap_or_default(),
                    target.host_str().unwrap_or_default(),
                    target.path(),
                    names.join(", ")
                ),
            )
        }
        None => {
            let names = param_names(&parsed);
            (
                if at_vault { Status::Fail } else { Status::Pass },
                format!(
                    "the authorization URL is the downstream page itself ({}{}, HTTP {}) with parameters [{}]",
                    parsed.host_str().unwrap_or_default(),
                    parsed.path(),
                    response.status().as_u16(),
                    names.join(", ")
                ),
            )
        }
    }
}
