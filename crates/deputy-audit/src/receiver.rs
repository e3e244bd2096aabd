//! The OTLP/HTTP receiver: `POST /v1/traces` with protobuf or JSON bodies, gzip or not, so an
//! OpenTelemetry Collector (or any OTLP exporter) can forward spans to the pipeline.

use std::io::Read;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::otlp_json;
use crate::otlp_proto;
use crate::pipeline::{Batch, Pipeline, Sink, write_batch};

/// The largest request body accepted (compressed or not).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Shared state: the pipeline and where its output goes.
pub type SharedSink<S> = Arc<Mutex<(Pipeline, S)>>;

/// The receiver's router; serve it with `axum::serve`.
///
/// Each request is decoded and written on a blocking thread (the sink may be a file), so the
/// async runtime never waits on disk. A malformed body gets `400` with the reason; nothing
/// from it is written, and other requests are unaffected.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use deputy_audit::pipeline::JsonLinesSink;
/// let shared = Arc::new(Mutex::new((deputy_audit::Pipeline::default(), JsonLinesSink::new(Vec::new(), Vec::new()))));
/// let app: axum::Router = deputy_audit::receiver::router(shared);
/// ```
pub fn router<S: Sink + Send + 'static>(shared: SharedSink<S>) -> Router {
    Router::new()
        .route("/v1/traces", post(export::<S>))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(shared)
}

#[derive(Debug, thiserror::Error)]
enum ReceiveError {
    #[error("{0}")]
    Proto(#[from] otlp_proto::ProtoDecodeError),
    #[error("{0}")]
    Json(#[from] otlp_json::JsonDecodeError),
    #[error("body is not valid gzip: {0}")]
    Gzip(std::io::Error),
    #[error("body is over {MAX_BODY_BYTES} bytes once decompressed")]
    TooLarge,
    #[error("unsupported Content-Encoding {0:?}: send identity or gzip")]
    Encoding(String),
    #[error("unsupported Content-Type {0:?}: send application/x-protobuf or application/json")]
    ContentType(String),
    #[error("cannot write the audit output: {0}")]
    Output(std::io::Error),
    #[error("the audit pipeline failed earlier and holds no usable state; restart the receiver")]
    Poisoned,
}

async fn export<S: Sink + Send + 'static>(
    State(shared): State<SharedSink<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = header_str(&headers, header::CONTENT_TYPE)
        .is_some_and(|ct| ct.starts_with("application/json"));
    let work = tokio::task::spawn_blocking(move || ingest(&shared, &headers, &body));
    let outcome = match work.await {
        Ok(outcome) => outcome,
        Err(_) => Err(ReceiveError::Poisoned),
    };
    match outcome {
        Ok(()) if is_json => (
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
        Err(e @ (ReceiveError::Output(_) | ReceiveError::Poisoned)) => {
            tracing::error!("audit receiver: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response()
        }
        Err(e) => {
            tracing::warn!("audit receiver rejected an export: {e}");
            (StatusCode::BAD_REQUEST, e.to_string()).into_response()
        }
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn ingest<S: Sink>(
    shared: &SharedSink<S>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ReceiveError> {
    let body = match header_str(headers, header::CONTENT_ENCODING) {
        None | Some("identity") => std::borrow::Cow::Borrowed(body),
        Some("gzip") => std::borrow::Cow::Owned(gunzip(body)?),
        Some(other) => return Err(ReceiveError::Encoding(other.to_owned())),
    };
    let content_type =
        header_str(headers, header::CONTENT_TYPE).unwrap_or("application/x-protobuf");
    let mut guard = shared.lock().map_err(|_| ReceiveError::Poisoned)?;
    let (pipeline, sink) = &mut *guard;
    let batch = if content_type.starts_with("application/json") {
        let text = std::str::from_utf8(&body).map_err(|e| {
            ReceiveError::Json(otlp_json::JsonDecodeError {
                message: format!(
                    "body is not UTF-8 (invalid byte at offset {})",
                    e.valid_up_to()
                ),
                line: 1,
                column: 1,
            })
        })?;
        let mut batch = Batch::default();
        pipeline.json_document(text, None, &mut batch)?;
        batch
    } else if content_type.starts_with("application/x-protobuf")
        || content_type.starts_with("application/protobuf")
    {
        let spans = otlp_proto::decode(&body)?;
        pipeline.spans(&spans, None)
    } else {
        return Err(ReceiveError::ContentType(content_type.to_owned()));
    };
    for error in &batch.errors {
        tracing::warn!("audit receiver skipped input: {error}");
    }
    write_batch(&batch, sink).map_err(ReceiveError::Output)?;
    sink.flush().map_err(ReceiveError::Output)
}

fn gunzip(body: &[u8]) -> Result<Vec<u8>, ReceiveError> {
    let mut out = Vec::new();
    let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX) + 1;
    flate2::read::GzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(ReceiveError::Gzip)?;
    if out.len() > MAX_BODY_BYTES {
        return Err(ReceiveError::TooLarge);
    }
    Ok(out)
}
