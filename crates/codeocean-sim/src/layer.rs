//! The middleware of both origins, in one shape: classify the request → its class's limits
//! (`rate`, `max_inflight`: a refused request draws nothing else) → draw its fault plan →
//! delay → answer a refusal, an injected failure or a missing token instead of the handler →
//! the handler → unknown fields and body faults → record. [`serve`] runs these steps; the API
//! layer ([`api`]) and the storage layer (`storage.rs`) each say only how to classify.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use codeocean_raw::Operation as Op;
use http_body_util::BodyExt;

use crate::faults::{FaultPlan, InflightGuard, RouteClass};
use crate::http::{authorized, json_error, read_body};
use crate::route_classes::route_class;
use crate::state::{self, RecordedRequest};
use crate::{ApiGeneration, faults_response};

/// The two origins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The API (`/api/v1`): JSON errors; body faults break any answer.
    Api,
    /// The signed-URL storage origin: S3-style XML errors; body faults break only objects served.
    Storage,
}

impl Origin {
    /// Its name in the request log.
    fn name(self) -> &'static str {
        match self {
            Origin::Api => "api",
            Origin::Storage => "storage",
        }
    }
}

/// What the middleware knows of a request before faults are drawn.
pub(crate) struct Classified {
    /// The request to hand on (the API's with its body read).
    pub(crate) req: Request,
    /// The operation id recorded (`"unknown"` for routes the origin lacks).
    pub(crate) operation: &'static str,
    /// Its fault class; `None`: no faults are drawn.
    pub(crate) class: Option<RouteClass>,
    /// An answer that replaces everything else, injected failures included.
    pub(crate) refused: Option<Response>,
    /// An answer that replaces the handler's unless a failure is injected (a missing token).
    pub(crate) unauthorized: Option<Response>,
}

/// The steps every request of `origin` goes through; `classify` is the origin's own part.
pub(crate) async fn serve<F, Fut>(
    st: &state::State,
    origin: Origin,
    req: Request,
    next: Next,
    classify: F,
) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Classified>,
{
    let at = state::unix_now_f64();
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let authorization = req.headers().contains_key(header::AUTHORIZATION);
    let http_version = format!("{:?}", req.version());
    // The bucket's key: a valid token's user name, or the anonymous bucket.
    let key = if authorized(st, req.headers()) {
        st.token.as_str()
    } else {
        ""
    };
    let c = classify(req).await;
    // Limits first: a refused request draws no other fault.
    let admitted = match c.class {
        Some(class) if c.refused.is_none() => st.fault_spec(class).admit(key, Instant::now()),
        _ => Ok(InflightGuard::none()),
    };
    let (guard, refusal) = match admitted {
        Ok(g) => (g, None),
        Err(r) => (InflightGuard::none(), Some(r)),
    };
    let plan = match (c.class, refusal) {
        (Some(class), None) => st.plan(class),
        _ => FaultPlan::default(),
    };
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    let response = if let Some(r) = c.refused {
        r
    } else if let Some(refusal) = refusal {
        faults_response::refusal(refusal, origin == Origin::Storage)
    } else if let Some(failure) = plan.fail {
        faults_response::failure(failure, origin == Origin::Storage)
    } else if let Some(r) = c.unauthorized {
        r
    } else {
        let mut req = c.req;
        req.extensions_mut().insert(plan);
        next.run(req).await
    };
    // Unknown fields go into JSON only: a no-op on the storage origin's objects.
    let response = if plan.unknown && response.status().is_success() {
        faults_response::add_unknowns(response).await
    } else {
        response
    };
    let status = response.status().as_u16();
    let response = match plan.body {
        Some(fault) if origin == Origin::Api || response.status().is_success() => {
            faults_response::break_body(response, fault).await
        }
        _ => response,
    };
    // The slot in flight is given back when the body has been sent or dropped.
    let response = if guard.holds() {
        response.map(|body| {
            axum::body::Body::new(body.map_err(move |e| {
                let _slot = &guard;
                e
            }))
        })
    } else {
        response
    };
    st.record(RecordedRequest {
        origin: origin.name(),
        method,
        path,
        operation: c.operation,
        authorization,
        status,
        http_version,
        at,
    });
    response
}

