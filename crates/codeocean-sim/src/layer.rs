//! The middleware of both origins, in one shape: classify the request → draw its fault plan →
//! delay → answer a refusal, an injected failure or a missing token instead of the handler →
//! the handler → unknown fields and body faults → record. [`serve`] runs these steps; the API
//! layer ([`api`]) and the storage layer (`storage.rs`) each say only how to classify.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::faults::RouteClass;
use crate::http::{authorized, json_error, read_body};
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
    let c = classify(req).await;
    let plan = c.class.map(|class| st.plan(class)).unwrap_or_default();
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    let response = if let Some(r) = c.refused {
        r
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
    st.record(RecordedRequest {
        origin: origin.name(),
        method,
        path,
        operation: c.operation,
        authorization,
        status,
        at,
    });
    response
}

/// The API layer: reads the body (a 400 or 413 answers a bad one), finds the operation and its
/// fault class, hides the route the server's generation lacks, and checks the token.
pub(crate) async fn api(State(st): State<Arc<state::State>>, req: Request, next: Next) -> Response {
    let st = &*st;
    serve(st, Origin::Api, req, next, async move |req: Request| {
        let (operation, class) = classify(req.method(), req.uri().path());
        let (parts, body) = req.into_parts();
        let body = read_body(body).await;
        let req = Request::from_parts(
            parts,
            axum::body::Body::from(body.as_ref().cloned().unwrap_or_default()),
        );
        let removed = matches!(
            (operation, st.api()),
            (
                "get_result_file_urls" | "get_data_asset_file_urls",
                ApiGeneration::Legacy
            ) | (
                "get_result_file_download_url" | "get_data_asset_file_download_url",
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
            operation,
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

/// Maps a request to its operation id and route class (`None` for routes the API lacks).
fn classify(method: &Method, path: &str) -> (&'static str, Option<RouteClass>) {
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return ("unknown", None);
    };
    let segs: Vec<&str> = rest.split('/').collect();
    let m = method.as_str();
    use RouteClass as C;
    let (op, class) = match (m, segs.as_slice()) {
        ("POST", ["capsules", "search"]) => ("search_capsules", C::Search),
        ("POST", ["pipelines", "search"]) => ("search_pipelines", C::Search),
        ("POST", ["data_assets", "search"]) => ("search_data_assets", C::Search),
        ("GET" | "HEAD", ["capsules", _]) => ("get_capsule", C::Capsules),
        ("GET" | "HEAD", ["pipelines", _]) => ("get_pipeline", C::Capsules),
        ("GET" | "HEAD", ["capsules", _, "computations"]) => {
            ("list_capsule_computations", C::Capsules)
        }
        ("GET" | "HEAD", ["pipelines", _, "computations"]) => {
            ("list_pipeline_computations", C::Capsules)
        }
        ("DELETE", ["capsules", _]) => ("delete_capsule", C::Manage),
        ("DELETE", ["pipelines", _]) => ("delete_pipeline", C::Manage),
        ("GET" | "HEAD", ["capsules", _, "app_panel"]) => ("get_capsule_app_panel", C::Manage),
        ("GET" | "HEAD", ["pipelines", _, "app_panel"]) => ("get_pipeline_app_panel", C::Manage),
        ("PATCH", ["capsules", _, "archive"]) => ("archive_capsule", C::Manage),
        ("PATCH", ["pipelines", _, "archive"]) => ("archive_pipeline", C::Manage),
        ("POST", ["capsules", _, "data_assets"]) => ("attach_capsule_data_assets", C::Manage),
        ("POST", ["pipelines", _, "data_assets"]) => ("attach_pipeline_data_assets", C::Manage),
        ("DELETE", ["capsules", _, "data_assets", ""]) => ("detach_capsule_data_assets", C::Manage),
        ("DELETE", ["pipelines", _, "data_assets", ""]) => {
            ("detach_pipeline_data_assets", C::Manage)
        }
        ("GET" | "HEAD", ["capsules", _, "permissions"]) => ("get_capsule_permissions", C::Manage),
        ("GET" | "HEAD", ["pipelines", _, "permissions"]) => {
            ("get_pipeline_permissions", C::Manage)
        }
        ("POST", ["capsules", _, "permissions"]) => ("update_capsule_permissions", C::Manage),
        ("POST", ["pipelines", _, "permissions"]) => ("update_pipeline_permissions", C::Manage),
        ("POST", ["capsules", _, "release"]) => ("release_capsule", C::Manage),
        ("POST", ["pipelines", _, "release"]) => ("release_pipeline", C::Manage),
        ("GET" | "HEAD", ["capsules", _, "release", _]) => ("get_capsule_release_job", C::Manage),
        ("GET" | "HEAD", ["pipelines", _, "release", _]) => ("get_pipeline_release_job", C::Manage),
        ("POST", ["capsules", _, "sync"]) => ("sync_capsule", C::Manage),
        ("POST", ["pipelines", _, "sync"]) => ("sync_pipeline", C::Manage),
        ("POST", ["computations"]) => ("run_computation", C::Run),
        ("GET" | "HEAD", ["computations", _]) => ("get_computation", C::Computations),
        ("DELETE", ["computations", _]) => ("delete_computation", C::Computations),
        ("PATCH", ["computations", _]) => ("rename_computation", C::Computations),
        ("POST", ["computations", _, "data_assets"]) => {
            ("attach_computation_data_assets", C::Computations)
        }
        ("DELETE", ["computations", _, "data_assets", ""]) => {
            ("detach_computation_data_assets", C::Computations)
        }
        ("POST", ["computations", _, "results"]) => ("list_computation_results", C::Results),
        ("GET" | "HEAD", ["computations", _, "results", "urls"]) => {
            ("get_result_file_urls", C::Urls)
        }
        ("GET" | "HEAD", ["computations", _, "results", "download_url"]) => {
            ("get_result_file_download_url", C::Urls)
        }
        ("GET" | "HEAD", ["custom_metadata"]) => ("get_custom_metadata", C::DataAssets),
        ("POST", ["data_assets"]) => ("create_data_asset", C::DataAssets),
        ("GET" | "HEAD", ["data_assets", _]) => ("get_data_asset", C::DataAssets),
        ("PUT", ["data_assets", _]) => ("update_data_asset", C::DataAssets),
        ("DELETE", ["data_assets", _]) => ("delete_data_asset", C::DataAssets),
        ("PATCH", ["data_assets", _, "archive"]) => ("archive_data_asset", C::DataAssets),
        ("POST", ["data_assets", _, "files"]) => ("list_data_asset_files", C::Results),
        ("GET" | "HEAD", ["data_assets", _, "files", "urls"]) => {
            ("get_data_asset_file_urls", C::Urls)
        }
        ("GET" | "HEAD", ["data_assets", _, "files", "download_url"]) => {
            ("get_data_asset_file_download_url", C::Urls)
        }
        ("GET" | "HEAD", ["data_assets", _, "permissions"]) => {
            ("get_data_asset_permissions", C::DataAssets)
        }
        ("POST", ["data_assets", _, "permissions"]) => {
            ("update_data_asset_permissions", C::DataAssets)
        }
        ("POST", ["data_assets", _, "transfer"]) => ("transfer_data_asset", C::DataAssets),
        _ => return ("unknown", None),
    };
    (op, Some(class))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_operation() {
        let cases = [
            ("GET", "/api/v1/capsules/x", "get_capsule"),
            (
                "GET",
                "/api/v1/capsules/x/computations",
                "list_capsule_computations",
            ),
            ("POST", "/api/v1/computations", "run_computation"),
            ("GET", "/api/v1/computations/x", "get_computation"),
            ("DELETE", "/api/v1/computations/x", "delete_computation"),
            ("PATCH", "/api/v1/computations/x", "rename_computation"),
            (
                "POST",
                "/api/v1/computations/x/results",
                "list_computation_results",
            ),
            (
                "GET",
                "/api/v1/computations/x/results/urls",
                "get_result_file_urls",
            ),
            (
                "GET",
                "/api/v1/computations/x/results/download_url",
                "get_result_file_download_url",
            ),
            ("POST", "/api/v1/data_assets", "create_data_asset"),
            ("GET", "/api/v1/data_assets/x", "get_data_asset"),
            ("PUT", "/api/v1/data_assets/x", "update_data_asset"),
            ("POST", "/api/v1/capsules/search", "search_capsules"),
            ("POST", "/api/v1/pipelines/search", "search_pipelines"),
            ("POST", "/api/v1/data_assets/search", "search_data_assets"),
            ("GET", "/api/v1/pipelines/x", "get_pipeline"),
            ("DELETE", "/api/v1/capsules/x", "delete_capsule"),
            ("DELETE", "/api/v1/pipelines/x", "delete_pipeline"),
            (
                "GET",
                "/api/v1/capsules/x/app_panel",
                "get_capsule_app_panel",
            ),
            (
                "GET",
                "/api/v1/pipelines/x/app_panel",
                "get_pipeline_app_panel",
            ),
            ("PATCH", "/api/v1/capsules/x/archive", "archive_capsule"),
            ("PATCH", "/api/v1/pipelines/x/archive", "archive_pipeline"),
            (
                "GET",
                "/api/v1/pipelines/x/computations",
                "list_pipeline_computations",
            ),
            (
                "POST",
                "/api/v1/capsules/x/data_assets",
                "attach_capsule_data_assets",
            ),
            (
                "POST",
                "/api/v1/pipelines/x/data_assets",
                "attach_pipeline_data_assets",
            ),
            (
                "DELETE",
                "/api/v1/capsules/x/data_assets/",
                "detach_capsule_data_assets",
            ),
            (
                "DELETE",
                "/api/v1/pipelines/x/data_assets/",
                "detach_pipeline_data_assets",
            ),
            (
                "GET",
                "/api/v1/capsules/x/permissions",
                "get_capsule_permissions",
            ),
            (
                "GET",
                "/api/v1/pipelines/x/permissions",
                "get_pipeline_permissions",
            ),
            (
                "POST",
                "/api/v1/capsules/x/permissions",
                "update_capsule_permissions",
            ),
            (
                "POST",
                "/api/v1/pipelines/x/permissions",
                "update_pipeline_permissions",
            ),
            ("POST", "/api/v1/capsules/x/release", "release_capsule"),
            ("POST", "/api/v1/pipelines/x/release", "release_pipeline"),
            (
                "GET",
                "/api/v1/capsules/x/release/j",
                "get_capsule_release_job",
            ),
            (
                "GET",
                "/api/v1/pipelines/x/release/j",
                "get_pipeline_release_job",
            ),
            ("POST", "/api/v1/capsules/x/sync", "sync_capsule"),
            ("POST", "/api/v1/pipelines/x/sync", "sync_pipeline"),
            (
                "POST",
                "/api/v1/computations/x/data_assets",
                "attach_computation_data_assets",
            ),
            (
                "DELETE",
                "/api/v1/computations/x/data_assets/",
                "detach_computation_data_assets",
            ),
            ("GET", "/api/v1/custom_metadata", "get_custom_metadata"),
            ("DELETE", "/api/v1/data_assets/x", "delete_data_asset"),
            (
                "PATCH",
                "/api/v1/data_assets/x/archive",
                "archive_data_asset",
            ),
            (
                "POST",
                "/api/v1/data_assets/x/files",
                "list_data_asset_files",
            ),
            (
                "GET",
                "/api/v1/data_assets/x/files/urls",
                "get_data_asset_file_urls",
            ),
            (
                "GET",
                "/api/v1/data_assets/x/files/download_url",
                "get_data_asset_file_download_url",
            ),
            (
                "GET",
                "/api/v1/data_assets/x/permissions",
                "get_data_asset_permissions",
            ),
            (
                "POST",
                "/api/v1/data_assets/x/permissions",
                "update_data_asset_permissions",
            ),
            (
                "POST",
                "/api/v1/data_assets/x/transfer",
                "transfer_data_asset",
            ),
            ("POST", "/api/v1/capsules/x", "unknown"),
            ("DELETE", "/api/v1/capsules/x/data_assets", "unknown"),
            ("GET", "/api/v1/capsules/search", "get_capsule"),
        ];
        // Every operation of the spec is routed (and nothing else). The spec lives at the
        // workspace's root, outside this crate: read at run time, so that the packaged crate
        // (which does not carry it) still builds and runs its other tests.
        let ops: std::collections::BTreeSet<&str> = cases
            .iter()
            .map(|c| c.2)
            .filter(|op| *op != "unknown")
            .collect();
        let spec_path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi/codeocean.yaml");
        match std::fs::read_to_string(&spec_path) {
            Ok(text) => {
                let spec: std::collections::BTreeSet<&str> = text
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix("operationId: "))
                    .collect();
                assert_eq!(ops, spec);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!(
                    "spec check skipped: {} is not here (packaged crate)",
                    spec_path.display()
                );
            }
            Err(e) => panic!("reading {}: {e}", spec_path.display()),
        }
        for (m, p, op) in cases {
            assert_eq!(
                classify(&Method::from_bytes(m.as_bytes()).unwrap(), p).0,
                op,
                "{m} {p}"
            );
        }
    }
}
