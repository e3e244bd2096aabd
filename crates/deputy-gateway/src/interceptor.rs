//! The REQUEST interceptor: a pure function of its input and its configured credential sources.

mod attribution;
pub(crate) mod credential;
pub(crate) mod headers;

use std::collections::HashMap;

use deputy::fallback::TokenBroker;
use deputy::task::Task;
use deputy::user_jwt::{UserJwt, UserJwtError};
use deputy::verify::TokenVerifier;
use deputy::{ResolveError, Resolver, UserToken};
use deputy_core::audit::{CredentialSource, TokenFingerprint};
use deputy_core::{Integration, IssuerMap, Operation, TaskContext, TaskId, Trigger, UserId, attr};
use serde_json::Value;
use tracing::Instrument;

use crate::event::{GatewayRequest, InterceptorInput, InterceptorOutput, Refusal, VERSION};
use credential::{AuditFacts, Credential};
use headers::ForwardHeaders;

pub(crate) enum Mode {
    Passthrough {
        verifier: Box<TokenVerifier>,
        /// Maps the token's issuer to the IdP prefix of user ids, when known.
        issuers: Option<IssuerMap>,
        facts: AuditFacts,
    },
    Exchange {
        integration: Integration,
        operation: Operation,
    },
    Broker {
        broker: Box<TokenBroker>,
        facts: AuditFacts,
    },
}

impl Mode {
    fn name(&self) -> &'static str {
        match self {
            Mode::Passthrough { .. } => "passthrough",
            Mode::Exchange { .. } => "exchange",
            Mode::Broker { .. } => "broker",
        }
    }
}

pub(crate) struct Inbound {
    pub(crate) verifier: TokenVerifier,
    pub(crate) issuers: IssuerMap,
}

/// A configured interceptor. Build once per Lambda container; `handle` each event.
pub struct Interceptor {
    pub(crate) workload: String,
    pub(crate) header: String,
    pub(crate) forward: ForwardHeaders,
    pub(crate) max_token_bytes: usize,
    pub(crate) default_target: Option<String>,
    pub(crate) targets: HashMap<String, Mode>,
    pub(crate) inbound: Option<Inbound>,
    pub(crate) resolver: Option<Resolver>,
}

impl Interceptor {
    /// Handles one gateway event given as raw JSON: malformed input is refused, never a panic.
    pub async fn handle_value(&self, event: Value) -> InterceptorOutput {
        let id = event
            .pointer("/mcp/gatewayRequest/body/id")
            .cloned()
            .unwrap_or(Value::Null);
        match serde_json::from_value::<InterceptorInput>(event) {
            Ok(input) => self.handle(input).await,
            Err(e) => InterceptorOutput::refuse(
                &Refusal::bad_request(format!("not an interceptor event: {e}")),
                id,
            ),
        }
    }

    /// Handles one typed gateway event.
    pub async fn handle(&self, input: InterceptorInput) -> InterceptorOutput {
        let request = &input.mcp.gateway_request;
        let method = request.method().unwrap_or("");
        let tool = request.tool().unwrap_or("");
        let span = tracing::info_span!(
            attr::SPAN_GATEWAY,
            { attr::MCP_METHOD } = method,
            { attr::MCP_TOOL } = tool,
            { attr::GATEWAY_TARGET } = tracing::field::Empty,
            { attr::GATEWAY_MODE } = tracing::field::Empty,
            { attr::TASK_ID } = tracing::field::Empty,
            { attr::SESSION_ID } = tracing::field::Empty,
            { attr::USER_ID } = tracing::field::Empty,
            { attr::TOKEN_FINGERPRINT } = tracing::field::Empty,
            { attr::ERROR_KIND } = tracing::field::Empty,
            { attr::ERROR_DETAIL } = tracing::field::Empty,
        );
        let result = self.decide(&input, &span).instrument(span.clone()).await;
        match result {
            Ok(output) => output,
            Err(refusal) => {
                span.record(attr::ERROR_KIND, refusal.kind());
                match refusal.detail() {
                    Some(detail) => {
                        span.record(attr::ERROR_DETAIL, detail);
                        tracing::warn!(parent: &span, "gateway request refused: {refusal} ({detail})");
                    }
                    None => tracing::warn!(parent: &span, "gateway request refused: {refusal}"),
                }
                InterceptorOutput::refuse(&refusal, request.id())
            }
        }
    }

