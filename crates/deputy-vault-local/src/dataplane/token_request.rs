//! The GetResourceOauth2Token request shared by its M2M, USER_FEDERATION and
//! ON_BEHALF_OF_TOKEN_EXCHANGE flows: body validation, the outbound token parameters and the
//! client_credentials grant. The flows depend on this module, never on each other's handler.

use super::session::{TokenTarget, VaultToken};
use super::wat::WatClaims;
use crate::aws_error::ApiResult;
use crate::ids::now_secs;
use crate::oauth_client::{ClientAuth, TokenResponse, request_token};
use crate::registry::Provider;
use crate::sensitive::Sensitive;
use crate::state::AppState;
use crate::validate::{Body, Pattern, StringRule};

/// `workloadIdentityToken`.
pub const WAT_RULE: StringRule = StringRule::len(1, 131_072);
/// `resourceCredentialProviderName`.
pub const PROVIDER_NAME: StringRule = StringRule::pattern(1, 128, Pattern::ProviderName);
/// `sessionUri`.
pub const SESSION_URI: StringRule = StringRule::pattern(1, 1024, Pattern::SessionUri);

/// A validated GetResourceOauth2Token request: the body, with its WAT opened and its
/// provider looked up (no `Debug`: it holds sensitive members).
pub struct TokenRequest {
    /// The opened WAT.
    pub wat: WatClaims,
    /// The provider.
    pub provider: Provider,
    /// The validated body (scopes, session, return URL, custom parameters, …).
    pub body: TokenRequestBody,
}

/// The `oauth2Flow` member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oauth2Flow {
    /// `USER_FEDERATION`.
    UserFederation,
    /// `M2M`.
    M2m,
    /// `ON_BEHALF_OF_TOKEN_EXCHANGE`.
    OnBehalfOf,
}

/// A GetResourceOauth2Token body after validation, before the WAT is opened and the provider
/// looked up (no `Debug`: it holds the WAT).
///
/// ```
/// use deputy_vault_local::dataplane::token_request::{Oauth2Flow, TokenRequestBody};
/// let body = br#"{"workloadIdentityToken":"wat","resourceCredentialProviderName":"github",
///   "scopes":["repo"],"oauth2Flow":"M2M"}"#;
/// let parsed = TokenRequestBody::parse(body).ok().unwrap();
/// assert_eq!(parsed.flow, Oauth2Flow::M2m);
/// assert_eq!(parsed.scopes, ["repo"]);
/// assert!(TokenRequestBody::parse(br#"{"oauth2Flow":"M2M"}"#).is_err());
/// ```
pub struct TokenRequestBody {
    /// `workloadIdentityToken`, still sealed.
    pub wat: Sensitive,
    /// `resourceCredentialProviderName`.
    pub provider_name: String,
    /// `oauth2Flow`.
    pub flow: Oauth2Flow,
    /// `scopes`.
    pub scopes: Vec<String>,
    /// `sessionUri`.
    pub session_uri: Option<String>,
    /// `resourceOauth2ReturnUrl`.
    pub return_url: Option<String>,
    /// `forceAuthentication`.
    pub force: bool,
    /// `customParameters`.
    pub custom_parameters: Vec<(String, String)>,
    /// `customState`.
    pub custom_state: Option<String>,
    /// `resources`.
    pub resources: Vec<String>,
    /// `audiences`.
    pub audiences: Vec<String>,
}

impl TokenRequestBody {
    /// Parses and validates the raw request body; every violation is listed in one
    /// `ValidationException`.
    pub fn parse(bytes: &[u8]) -> ApiResult<Self> {
        let mut body = Body::parse(bytes)?;
        let wat = body.required_string("workloadIdentityToken", WAT_RULE);
        let provider_name = body.required_string("resourceCredentialProviderName", PROVIDER_NAME);
        let scopes = body
            .string_list("scopes", StringRule::len(1, 128), true)
            .unwrap_or_default();
        let flow = body.required_enum(
            "oauth2Flow",
            &["USER_FEDERATION", "M2M", "ON_BEHALF_OF_TOKEN_EXCHANGE"],
        );
        let session_uri = body.optional_string("sessionUri", SESSION_URI);
        let return_url = body.optional_string(
            "resourceOauth2ReturnUrl",
            StringRule::pattern(1, 2048, Pattern::Url),
        );
        let force = body.optional_bool("forceAuthentication").unwrap_or(false);
        let custom_parameters = body.string_map(
            "customParameters",
            StringRule::pattern(1, 256, Pattern::ParamKey),
            StringRule::len(1, 2048),
        );
        let custom_state = body.optional_string("customState", StringRule::len(1, 4096));
        let resources = body
            .string_list("resources", StringRule::len(1, 2048), false)
            .unwrap_or_default();
        let audiences = body
            .string_list("audiences", StringRule::len(1, 2048), false)
            .unwrap_or_default();
        body.finish()?;
        let flow = match flow.as_str() {
            "M2M" => Oauth2Flow::M2m,
            "USER_FEDERATION" => Oauth2Flow::UserFederation,
            _ => Oauth2Flow::OnBehalfOf,
        };
        Ok(TokenRequestBody {
            wat: Sensitive::new(wat),
            provider_name,
            flow,
            scopes,
            session_uri,
            return_url,
            force,
            custom_parameters,
            custom_state,
            resources,
            audiences,
        })
    }
}

impl TokenRequestBody {
    /// What the requested token is for (scopes, resources, audiences, custom parameters): part
    /// of its vault key.
    pub fn target(&self) -> TokenTarget<'_> {
        TokenTarget {
            scopes: &self.scopes,
            resources: &self.resources,
            audiences: &self.audiences,
            custom_parameters: &self.custom_parameters,
        }
    }
}

/// Adds `scope` (from `scopes`, which is the request's own or, for an actor token, another
/// set), `resource`, `audience` and custom parameters (which never override the standard ones
/// already present, except those listed in `overridable`).
pub fn extend_params(
    params: &mut Vec<(String, String)>,
    request: &TokenRequest,
    scopes: &[String],
    overridable: &[&str],
) {
    if !scopes.is_empty() {
        params.push(("scope".into(), scopes.join(" ")));
    }
    for r in &request.body.resources {
        params.push(("resource".into(), r.clone()));
    }
    for a in &request.body.audiences {
        params.push(("audience".into(), a.clone()));
    }
    for (k, v) in &request.body.custom_parameters {
        if overridable.contains(&k.as_str()) {
            params.retain(|(existing, _)| existing != k);
        } else if params.iter().any(|(existing, _)| existing == k) {
            continue;
        }
        params.push((k.clone(), v.clone()));
    }
}

/// Converts a token response into a vault token ([`request_token`] already refused an
/// `expires_in` past the clock's range; this saturates rather than overflow).
pub fn to_vault_token(response: TokenResponse) -> VaultToken {
    VaultToken {
        access_token: response.access_token,
        refresh_token: response.refresh_token,
        expires_at: now_secs().saturating_add(response.expires_in.unwrap_or(3600)),
    }
}

/// Runs a client_credentials grant for `scopes` against the provider.
pub async fn client_credentials(
    state: &AppState,
    request: &TokenRequest,
    scopes: &[String],
) -> ApiResult<TokenResponse> {
    let server = state.auth_server(&request.provider).await?;
    let mut params = vec![("grant_type".to_string(), "client_credentials".to_string())];
    extend_params(&mut params, request, scopes, &[]);
    request_token(
        &state.http,
        &request.provider,
        &server.token_endpoint,
        params,
        ClientAuth::Provider,
        "Client credentials request",
    )
    .await
}
