//! Reading `Create/UpdateOauth2CredentialProvider` input as the model defines it: the vendor
//! enum, the `discoveryUrl` pattern, exclusive unions, and a refusal (never a silent drop) of
//! every modelled member the local vault does not emulate.

use crate::config::{ActorTokenContent, ClientAuthMethod, OboConfig, OboGrantType, ProviderSource};
use crate::sensitive::Sensitive;
use crate::validate::{Body, Pattern, StringRule};

/// `CredentialProviderVendorType`.
pub const VENDORS: &[&str] = &[
    "GoogleOauth2",
    "GithubOauth2",
    "SlackOauth2",
    "SalesforceOauth2",
    "MicrosoftOauth2",
    "CustomOauth2",
    "AtlassianOauth2",
    "LinkedinOauth2",
    "XOauth2",
    "OktaOauth2",
    "OneLoginOauth2",
    "PingOneOauth2",
    "FacebookOauth2",
    "YandexOauth2",
    "RedditOauth2",
    "ZoomOauth2",
    "TwitchOauth2",
    "SpotifyOauth2",
    "DropboxOauth2",
    "NotionOauth2",
    "HubspotOauth2",
    "CyberArkOauth2",
    "FusionAuthOauth2",
    "Auth0Oauth2",
    "CognitoOauth2",
];

/// The members of `Oauth2ProviderConfigInput` (a union).
const CONFIG_MEMBERS: &[&str] = &[
    "customOauth2ProviderConfig",
    "googleOauth2ProviderConfig",
    "githubOauth2ProviderConfig",
    "slackOauth2ProviderConfig",
    "salesforceOauth2ProviderConfig",
    "microsoftOauth2ProviderConfig",
    "atlassianOauth2ProviderConfig",
    "linkedinOauth2ProviderConfig",
    "includedOauth2ProviderConfig",
];

/// Members of `CustomOauth2ProviderConfigInput` the local vault does not emulate.
const UNSUPPORTED_CUSTOM: &[&str] = &[
    "clientSecretConfig",
    "privateKeyJwtConfig",
    "privateEndpoint",
    "privateEndpointOverrides",
    "certificateConfigurations",
];

const DISCOVERY_URL: StringRule = StringRule::pattern(1, 2048, Pattern::DiscoveryUrl);

/// A provider's configuration as read from the request.
#[derive(Debug, Clone)]
pub struct ProviderInput {
    /// `credentialProviderVendor`.
    pub vendor: String,
    /// The authorization server.
    pub source: ProviderSource,
    /// `clientId`.
    pub client_id: String,
    /// `clientSecret`.
    pub client_secret: Sensitive,
    /// `clientAuthenticationMethod`.
    pub auth_method: ClientAuthMethod,
    /// `onBehalfOfTokenExchangeConfig`.
    pub obo: Option<OboConfig>,
}

/// Reads the vendor and `oauth2ProviderConfigInput`; errors accumulate in `body`.
pub fn read(body: &mut Body) -> Option<ProviderInput> {
    let vendor = body.required_enum("credentialProviderVendor", VENDORS);
    let Some(mut input) = body.object("oauth2ProviderConfigInput") else {
        if !body.has("oauth2ProviderConfigInput") {
            body.reject("oauth2ProviderConfigInput", "Member must not be null");
        }
        return None;
    };
    input.require_exactly_one("oauth2ProviderConfigInput", CONFIG_MEMBERS);
    for member in &CONFIG_MEMBERS[1..] {
        if input.has(member) {
            input.reject(
                member,
                "Vendor configurations are not emulated by the local vault; use customOauth2ProviderConfig",
            );
        }
    }
    let parsed = match input.object("customOauth2ProviderConfig") {
        Some(mut custom) => {
            let parsed = read_custom(&mut custom, vendor);
            input.absorb("customOauth2ProviderConfig", custom);
            parsed
        }
        None => None,
    };
    body.absorb("oauth2ProviderConfigInput", input);
    parsed
}