/// The API layer: reads the body (a 400 or 413 answers a bad one), finds the operation and its
/// fault class, hides the route the server's generation lacks, and checks the token.
pub(crate) async fn api(State(st): State<Arc<state::State>>, req: Request, next: Next) -> Response {
    let st = &*st;
    serve(st, Origin::Api, req, next, async move |req: Request| {
        let op = operation(req.method().as_str(), req.uri().path());
        let (parts, body) = req.into_parts();
        let body = read_body(body).await;
        let req = Request::from_parts(
            parts,
            axum::body::Body::from(body.as_ref().cloned().unwrap_or_default()),
        );
        let class = op.map(route_class);
        let removed = matches!(
            (op, st.api()),
            (
                Some(Op::GetResultFileUrls | Op::GetDataAssetFileUrls),
                ApiGeneration::Legacy
            ) | (
                Some(Op::GetResultFileDownloadUrl | Op::GetDataAssetFileDownloadUrl),
                ApiGeneration::Modern
            )
        );
        let unauthorized = (class.is_some() && !authorized(st, req.headers())).then(|| {
            let mut r = json_error(
                StatusCode::UNAUTHORIZED,
                "missing or invalid API token: use HTTP Basic with the token as user name",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Code Ocean\""),
            );
            r
        });
        Classified {
            req,
            operation: op.map_or("unknown", Op::id),
            // A removed route draws no faults.
            class: class.filter(|_| !removed),
            // Exactly what an unknown route gets: no JSON error for a client to misread as
            // "file not found".
            refused: if removed {
                Some(StatusCode::NOT_FOUND.into_response())
            } else {
                body.err().map(IntoResponse::into_response)
            },
            unauthorized,
        }
    })
    .await
}

/// The operation a request to the API is for, by the table: its path under `/api/v1`.
///
/// An empty segment where the table has a parameter is an empty id, as the router sees it (it
/// hands `""` to the handler): such a request is classified, faulted and authorized like any
/// other of its operation, so the table is asked again with empty segments filled in (the
/// interior ones, then a trailing one too, which is otherwise the literal end of a detach path).
fn operation(method: &str, path: &str) -> Option<Op> {
    let rest = path.strip_prefix("/api/v1")?;
    if !rest.starts_with('/') {
        return None;
    }
    Op::find(method, rest)
        .or_else(|| Op::find(method, &fill_empty(rest, false)))
        .or_else(|| Op::find(method, &fill_empty(rest, true)))
}

/// `path` with its empty segments (the trailing one only when `trailing`) replaced by `-`, an
/// id that is no literal segment of the table.
fn fill_empty(path: &str, trailing: bool) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len() - 1;
    segments
        .iter()
        .enumerate()
        .map(|(i, s)| match *s {
            "" if i > 0 && (i < last || trailing) => "-",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The operation's path under `/api/v1` with each `{param}` replaced by `id`.
    fn with_ids(op: Op, id: &str) -> String {
        let segments: Vec<&str> = op
            .path()
            .split('/')
            .map(|s| if s.starts_with('{') { id } else { s })
            .collect();
        format!("/api/v1{}", segments.join("/"))
    }

    fn concrete(op: Op) -> String {
        with_ids(op, "x")
    }

    #[test]
    fn empty_ids_are_ids_of_their_operation() {
        for op in Op::ALL {
            let path = with_ids(op, "");
            if op.path().contains('{') {
                assert_eq!(operation(op.method(), &path), Some(op), "{path}");
            }
        }
        // A trailing empty segment is an id where the table has one, and otherwise nothing.
        let get = format!(
            "{}/",
            concrete(Op::SearchCapsules).trim_end_matches("/search")
        );
        assert_eq!(operation("GET", &get), Some(Op::GetCapsule));
        let listing = format!("{}/", concrete(Op::GetCapsulePermissions));
        assert_eq!(operation("GET", &listing), None);
    }

    #[test]
    fn every_operation_is_found_from_its_method_and_path_and_nothing_near_it_is() {
        for op in Op::ALL {
            let (m, path) = (op.method(), concrete(op));
            assert_eq!(operation(m, &path), Some(op), "{m} {path}");
            if m == "GET" {
                assert_eq!(operation("HEAD", &path), Some(op), "HEAD {path}");
            }
            // Outside `/api/v1`, or a `/` too many or too few: no operation (a bare 404).
            assert_eq!(operation(m, &path["/api/v1".len()..]), None, "{m} {path}");
            assert_eq!(operation(m, &path.replacen("/api/v1", "/api/v1x", 1)), None);
            let other = match path.strip_suffix('/') {
                Some(p) => p.to_owned(),
                None => format!("{path}/"),
            };
            assert_ne!(operation(m, &other), Some(op), "{m} {other}");
        }
        // A literal segment is not an id for its own method, and is one for the others.
        let search = format!("/api/v1{}", Op::SearchCapsules.path());
        assert_eq!(operation("GET", &search), Some(Op::GetCapsule));
        assert_eq!(operation("POST", &concrete(Op::GetCapsule)), None);
        assert_eq!(
            operation(
                "DELETE",
                concrete(Op::DetachCapsuleDataAssets).trim_end_matches('/')
            ),
            None
        );
    }
}
