//! Who and what a gateway request is attributed to: a task id the interceptor makes itself
//! (never the client's JSON-RPC `id`, which is neither unique nor trusted) and the MCP session
//! the gateway assigned.

use std::fmt::Write as _;

use deputy_core::TaskId;

use crate::event::{GatewayRequest, Refusal};

/// The header AgentCore Gateway's MCP sessions travel in.
pub(crate) const SESSION_HEADER: &str = "mcp-session-id";

/// Longest session id kept (task ids are at most 128 characters).
const MAX_SESSION: usize = 64;

/// The request's MCP session id in the task-id alphabet (`[A-Za-z0-9._:-]`, other characters
/// become `-`), at most 64 characters; `None` when the request has none.
pub(crate) fn session_id(request: &GatewayRequest) -> Option<String> {
    let raw = request.header(SESSION_HEADER)?.trim();
    let kept: String = raw
        .chars()
        .take(MAX_SESSION)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    (!kept.is_empty()).then_some(kept)
}

/// `gw-<32 random hex digits>`, then `-<session>` when the request has an MCP session: unique
/// per request whatever the client sends, and the unique part comes first so that it survives
/// the STS session name's 64-character cut.
pub(crate) fn task_id(session: Option<&str>) -> Result<TaskId, Refusal> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
        Refusal::upstream("the interceptor could not draw a task id; retry the request")
    })?;
    let mut id = String::with_capacity(3 + 32 + 1 + MAX_SESSION);
    id.push_str("gw-");
    for byte in bytes {
        let _ = write!(id, "{byte:02x}");
    }
    if let Some(session) = session {
        id.push('-');
        id.push_str(session);
    }
    TaskId::new(&id).map_err(|e| Refusal::bad_request(e.to_string()))
}
