//! The AgentCore Gateway interceptor contract (REQUEST interceptor, MCP targets, version 1.0),
//! as typed serde structs. Unknown fields are tolerated; missing required ones are errors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The only interceptor contract version this interceptor speaks.
pub const VERSION: &str = "1.0";

/// What the gateway sends the REQUEST interceptor.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InterceptorInput {
    /// `"1.0"`.
    pub interceptor_input_version: String,
    /// The MCP request.
    pub mcp: McpInput,
}

/// The MCP part of the input.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct McpInput {
    /// The request exactly as the gateway received it.
    #[serde(default)]
    pub raw_gateway_request: Option<RawRequest>,
    /// The parsed request.
    pub gateway_request: GatewayRequest,
}

/// The raw request body.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RawRequest {
    /// The body as a string.
    #[serde(default)]
    pub body: Option<String>,
}

/// The parsed request.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayRequest {
    /// Usually `/mcp`.
    #[serde(default)]
    pub path: Option<String>,
    /// Usually `POST`.
    #[serde(default)]
    pub http_method: Option<String>,
    /// Present only when the gateway's `passRequestHeaders` is true.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// The JSON-RPC request.
    pub body: Value,
}

impl GatewayRequest {
    /// A header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .as_ref()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON-RPC method (`tools/call`, `tools/list`, …).
    pub fn method(&self) -> Option<&str> {
        self.body.get("method").and_then(Value::as_str)
    }

    /// For `tools/call`, the tool name (`<target>___<tool>` on AgentCore Gateway).
    pub fn tool(&self) -> Option<&str> {
        self.body.get("params")?.get("name")?.as_str()
    }

    /// The JSON-RPC id, echoed in refusals.
    pub fn id(&self) -> Value {
        self.body.get("id").cloned().unwrap_or(Value::Null)
    }
}

/// What the interceptor returns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InterceptorOutput {
    /// Always `"1.0"`.
    pub interceptor_output_version: String,
    /// The transformed request, or the response that answers instead of the target.
    pub mcp: McpOutput,
}

/// The MCP part of the output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct McpOutput {
    /// The request the gateway forwards to the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transformed_gateway_request: Option<TransformedRequest>,
    /// When present, the gateway answers with it and never calls the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transformed_gateway_response: Option<TransformedResponse>,
}

/// A forwarded request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransformedRequest {
    /// Headers for the target.
    pub headers: BTreeMap<String, String>,
    /// The JSON-RPC body (unchanged).
    pub body: Value,
}

/// A response that stops the request at the gateway.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TransformedResponse {
    /// HTTP status.
    pub status_code: u16,
    /// A JSON-RPC error object.
    pub body: Value,
}

/// Why a request is refused: the HTTP status and a JSON-RPC error without any token text.
///
/// The client sees `message` only; an internal cause (the role, the secret, the endpoint that
/// failed) goes in [`Refusal::with_detail`], which the interceptor logs and records on its span.
///
/// ```
/// use deputy_gateway::event::{InterceptorOutput, Refusal};
/// let refusal = Refusal::upstream("no service token").with_detail("secret central/billing is missing");
/// let out = InterceptorOutput::refuse(&refusal, serde_json::json!(1));
/// assert!(!serde_json::to_string(&out).unwrap().contains("central/billing"));
/// assert_eq!(refusal.detail(), Some("secret central/billing is missing"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} ({code}): {message}")]
pub struct Refusal {
    /// HTTP status: 400, 401, 403 or 502.
    pub status: u16,
    /// JSON-RPC error code.
    pub code: i64,
    /// What is wrong and what to do.
    pub message: String,
    /// For operators only: never sent to the client.
    detail: Option<String>,
}

impl Refusal {
    /// A short class name for spans (`bad_request`, `unauthorized`, `forbidden`, `upstream`).
    pub fn kind(&self) -> &'static str {
        match self.status {
            400 => "bad_request",
            401 => "unauthorized",
            403 => "forbidden",
            _ => "upstream",
        }
    }

    /// The same refusal with an internal cause for the logs and the span (never sent to the
    /// client; never token text).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The internal cause, if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Refusal {
            status: 400,
            code: -32600,
            message: message.into(),
            detail: None,
        }
    }

    /// 401: no usable credential was presented.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Refusal {
            status: 401,
            code: -32001,
            message: message.into(),
            detail: None,
        }
    }

    /// 403: the credential is not good for this target.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Refusal {
            status: 403,
            code: -32003,
            message: message.into(),
            detail: None,
        }
    }

    /// 502: a credential could not be obtained upstream (vault, broker).
    pub fn upstream(message: impl Into<String>) -> Self {
        Refusal {
            status: 502,
            code: -32002,
            message: message.into(),
            detail: None,
        }
    }
}

impl InterceptorOutput {
    /// Forward `body` with `headers`.
    pub fn forward(headers: BTreeMap<String, String>, body: Value) -> Self {
        InterceptorOutput {
            interceptor_output_version: VERSION.into(),
            mcp: McpOutput {
                transformed_gateway_request: Some(TransformedRequest { headers, body }),
                transformed_gateway_response: None,
            },
        }
    }

    /// Answer with a JSON-RPC error for request `id`.
    pub fn refuse(refusal: &Refusal, id: Value) -> Self {
        let body = json!({ "jsonrpc": "2.0", "id": id, "error": { "code": refusal.code, "message": refusal.message } });
        InterceptorOutput {
            interceptor_output_version: VERSION.into(),
            mcp: McpOutput {
                transformed_gateway_request: None,
                transformed_gateway_response: Some(TransformedResponse {
                    status_code: refusal.status,
                    body,
                }),
            },
        }
    }
}