fn read_custom(custom: &mut Body, vendor: String) -> Option<ProviderInput> {
    for member in UNSUPPORTED_CUSTOM {
        if custom.has(member) {
            custom.reject(member, "Member is not emulated by the local vault");
        }
    }
    if custom
        .optional_enum("clientSecretSource", &["MANAGED", "EXTERNAL"])
        .as_deref()
        == Some("EXTERNAL")
    {
        custom.reject(
            "clientSecretSource",
            "EXTERNAL secrets are not emulated by the local vault; pass clientSecret",
        );
    }
    let source = read_source(custom);
    let client_id = custom
        .optional_string("clientId", StringRule::len(0, 256))
        .unwrap_or_default();
    let secret = custom
        .optional_string("clientSecret", StringRule::len(0, 2048))
        .unwrap_or_default();
    let method = custom.optional_enum(
        "clientAuthenticationMethod",
        &[
            "CLIENT_SECRET_BASIC",
            "CLIENT_SECRET_POST",
            "AWS_IAM_ID_TOKEN_JWT",
            "PRIVATE_KEY_JWT",
        ],
    );
    let auth_method = match method.as_deref() {
        Some("CLIENT_SECRET_POST") => ClientAuthMethod::ClientSecretPost,
        Some("AWS_IAM_ID_TOKEN_JWT" | "PRIVATE_KEY_JWT") => {
            custom.reject(
                "clientAuthenticationMethod",
                "Only CLIENT_SECRET_BASIC and CLIENT_SECRET_POST are emulated by the local vault",
            );
            ClientAuthMethod::ClientSecretBasic
        }
        _ => ClientAuthMethod::ClientSecretBasic,
    };
    let obo = read_obo(custom);
    Some(ProviderInput {
        vendor,
        source: source?,
        client_id,
        client_secret: Sensitive::new(secret),
        auth_method,
        obo,
    })
}

fn read_source(custom: &mut Body) -> Option<ProviderSource> {
    let Some(mut discovery) = custom.object("oauthDiscovery") else {
        if !custom.has("oauthDiscovery") {
            custom.reject("oauthDiscovery", "Member must not be null");
        }
        return None;
    };
    discovery.require_exactly_one(
        "oauthDiscovery",
        &["discoveryUrl", "authorizationServerMetadata"],
    );
    let url = discovery.optional_string("discoveryUrl", DISCOVERY_URL);
    let meta = discovery
        .object("authorizationServerMetadata")
        .map(|mut meta| {
            let issuer = meta.required_string("issuer", StringRule::len(1, 2048));
            let authorization_endpoint =
                meta.required_string("authorizationEndpoint", StringRule::len(1, 2048));
            let token_endpoint = meta.required_string("tokenEndpoint", StringRule::len(1, 2048));
            for member in ["responseTypes", "tokenEndpointAuthMethods"] {
                if meta.has(member) {
                    meta.reject(member, "Member is not emulated by the local vault");
                }
            }
            discovery.absorb("authorizationServerMetadata", meta);
            ProviderSource::Metadata {
                issuer,
                authorization_endpoint,
                token_endpoint,
            }
        });
    custom.absorb("oauthDiscovery", discovery);
    match (url, meta) {
        (Some(discovery_url), None) => Some(ProviderSource::Discovery { discovery_url }),
        (None, Some(meta)) => Some(meta),
        _ => None,
    }
}

fn read_obo(body: &mut Body) -> Option<OboConfig> {
    let mut obo = body.object("onBehalfOfTokenExchangeConfig")?;
    let grant = obo.required_enum("grantType", &["TOKEN_EXCHANGE", "JWT_AUTHORIZATION_GRANT"]);
    let (content, scopes) = match obo.object("tokenExchangeGrantTypeConfig") {
        Some(mut te) => {
            let c = te.required_enum(
                "actorTokenContent",
                &["NONE", "M2M", "AWS_IAM_ID_TOKEN_JWT"],
            );
            if c == "AWS_IAM_ID_TOKEN_JWT" {
                te.reject(
                    "actorTokenContent",
                    "AWS_IAM_ID_TOKEN_JWT is not emulated by the local vault",
                );
            }
            let s = te
                .string_list("actorTokenScopes", StringRule::len(1, 128), false)
                .unwrap_or_default();
            obo.absorb("tokenExchangeGrantTypeConfig", te);
            let content = if c == "M2M" {
                ActorTokenContent::M2m
            } else {
                ActorTokenContent::None
            };
            (content, s)
        }
        None => (ActorTokenContent::None, Vec::new()),
    };
    let no_client = match obo.object("onBehalfOfAuthenticationConfig") {
        Some(mut auth) => {
            let m = auth.required_enum("clientAuthenticationMethod", &["NO_CLIENT"]);
            obo.absorb("onBehalfOfAuthenticationConfig", auth);
            m == "NO_CLIENT"
        }
        None => false,
    };
    body.absorb("onBehalfOfTokenExchangeConfig", obo);
    let grant_type = if grant == "JWT_AUTHORIZATION_GRANT" {
        OboGrantType::JwtAuthorizationGrant
    } else {
        OboGrantType::TokenExchange
    };
    Some(OboConfig {
        grant_type,
        actor_token_content: content,
        actor_token_scopes: scopes,
        no_client,
    })
}
