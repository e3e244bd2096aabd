//! The OTLP/HTTP receiver: `POST /v1/traces` with protobuf or JSON bodies, gzip or not, so an
//! OpenTelemetry Collector (or any OTLP exporter) can forward spans to the pipeline.
//!
//! Every request is bounded before it costs anything ([`Limits`]): its body is read only once
//! it has a turn (at most [`Limits::max_concurrent`] at a time), gunzipped up to
//! [`Limits::max_body_bytes`], and counted (spans, attribute values, decoded bytes, JSON
//! values) before it is decoded. Decoding runs outside the pipeline's lock, which is taken
//! only to turn the decoded spans into records. With a [`BearerToken`], requests without it
//! get `401`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::Semaphore;

use crate::pipeline::{Pipeline, Sink, write_batch};
pub use auth::{BearerToken, MIN_TOKEN_CHARS, TokenError};
use decode::{Encoding, Format, ReceiveError};
pub use limits::Limits;

mod auth;
mod decode;
mod limits;

/// The largest request body accepted by default (compressed or not).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Shared state: the pipeline and where its output goes.
pub type SharedSink<S> = Arc<Mutex<(Pipeline, S)>>;

/// How the receiver is set up: its limits, and the token exporters must present.
///
/// ```
/// use deputy_audit::receiver::{Config, Limits};
/// let config = Config { limits: Limits { max_concurrent: 4, ..Limits::default() }, token: None };
/// assert_eq!(config.limits.max_concurrent, 4);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// What one request may cost.
    pub limits: Limits,
    /// When set, every request must carry `Authorization: Bearer <token>`.
    pub token: Option<BearerToken>,
}

/// The receiver's router with the default [`Config`] (default limits, no token: for
/// loopback); serve it with `axum::serve`.
///
/// A malformed body gets `400` with the reason; nothing from it is written, and other
/// requests are unaffected.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use deputy_audit::pipeline::JsonLinesSink;
/// let shared = Arc::new(Mutex::new((deputy_audit::Pipeline::default(), JsonLinesSink::new(Vec::new(), Vec::new()))));
/// let app: axum::Router = deputy_audit::receiver::router(shared);
/// ```
pub fn router<S: Sink + Send + 'static>(shared: SharedSink<S>) -> Router {
    router_with(shared, Config::default())
}

/// The receiver's router with `config`.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use deputy_audit::pipeline::JsonLinesSink;
/// use deputy_audit::receiver::{BearerToken, Config, router_with};
/// let shared = Arc::new(Mutex::new((deputy_audit::Pipeline::default(), JsonLinesSink::new(Vec::new(), Vec::new()))));
/// let token = BearerToken::new("0123456789abcdef0123".to_owned().into()).unwrap();
/// let app: axum::Router = router_with(shared, Config { token: Some(token), ..Config::default() });
/// ```
pub fn router_with<S: Sink + Send + 'static>(shared: SharedSink<S>, config: Config) -> Router {
    let turns = Arc::new(Semaphore::new(config.limits.max_concurrent.max(1)));
    Router::new()
        .route("/v1/traces", post(export::<S>))
        .with_state(Arc::new(Receiver {
            shared,
            config,
            turns,
        }))
}

struct Receiver<S> {
    shared: SharedSink<S>,
    config: Config,
    /// One permit per request being read, gunzipped or decoded.
    turns: Arc<Semaphore>,
}