    async fn decide(
        &self,
        input: &InterceptorInput,
        span: &tracing::Span,
    ) -> Result<InterceptorOutput, Refusal> {
        if input.interceptor_input_version != VERSION {
            return Err(Refusal::bad_request(format!(
                "interceptor input version {:?} is not supported; this interceptor speaks {VERSION}",
                input.interceptor_input_version
            )));
        }
        let request = &input.mcp.gateway_request;
        if request.body.get("jsonrpc").and_then(Value::as_str) != Some("2.0")
            || request.method().is_none()
        {
            return Err(Refusal::bad_request(
                "the request body is not a JSON-RPC 2.0 request",
            ));
        }
        let target = match request.tool() {
            Some(tool) => Some(tool.split_once("___").map_or(tool, |(target, _)| target)),
            None => self.default_target.as_deref(),
        };
        let Some(target) = target else {
            return Ok(InterceptorOutput::forward(
                self.forwarded_headers(request),
                request.body.clone(),
            ));
        };
        let mode = self.targets.get(target).ok_or_else(|| {
            Refusal::forbidden(format!(
                "no credential mode is configured for target {target}"
            ))
        })?;
        span.record(attr::GATEWAY_TARGET, target);
        span.record(attr::GATEWAY_MODE, mode.name());
        let session = attribution::session_id(request);
        let task_id = attribution::task_id(session.as_deref())?;
        span.record(attr::TASK_ID, task_id.as_str());
        span.record(attr::SESSION_ID, session.as_deref());
        let credential = |user, facts, source, token, expires_at| Credential {
            task_id: &task_id,
            session: session.as_deref(),
            user,
            agent: &self.workload,
            target,
            facts,
            source,
            token,
            expires_at,
        };
        let token = match mode {
            Mode::Passthrough {
                verifier,
                issuers,
                facts,
            } => {
                let jwt = self.user_token(request)?;
                let observed = verifier
                    .verify(jwt)
                    .await
                    .map_err(|reason| token_refusal(&reason, target))?;
                let user = issuers.as_ref().and_then(|issuers| {
                    let iss = observed.subject.iss.as_deref()?;
                    UserId::from_verified_claims(iss, &observed.subject.sub, issuers).ok()
                });
                span.record(attr::USER_ID, user.as_ref().map(UserId::as_str));
                let expires_at = deputy::expiry::jwt_exp(jwt);
                credential(
                    user.as_ref(),
                    facts,
                    CredentialSource::GatewayPassthrough,
                    jwt,
                    expires_at,
                )
                .record();
                jwt.to_owned()
            }
            Mode::Exchange {
                integration,
                operation,
            } => {
                self.exchange(request, &task_id, integration, *operation, span)
                    .await?
            }
            Mode::Broker { broker, facts } => {
                let ctx = TaskContext::new(task_id.clone(), Trigger::Headless);
                let (token, expires_at) = broker.service_token(&ctx).await.map_err(|e| {
                    Refusal::upstream(format!(
                        "the Token Broker could not mint a service token for target {target}; see the interceptor's logs for task {task_id}"
                    ))
                    .with_detail(e.to_string())
                })?;
                let expires_at = expires_at
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()
                    .map(|d| d.as_secs());
                credential(
                    None,
                    facts,
                    CredentialSource::TokenBroker,
                    token.expose(),
                    expires_at,
                )
                .record();
                token.expose().to_owned()
            }
        };
        span.record(
            attr::TOKEN_FINGERPRINT,
            TokenFingerprint::of(&token).as_str(),
        );
        let mut headers = self.forwarded_headers(request);
        headers.insert("Authorization".into(), format!("Bearer {token}"));
        Ok(InterceptorOutput::forward(headers, request.body.clone()))
    }

