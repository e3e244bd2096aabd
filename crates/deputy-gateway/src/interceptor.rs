//! The REQUEST interceptor: a pure function of its input and its configured credential sources.

use std::collections::{BTreeMap, HashMap};

use deputy::fallback::TokenBroker;
use deputy::task::Task;
use deputy::user_jwt::{UserJwt, UserJwtError};
use deputy::verify::TokenVerifier;
use deputy::{ResolveError, Resolver, UserToken};
use deputy_core::audit::TokenFingerprint;
use deputy_core::{Integration, IssuerMap, Operation, TaskContext, TaskId, Trigger, attr};
use serde_json::Value;
use tracing::Instrument;

use crate::event::{InterceptorInput, InterceptorOutput, Refusal, VERSION};

pub(crate) enum Mode {
    Passthrough {
        verifier: Box<TokenVerifier>,
    },
    Exchange {
        integration: Integration,
        operation: Operation,
    },
    Broker {
        broker: Box<TokenBroker>,
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
    pub(crate) header: String,
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
            { attr::USER_ID } = tracing::field::Empty,
            { attr::TOKEN_FINGERPRINT } = tracing::field::Empty,
            { attr::ERROR_KIND } = tracing::field::Empty,
        );
        let result = self.decide(&input, &span).instrument(span.clone()).await;
        match result {
            Ok(output) => output,
            Err(refusal) => {
                span.record(attr::ERROR_KIND, refusal.kind());
                tracing::warn!(parent: &span, "gateway request refused: {refusal}");
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
                self.forwarded_headers(request.headers.as_ref()),
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
        let token = match mode {
            Mode::Passthrough { verifier } => {
                let jwt = self.user_token(request)?;
                verifier
                    .verify(jwt)
                    .await
                    .map_err(|reason| token_refusal(&reason, target))?;
                jwt.to_owned()
            }
            Mode::Exchange {
                integration,
                operation,
            } => {
                self.exchange(request, integration, *operation, span)
                    .await?
            }
            Mode::Broker { broker } => {
                let ctx = TaskContext::new(task_id(request)?, Trigger::Headless);
                let (token, _) = broker.service_token(&ctx).await.map_err(|e| {
                    Refusal::upstream(format!(
                        "the Token Broker could not mint a service token: {e}"
                    ))
                })?;
                token.expose().to_owned()
            }
        };
        span.record(
            attr::TOKEN_FINGERPRINT,
            TokenFingerprint::of(&token).as_str(),
        );
        let mut headers = self.forwarded_headers(request.headers.as_ref());
        headers.insert("Authorization".into(), format!("Bearer {token}"));
        Ok(InterceptorOutput::forward(headers, request.body.clone()))
    }

    fn user_token<'a>(
        &self,
        request: &'a crate::event::GatewayRequest,
    ) -> Result<&'a str, Refusal> {
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
        request: &crate::event::GatewayRequest,
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
        let task = Task::interactive(task_id(request)?, jwt);
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
            ))),
        }
    }

    /// The incoming headers minus the user-token header and any `Authorization`.
    fn forwarded_headers(
        &self,
        headers: Option<&BTreeMap<String, String>>,
    ) -> BTreeMap<String, String> {
        headers
            .into_iter()
            .flatten()
            .filter(|(k, _)| {
                !k.eq_ignore_ascii_case(&self.header) && !k.eq_ignore_ascii_case("authorization")
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
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

/// A task id for the span and STS session: the JSON-RPC id when it is usable.
fn task_id(request: &crate::event::GatewayRequest) -> Result<TaskId, Refusal> {
    let candidate = match request.id() {
        Value::String(s) => format!("mcp-{s}"),
        Value::Number(n) => format!("mcp-{n}"),
        _ => "mcp".to_owned(),
    };
    TaskId::new(&candidate)
        .or_else(|_| TaskId::new("mcp"))
        .map_err(|e| Refusal::bad_request(e.to_string()))
}
