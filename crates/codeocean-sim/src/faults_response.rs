//! Turning a [`FaultPlan`](crate::faults::FaultPlan) into a broken response.

use std::io;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde_json::Value;

use crate::faults::{BodyFault, Failure, Refusal};

const HTML_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// A request refused by a limit: `429` (or `503`) with `Retry-After`, in the origin's error
/// format.
pub(crate) fn refusal(r: Refusal, storage: bool) -> Response {
    let (status, retry_after) = match r {
        Refusal::RateLimited { retry_after } => (429, retry_after),
        Refusal::Inflight { status } => (status, 1),
    };
    let mut resp = failure(Failure::Status(status), storage);
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    resp
}

/// The response that replaces the handler's. `storage` selects S3-style XML bodies.
pub(crate) fn failure(f: Failure, storage: bool) -> Response {
    let (status, code, message) = match f {
        Failure::Html => {
            return (
                StatusCode::BAD_GATEWAY,
                [(header::CONTENT_TYPE, "text/html")],
                HTML_PAGE,
            )
                .into_response();
        }
        Failure::TooMany { retry_after } => {
            let mut r = failure(Failure::Status(429), storage);
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            return r;
        }
        Failure::Status(429) => (
            StatusCode::TOO_MANY_REQUESTS,
            "SlowDown",
            "rate limit exceeded",
        ),
        Failure::Status(500) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "internal server error",
        ),
        Failure::Status(502) => (StatusCode::BAD_GATEWAY, "BadGateway", "bad gateway"),
        Failure::Status(s) => (
            StatusCode::from_u16(s).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "ServiceUnavailable",
            "service temporarily unavailable",
        ),
    };
    if storage {
        xml_error(status, code, message)
    } else {
        crate::http::json_error(status, message)
    }
}

/// An S3-style XML error.
pub(crate) fn xml_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/xml")],
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ),
    )
        .into_response()
}

/// Adds unknown fields to every JSON object of a response and replaces some enum values with
/// values no client knows, the way a newer server would.
pub(crate) async fn add_unknowns(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    mangle(&mut value);
    let out = serde_json::to_vec(&value).unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(out.len()));
    Response::from_parts(parts, Body::from(out))
}

fn mangle(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let is_asset = map.contains_key("mount") && map.contains_key("type");
            for (k, v) in map.iter_mut() {
                match (k.as_str(), v.is_string()) {
                    ("status", true) => *v = "under_review".into(),
                    ("origin", true) => *v = "azure".into(),
                    ("type", true) if is_asset => *v = "vector_index".into(),
                    _ => mangle(v),
                }
            }
            map.insert(
                "x_sim_added".into(),
                serde_json::json!({"note": "a field this client does not know", "n": [1, 2.5]}),
            );
        }
        Value::Array(items) => items.iter_mut().for_each(mangle),
        _ => {}
    }
}

/// Breaks a response body after about half of it: the connection dies ([`BodyFault::Reset`]) or
/// the body ends cleanly without `Content-Length` ([`BodyFault::Truncate`]).
pub(crate) async fn break_body(response: Response, fault: BodyFault) -> Response {
    let (mut parts, body) = response.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Without a declared length (small API bodies), read it to know where half is.
    let (body, total) = match declared {
        Some(n) => (body, n),
        None => match axum::body::to_bytes(body, 1 << 24).await {
            Ok(b) => {
                let n = b.len() as u64;
                (Body::from(b), n)
            }
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    };
    let limit = total / 2;
    if fault == BodyFault::Truncate {
        parts.headers.remove(header::CONTENT_LENGTH);
    } else {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    }
    let reset = fault == BodyFault::Reset;
    // Stages: 0 = passing data, 1 = limit reached, 2 = done.
    let stream = futures_util::stream::unfold(
        (body.into_data_stream(), 0u64, 0u8),
        move |(mut inner, sent, stage)| async move {
            match stage {
                0 => match inner.next().await {
                    Some(Ok(chunk)) => {
                        let room = limit - sent;
                        if (chunk.len() as u64) < room {
                            let n = chunk.len() as u64;
                            Some((Ok(chunk), (inner, sent + n, 0)))
                        } else {
                            let part = chunk.slice(..room as usize);
                            Some((Ok(part), (inner, limit, 1)))
                        }
                    }
                    Some(Err(e)) => Some((Err(io::Error::other(e)), (inner, sent, 2))),
                    None => None,
                },
                1 if reset => Some((
                    Err(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        "injected connection reset",
                    )),
                    (inner, sent, 2),
                )),
                _ => None,
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(stream))
}