    fn user_token<'a>(&self, request: &'a GatewayRequest) -> Result<&'a str, Refusal> {
        if request.headers.is_none() {
            return Err(Refusal::unauthorized(
                "the gateway passes no request headers: set passRequestHeaders = true on the interceptor",
            ));
        }
        let value = request.header(&self.header).ok_or_else(|| {
            Refusal::unauthorized(format!("no user token in header {}", self.header))
        })?;
        if value.len() > self.max_token_bytes {
            return Err(Refusal::bad_request(format!(
                "header {} is longer than {} bytes",
                self.header, self.max_token_bytes
            )));
        }
        let value = value.strip_prefix("Bearer ").unwrap_or(value).trim();
        if value.is_empty() {
            return Err(Refusal::unauthorized(format!(
                "header {} is empty",
                self.header
            )));
        }
        Ok(value)
    }

    async fn exchange(
        &self,
        request: &GatewayRequest,
        task_id: &TaskId,
        integration: &Integration,
        op: Operation,
        span: &tracing::Span,
    ) -> Result<String, Refusal> {
        let (Some(inbound), Some(resolver)) = (&self.inbound, &self.resolver) else {
            return Err(Refusal::upstream("exchange mode is not set up"));
        };
        let jwt = self.user_token(request)?;
        // The user is the verified token's own `iss`+`sub`: one source, nothing to disagree.
        let jwt = UserJwt::verify(UserToken::new(jwt), &inbound.verifier, &inbound.issuers)
            .await
            .map_err(|e| match e {
                UserJwtError::Unverified(reason) => token_refusal(&reason, "the gateway"),
                other => Refusal::forbidden(other.to_string()),
            })?;
        span.record(attr::USER_ID, jwt.user().as_str());
        let task = Task::interactive(task_id.clone(), jwt);
        match resolver.resolve_token(&task, integration, op).await {
            Ok(resolved) => Ok(resolved.token.expose().to_owned()),
            Err(
                e @ (ResolveError::PolicyDenied { .. }
                | ResolveError::RepoNotAuthorized { .. }
                | ResolveError::NoRule(_)),
            ) => Err(Refusal::forbidden(e.to_string())),
            Err(ResolveError::ConsentRequired(consent, _)) => Err(Refusal::forbidden(format!(
                "the user must consent at provider {} first",
                consent.provider
            ))),
            Err(e) => Err(Refusal::upstream(format!(
                "on-behalf-of exchange failed ({})",
                e.kind()
            ))
            .with_detail(e.to_string())),
        }
    }

    /// The allow-listed incoming headers, without any whose value carries the user's token
    /// or the gateway's own bearer token.
    fn forwarded_headers(
        &self,
        request: &GatewayRequest,
    ) -> std::collections::BTreeMap<String, String> {
        let secrets = [
            request.header(&self.header).map(headers::bearer_value),
            request.header("authorization").map(headers::bearer_value),
        ];
        let secrets: Vec<&str> = secrets.into_iter().flatten().collect();
        self.forward.select(request.headers.as_ref(), &secrets)
    }
}

/// 403 when the token is valid but not for this target; 401 otherwise. Never echoes the token.
fn token_refusal(reason: &str, target: &str) -> Refusal {
    if reason.contains("InvalidAudience") {
        Refusal::forbidden(format!(
            "the user token was not issued for {target}; forwarding a token minted for someone else is refused"
        ))
    } else if reason.contains("ExpiredSignature") {
        Refusal::unauthorized("the user token has expired")
    } else {
        Refusal::unauthorized(format!(
            "the user token failed verification: {}",
            first_words(reason)
        ))
    }
}

fn first_words(reason: &str) -> String {
    reason.chars().take(120).collect()
}
