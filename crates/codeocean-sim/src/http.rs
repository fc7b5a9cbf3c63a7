//! HTTP helpers of the API origin: JSON errors, reading and parsing request bodies, query
//! strings, and the Basic auth check. Handlers and the API layer use them; they use nothing of
//! the handlers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::state;

/// The state extractor every handler takes.
pub(crate) type St = State<Arc<state::State>>;

/// A query string as handlers take it (its rejection becomes a 400 through [`query`]).
pub(crate) type Q = Result<Query<HashMap<String, String>>, QueryRejection>;

/// An error answered with a JSON body `{"message": ...}`.
#[derive(Debug)]
pub(crate) struct ApiError(pub(crate) StatusCode, pub(crate) String);

impl ApiError {
    pub(crate) fn bad_request(m: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, m.into())
    }
    pub(crate) fn not_found(m: impl Into<String>) -> Self {
        Self(StatusCode::NOT_FOUND, m.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_error(self.0, &self.1)
    }
}

/// An answer with a JSON body `{"message": ...}`.
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "message": message }))).into_response()
}

/// A handler's result: its answer, or an error answered as JSON.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Whether the request carries the token as HTTP Basic user name.
pub(crate) fn authorized(st: &state::State, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let user = decoded.split(|b| *b == b':').next().unwrap_or_default();
    // Constant-time comparison: the simulator is a stand-in for a server that guards secrets.
    let token = st.token.as_bytes();
    user.len() == token.len()
        && user
            .iter()
            .zip(token)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The largest request body the API takes (axum's default limit).
const BODY_LIMIT: usize = 2 << 20;
/// How much of a larger body is read (and dropped) before answering 413.
const DRAIN_LIMIT: u64 = 256 << 20;

/// Reads a request body of at most [`BODY_LIMIT`] bytes. A larger one is read on to its end (up
/// to [`DRAIN_LIMIT`]) and dropped, so that a client still sending it gets the 413 instead of a
/// broken pipe when the server closes a connection with unread data.
pub(crate) async fn read_body(body: axum::body::Body) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt as _;
    let mut body = body;
    let mut buf = Vec::new();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_request(format!("cannot read body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len() as u64;
        if total <= BODY_LIMIT as u64 {
            buf.extend_from_slice(&data);
        } else if total > DRAIN_LIMIT {
            break;
        }
    }
    if total > BODY_LIMIT as u64 {
        return Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {BODY_LIMIT} bytes"),
        ));
    }
    Ok(Bytes::from(buf))
}

/// Parses a JSON body: malformed JSON and fields of the wrong shape are 400s naming the place;
/// `null` counts as absent (the official Python SDK sends `null` for every unset field).
pub(crate) fn parse_body<T: DeserializeOwned + Serialize>(body: &[u8]) -> ApiResult<(T, Value)> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))?;
    strip_nulls(&mut value);
    let parsed: T = serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ApiError::bad_request(format!("invalid request body: {inner}"))
        } else {
            ApiError::bad_request(format!("invalid request body: field `{path}`: {inner}"))
        }
    })?;
    // serde reads a struct from an array of its fields in order too (`"range": [1, 2]`); the
    // spec says object, so an array where the parsed type is an object is refused.
    if let Ok(typed) = serde_json::to_value(&parsed)
        && let Some(path) = array_for_object(&value, &typed, String::new())
    {
        return Err(ApiError::bad_request(format!(
            "invalid request body: field `{}`: expected an object, not an array",
            if path.is_empty() { "." } else { &path }
        )));
    }
    Ok((parsed, value))
}

/// The path of the first array in `input` whose counterpart in `typed` (the parsed value written
/// back) is an object.
fn array_for_object(input: &Value, typed: &Value, path: String) -> Option<String> {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (input, typed) {
        (Value::Array(_), Value::Object(_)) => Some(path),
        (Value::Object(a), Value::Object(b)) => a
            .iter()
            .find_map(|(k, v)| b.get(k).and_then(|t| array_for_object(v, t, join(k)))),
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (v, t))| array_for_object(v, t, format!("{path}[{i}]"))),
        _ => None,
    }
}

/// Removes `null` members of objects, at any depth, except inside `custom_metadata`: there a key
/// names a field and `null` is a value (not a string or number, so it is refused), never "absent".
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            for (key, value) in map.iter_mut() {
                if key != "custom_metadata" {
                    strip_nulls(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The query string's parameters, or a 400 naming what is wrong with it.
pub(crate) fn query(q: Q) -> ApiResult<HashMap<String, String>> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))
}

#[cfg(test)]
mod tests {
    use codeocean_raw::types;

    use super::*;

    #[test]
    fn bodies_name_the_bad_field_and_ignore_nulls() {
        let e =
            parse_body::<types::RunRequest>(br#"{"capsule_id": "c", "data_assets": [{"id": 5}]}"#)
                .err()
                .unwrap();
        assert!(e.1.contains("data_assets[0].id"), "{}", e.1);
        let e = parse_body::<types::CapsuleSearchRequest>(
            br#"{"filters": [{"key": "n", "range": [null, 3]}]}"#,
        )
        .unwrap_err();
        assert!(
            e.1.contains("field `filters[0].range`: expected an object, not an array"),
            "{}",
            e.1
        );
        let (ok, _) = parse_body::<types::CapsuleSearchRequest>(
            br#"{"filters": [{"key": "n", "range": {"max": 3}}]}"#,
        )
        .unwrap();
        assert_eq!(
            ok.filters.unwrap()[0].range.as_ref().unwrap().max,
            Some(3.0)
        );
        let e = parse_body::<types::RunRequest>(b"{\"capsule_id\": \"\xff\"}")
            .err()
            .unwrap();
        assert!(e.1.starts_with("malformed JSON"), "{}", e.1);
        let (r, _) = parse_body::<types::RunRequest>(
            br#"{"capsule_id": "c", "data_assets": null, "parameters": null, "version": null}"#,
        )
        .unwrap();
        assert_eq!(r.capsule_id.as_deref(), Some("c"));
    }
}
