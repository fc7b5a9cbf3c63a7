//! The storage origin: result and data asset files behind signed, expiring URLs (signed in
//! `tree.rs`), served S3-style.
//!
//! A URL reads `{origin}/{kind}/{owner}/{path}?X-Amz-Date=..&X-Amz-Expires=..&X-Amz-Signature=..`
//! where `kind` is `results` (download) or `view` for a file of a computation's results, and
//! `data` (download) or `data-view` for a file of a data asset; `owner` is the computation's or
//! the asset's id. The signature is an HMAC-SHA256, under a key
//! drawn when the simulator starts, of the object key and the expiry. The origin refuses any
//! request that carries `Authorization` (400, as S3 does for a second auth mechanism), expired or
//! tampered URLs (403), and serves single `Range` requests (206), honouring `If-Range` (an
//! `ETag` of another object, by strong comparison, gets the whole object: 200). The `ETag` names
//! the contents (the file's seed and size), so different contents have different tags.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::catalogue::Entry;
use crate::content::{Content, file_seed};
use crate::faults::RouteClass;
use crate::faults_response::xml_error;
use crate::layer::{Classified, Origin, serve};
use crate::state::{State as SimState, unix_now};
use crate::tree::{DATA, DATA_VIEW, RESULTS_VIEW};

pub(crate) fn router(st: Arc<SimState>) -> Router {
    Router::new()
        .route("/{*key}", get(object))
        .fallback(|| async { xml_error(StatusCode::NOT_FOUND, "NoSuchKey", "no such key") })
        .layer(middleware::from_fn_with_state(st.clone(), storage_layer))
        .with_state(st)
}

/// The storage layer: every request is of the storage class and authorized by its URL.
async fn storage_layer(State(st): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    serve(&st, Origin::Storage, req, next, async |req: Request| {
        Classified {
            req,
            operation: "storage_get",
            class: Some(RouteClass::Storage),
            refused: None,
            unauthorized: None,
        }
    })
    .await
}

async fn object(
    State(st): State<Arc<SimState>>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        return xml_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified",
        );
    }
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok());
    let (Some(date), Some(expires), Some(sig)) = (
        num("X-Amz-Date"),
        num("X-Amz-Expires"),
        q.get("X-Amz-Signature"),
    ) else {
        return xml_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Query-string authentication requires the X-Amz-Date, X-Amz-Expires and X-Amz-Signature parameters",
        );
    };
    let expiry = date.saturating_add(expires);
    if !st.verify(&key, expiry, sig) {
        return xml_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided",
        );
    }
    if unix_now() > expiry {
        return xml_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
    }
    let mut parts = key.splitn(3, '/');
    let (Some(kind), Some(owner), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
        return xml_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    let found = if kind == DATA || kind == DATA_VIEW {
        st.assets
            .lock()
            .unwrap()
            .get(owner)
            .and_then(|a| a.files.as_ref().and_then(|f| f.file(path)))
    } else {
        st.runs
            .lock()
            .unwrap()
            .get(owner)
            .and_then(|r| match r.flat.entries.get(path) {
                Some(Entry::File(size)) => Some((file_seed(r.runnable.run.seed, path), *size)),
                _ => None,
            })
    };
    let Some((seed, size)) = found else {
        return xml_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    // The entity tag names the contents: the seed and the size decide every byte.
    let etag = format!("\"{seed:016x}-{size:x}\"");
    // `If-Range` (RFC 9110 13.1.5): the range is served only if the tag matches, by the strong
    // comparison (a weak tag or a date never does: no `Last-Modified` is sent); otherwise the
    // whole object.
    let range = headers.get(header::RANGE).filter(|_| {
        headers
            .get(header::IF_RANGE)
            .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == etag))
    });
    let (status, start, end) = match range.map(|r| parse_range(r, size)) {
        None | Some(RangeSpec::Ignore) => (StatusCode::OK, 0, size),
        Some(RangeSpec::Unsatisfiable) => {
            let mut r = xml_error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                "The requested range is not satisfiable",
            );
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"),
            );
            return r;
        }
        Some(RangeSpec::Bytes(s, e)) => (StatusCode::PARTIAL_CONTENT, s, e),
    };
    let content = Content::new(seed, size);
    st.add_storage_bytes(end - start);
    let mut response = Response::new(Body::from_stream(futures_util::stream::iter(
        content.chunks(start, end).map(Ok::<_, std::io::Error>),
    )));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("ascii"));
    let content_type = if kind == RESULTS_VIEW || kind == DATA_VIEW {
        "text/plain"
    } else {
        "application/octet-stream"
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {start}-{}/{size}", end - 1)).expect("ascii"),
        );
    }
    response.into_response()
}

#[derive(Debug, PartialEq)]
enum RangeSpec {
    /// Serve the whole object (no usable range: several ranges or bad syntax).
    Ignore,
    /// 416.
    Unsatisfiable,
    /// Serve `start..end` (end exclusive).
    Bytes(u64, u64),
}

fn parse_range(value: &HeaderValue, size: u64) -> RangeSpec {
    let Some(spec) = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return RangeSpec::Ignore;
    };
    if spec.contains(',') {
        return RangeSpec::Ignore;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeSpec::Ignore;
    };
    let (a, b) = (a.trim(), b.trim());
    match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (None, Some(suffix)) if a.is_empty() => {
            if suffix == 0 || size == 0 {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::Bytes(size.saturating_sub(suffix), size)
            }
        }
        (Some(start), None) if b.is_empty() => {
            if start >= size {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::Bytes(start, size)
            }
        }
        (Some(start), Some(last)) if start <= last => {
            if start >= size {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::Bytes(start, last.min(size - 1) + 1)
            }
        }
        _ => RangeSpec::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |s: &str| parse_range(&HeaderValue::from_str(s).unwrap(), 100);
        assert_eq!(r("bytes=0-9"), RangeSpec::Bytes(0, 10));
        assert_eq!(r("bytes=90-"), RangeSpec::Bytes(90, 100));
        assert_eq!(r("bytes=-10"), RangeSpec::Bytes(90, 100));
        assert_eq!(r("bytes=50-500"), RangeSpec::Bytes(50, 100));
        assert_eq!(r("bytes=100-"), RangeSpec::Unsatisfiable);
        assert_eq!(r("bytes=-0"), RangeSpec::Unsatisfiable);
        assert_eq!(r("bytes=5-1"), RangeSpec::Ignore);
        assert_eq!(r("bytes=0-1,5-6"), RangeSpec::Ignore);
        assert_eq!(r("items=0-1"), RangeSpec::Ignore);
    }
}
