//! One request's body to spans, outside the pipeline's lock: gunzip, the limits, decoding.

use std::borrow::Cow;
use std::io::Read;

use super::Limits;
use crate::otlp_json::{self, JsonDecodeError};
use crate::otlp_proto::{self, OverLimit, ProtoDecodeError};
use crate::span::{AttrValue, Span};

/// Why a request was not taken.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReceiveError {
    #[error("{0}")]
    Proto(#[from] ProtoDecodeError),
    #[error("{0}")]
    Json(#[from] JsonDecodeError),
    #[error("body is not valid gzip: {0}")]
    Gzip(std::io::Error),
    #[error("unsupported Content-Encoding {0:?}: send identity or gzip")]
    Encoding(String),
    #[error("unsupported Content-Type {0:?}: send application/x-protobuf or application/json")]
    ContentType(String),
    #[error("{0}; split the batch (e.g. the collector's send_batch_max_size) and send it again")]
    TooLarge(#[from] OverLimit),
    #[error("the body is over {0} bytes{1}; split the batch and send it again")]
    BodyTooLarge(usize, &'static str),
    #[error("the request holds more than {0} JSON values; split the batch and send it again")]
    JsonValues(usize),
    #[error("cannot write the audit output: {0}")]
    Output(std::io::Error),
    #[error("the audit pipeline failed earlier and holds no usable state; restart the receiver")]
    Poisoned,
}

/// How the body is encoded, from `Content-Encoding`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Encoding {
    Identity,
    Gzip,
}

/// What the body is, from `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Json,
    Proto,
}

impl Encoding {
    pub(super) fn parse(header: Option<&str>) -> Result<Self, ReceiveError> {
        match header {
            None | Some("identity") => Ok(Encoding::Identity),
            Some("gzip") => Ok(Encoding::Gzip),
            Some(other) => Err(ReceiveError::Encoding(other.to_owned())),
        }
    }
}

impl Format {
    pub(super) fn parse(header: Option<&str>) -> Result<Self, ReceiveError> {
        let content_type = header.unwrap_or("application/x-protobuf");
        if content_type.starts_with("application/json") {
            Ok(Format::Json)
        } else if content_type.starts_with("application/x-protobuf")
            || content_type.starts_with("application/protobuf")
        {
            Ok(Format::Proto)
        } else {
            Err(ReceiveError::ContentType(content_type.to_owned()))
        }
    }
}

/// The body gunzipped when it is gzip, never past `limit` bytes.
pub(super) fn decompress(
    body: &[u8],
    encoding: Encoding,
    limit: usize,
) -> Result<Cow<'_, [u8]>, ReceiveError> {
    match encoding {
        Encoding::Identity => Ok(Cow::Borrowed(body)),
        Encoding::Gzip => {
            let mut out = Vec::new();
            let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
            flate2::read::GzDecoder::new(body)
                .take(cap)
                .read_to_end(&mut out)
                .map_err(ReceiveError::Gzip)?;
            if out.len() > limit {
                return Err(ReceiveError::BodyTooLarge(limit, " once gunzipped"));
            }
            Ok(Cow::Owned(out))
        }
    }
}

/// A protobuf body's spans, measured on the wire first.
pub(super) fn proto_spans(
    body: &[u8],
    limits: &Limits,
) -> Result<Vec<Span<'static>>, ReceiveError> {
    otlp_proto::check_limits(body, &limits.wire())?;
    Ok(otlp_proto::decode(body)?)
}

/// A JSON body's spans (borrowing from it), its values counted first and its spans and
/// attribute values counted as they are decoded.
pub(super) fn json_spans<'a>(
    body: &'a [u8],
    limits: &Limits,
) -> Result<Vec<Span<'a>>, ReceiveError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        ReceiveError::Json(JsonDecodeError {
            message: format!(
                "body is not UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
            line: 1,
            column: 1,
        })
    })?;
    if otlp_json::count_values(text, limits.max_json_values) > limits.max_json_values {
        return Err(ReceiveError::JsonValues(limits.max_json_values));
    }
    let mut budget = Budget::new(limits);
    let mut spans = Vec::new();
    let scanned = otlp_json::scan_each(text, |span| budget.keep(span, &mut spans));
    if scanned.is_err() {
        (budget, spans) = (Budget::new(limits), Vec::new());
        otlp_json::decode_each(text, |span| budget.keep(span, &mut spans))?;
    }
    match budget.over {
        Some(over) => Err(ReceiveError::TooLarge(over)),
        None => Ok(spans),
    }
}

/// Spans and attribute values kept so far; past a limit, nothing more is kept.
struct Budget<'l> {
    limits: &'l Limits,
    spans: usize,
    attributes: usize,
    over: Option<OverLimit>,
}

impl<'l> Budget<'l> {
    fn new(limits: &'l Limits) -> Self {
        Budget {
            limits,
            spans: 0,
            attributes: 0,
            over: None,
        }
    }

    fn keep<'a>(&mut self, span: &Span<'a>, spans: &mut Vec<Span<'a>>) {
        if self.over.is_some() {
            return;
        }
        self.spans += 1;
        self.attributes += span
            .attributes
            .iter()
            .map(|a| 1 + nested(&a.value))
            .sum::<usize>();
        if self.spans > self.limits.max_spans {
            self.over = Some(OverLimit::Spans(self.limits.max_spans));
        } else if self.attributes > self.limits.max_attributes {
            self.over = Some(OverLimit::Attributes(self.limits.max_attributes));
        } else {
            spans.push(span.clone());
        }
    }
}

/// Values nested in `value` (array elements and list members, at every depth).
fn nested(value: &AttrValue<'_>) -> usize {
    match value {
        AttrValue::Array(values) => values.iter().map(|v| 1 + nested(v)).sum(),
        AttrValue::KvList(list) => list.iter().map(|a| 1 + nested(&a.value)).sum(),
        _ => 0,
    }
}