async fn export<S: Sink + Send + 'static>(
    State(receiver): State<Arc<Receiver<S>>>,
    request: Request,
) -> Response {
    let limits = &receiver.config.limits;
    let headers = request.headers();
    if let Some(token) = &receiver.config.token
        && !token.admits(headers)
    {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token: send `Authorization: Bearer <token>` (for OTLP exporters, OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>)",
        );
    }
    let kind = Encoding::parse(header_str(headers, header::CONTENT_ENCODING))
        .and_then(|e| Format::parse(header_str(headers, header::CONTENT_TYPE)).map(|f| (e, f)));
    let (encoding, format) = match kind {
        Ok(kind) => kind,
        Err(e) => return rejected(&e),
    };
    if content_length(headers).is_some_and(|n| n > limits.max_body_bytes) {
        return rejected(&ReceiveError::BodyTooLarge(limits.max_body_bytes, ""));
    }
    let turn = tokio::time::timeout(limits.queue_wait, receiver.turns.clone().acquire_owned());
    let Ok(Ok(turn)) = turn.await else {
        let mut response = refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the audit receiver is busy with other requests; retry later",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return response;
    };
    let body = match read_body(request.into_body(), limits).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let work = {
        let receiver = receiver.clone();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            ingest(&receiver, encoding, format, body)
        })
    };
    match work.await.unwrap_or(Err(ReceiveError::Poisoned)) {
        Ok(()) if format == Format::Json => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{}",
        )
            .into_response(),
        // An empty ExportTraceServiceResponse encodes to zero bytes.
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            Bytes::new(),
        )
            .into_response(),
        Err(e) => rejected(&e),
    }
}

async fn read_body(body: Body, limits: &Limits) -> Result<Bytes, Response> {
    let read = Limited::new(body, limits.max_body_bytes).collect();
    match tokio::time::timeout(limits.body_timeout, read).await {
        Err(_) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "the body took over {} s to arrive",
                limits.body_timeout.as_secs()
            ),
        )),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(rejected(
            &ReceiveError::BodyTooLarge(limits.max_body_bytes, ""),
        )),
        Ok(Err(e)) => Err(refuse(
            StatusCode::BAD_REQUEST,
            &format!("cannot read the body: {e}"),
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    if status == StatusCode::UNAUTHORIZED {
        return (
            status,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            message.to_owned(),
        )
            .into_response();
    }
    (status, message.to_owned()).into_response()
}

fn rejected(error: &ReceiveError) -> Response {
    let status = match error {
        ReceiveError::Output(_) | ReceiveError::Poisoned => {
            tracing::error!("audit receiver: {error}");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, &error.to_string());
        }
        ReceiveError::TooLarge(_)
        | ReceiveError::BodyTooLarge(..)
        | ReceiveError::JsonValues(_) => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    tracing::warn!("audit receiver rejected an export: {error}");
    refuse(status, &error.to_string())
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn content_length(headers: &HeaderMap) -> Option<usize> {
    header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse().ok())
}

/// Decodes the body outside the lock, then takes the lock to process and write its spans.
fn ingest<S: Sink>(
    receiver: &Receiver<S>,
    encoding: Encoding,
    format: Format,
    body: Bytes,
) -> Result<(), ReceiveError> {
    let limits = &receiver.config.limits;
    let plain = decode::decompress(&body, encoding, limits.max_body_bytes)?;
    let batch = match format {
        Format::Json => {
            let spans = decode::json_spans(&plain, limits)?;
            let mut guard = receiver.shared.lock().map_err(|_| ReceiveError::Poisoned)?;
            let batch = guard.0.spans(&spans, None);
            write_locked(&mut guard.1, &batch)?;
            batch
        }
        Format::Proto => {
            let spans = decode::proto_spans(&plain, limits)?;
            drop(plain);
            drop(body);
            let mut guard = receiver.shared.lock().map_err(|_| ReceiveError::Poisoned)?;
            let batch = guard.0.spans(&spans, None);
            write_locked(&mut guard.1, &batch)?;
            batch
        }
    };
    for error in &batch.errors {
        tracing::warn!("audit receiver skipped input: {error}");
    }
    Ok(())
}

fn write_locked<S: Sink>(sink: &mut S, batch: &crate::pipeline::Batch) -> Result<(), ReceiveError> {
    write_batch(batch, sink).map_err(ReceiveError::Output)?;
    sink.flush().map_err(ReceiveError::Output)
}
