//! The API origin: the 48 operations of `openapi/codeocean.yaml` under `/api/v1` (the 12 of the
//! API documents here; searches in `search.rs`, capsule and pipeline management in `items.rs`,
//! the other data asset operations in `assets.rs`), and the admin routes under `/__sim`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use base64::Engine as _;
use codeocean_raw::open::{CustomMetadataValue, DataAssetOrigin, DataAssetType, ResultItemType};
use codeocean_raw::types;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::catalogue::{Entry, Flat, Runnable};
use crate::faults::{FaultPlan, RouteClass};
use crate::state::{
    self, Asset, AssetFiles, Item, OWNER, OWNER_EMAIL, Phase, RecordedRequest, Run,
};
use crate::{ApiGeneration, faults_response, storage};

type St = State<Arc<state::State>>;

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

pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "message": message }))).into_response()
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The API router (operations, gate, auth, faults, recording) and the admin routes.
pub(crate) fn router(st: Arc<state::State>) -> Router {
    use crate::{assets, items, search};
    let api = Router::new()
        .route("/capsules/search", post(search::search_capsules))
        .route("/pipelines/search", post(search::search_pipelines))
        .route("/data_assets/search", post(search::search_data_assets))
        .route(
            "/capsules/{id}",
            get(get_capsule).delete(items::delete_capsule),
        )
        .route(
            "/pipelines/{id}",
            get(items::get_pipeline).delete(items::delete_pipeline),
        )
        .route(
            "/capsules/{id}/computations",
            get(list_capsule_computations),
        )
        .route(
            "/pipelines/{id}/computations",
            get(items::list_pipeline_computations),
        )
        .route("/capsules/{id}/app_panel", get(items::capsule_app_panel))
        .route("/pipelines/{id}/app_panel", get(items::pipeline_app_panel))
        .route("/capsules/{id}/archive", patch(items::archive_capsule))
        .route("/pipelines/{id}/archive", patch(items::archive_pipeline))
        .route("/capsules/{id}/data_assets", post(items::attach_capsule))
        .route("/pipelines/{id}/data_assets", post(items::attach_pipeline))
        .route("/capsules/{id}/data_assets/", delete(items::detach_capsule))
        .route(
            "/pipelines/{id}/data_assets/",
            delete(items::detach_pipeline),
        )
        .route(
            "/capsules/{id}/permissions",
            get(items::capsule_permissions).post(items::update_capsule_permissions),
        )
        .route(
            "/pipelines/{id}/permissions",
            get(items::pipeline_permissions).post(items::update_pipeline_permissions),
        )
        .route("/capsules/{id}/release", post(items::release_capsule))
        .route("/pipelines/{id}/release", post(items::release_pipeline))
        .route(
            "/capsules/{id}/release/{job}",
            get(items::capsule_release_job),
        )
        .route(
            "/pipelines/{id}/release/{job}",
            get(items::pipeline_release_job),
        )
        .route("/capsules/{id}/sync", post(items::sync_capsule))
        .route("/pipelines/{id}/sync", post(items::sync_pipeline))
        .route("/computations", post(run_computation))
        .route(
            "/computations/{id}",
            get(get_computation)
                .delete(delete_computation)
                .patch(rename_computation),
        )
        .route(
            "/computations/{id}/data_assets",
            post(items::attach_computation),
        )
        .route(
            "/computations/{id}/data_assets/",
            delete(items::detach_computation),
        )
        .route("/computations/{id}/results", post(list_results))
        .route("/computations/{id}/results/urls", get(result_urls))
        .route(
            "/computations/{id}/results/download_url",
            get(result_download_url),
        )
        .route("/custom_metadata", get(assets::custom_metadata))
        .route("/data_assets", post(create_data_asset))
        .route(
            "/data_assets/{id}",
            get(get_data_asset)
                .put(update_data_asset)
                .delete(assets::delete_data_asset),
        )
        .route(
            "/data_assets/{id}/archive",
            patch(assets::archive_data_asset),
        )
        .route("/data_assets/{id}/files", post(assets::list_files))
        .route("/data_assets/{id}/files/urls", get(assets::file_urls))
        .route(
            "/data_assets/{id}/files/download_url",
            get(assets::file_download_url),
        )
        .route(
            "/data_assets/{id}/permissions",
            get(assets::permissions).post(assets::update_permissions),
        )
        .route("/data_assets/{id}/transfer", post(assets::transfer));
    Router::new()
        .nest("/api/v1", api)
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(middleware::from_fn_with_state(st.clone(), api_layer))
        .nest("/__sim", crate::admin::router())
        .with_state(st)
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

fn authorized(st: &state::State, headers: &HeaderMap) -> bool {
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
async fn read_body(body: axum::body::Body) -> Result<Bytes, ApiError> {
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

async fn api_layer(State(st): St, req: Request, next: Next) -> Response {
    let at = state::unix_now_f64();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let has_auth = req.headers().contains_key(header::AUTHORIZATION);
    let (parts, body) = req.into_parts();
    let body = read_body(body).await;
    let req = Request::from_parts(
        parts,
        axum::body::Body::from(body.as_ref().cloned().unwrap_or_default()),
    );
    let (operation, class) = classify(&method, &path);
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
    let plan = match class {
        Some(c) if !removed => st.plan(c),
        _ => FaultPlan::default(),
    };
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    let response = if removed {
        // Exactly what an unknown route gets: no JSON error for a client to misread as "file
        // not found".
        StatusCode::NOT_FOUND.into_response()
    } else if let Err(e) = body {
        e.into_response()
    } else if let Some(failure) = plan.fail {
        faults_response::failure(failure, false)
    } else if class.is_some() && !authorized(&st, req.headers()) {
        let mut r = json_error(
            StatusCode::UNAUTHORIZED,
            "missing or invalid API token: use HTTP Basic with the token as user name",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Code Ocean\""),
        );
        r
    } else {
        let mut req = req;
        req.extensions_mut().insert(plan);
        next.run(req).await
    };
    let response = if plan.unknown && response.status().is_success() {
        faults_response::add_unknowns(response).await
    } else {
        response
    };
    let status = response.status().as_u16();
    let response = match plan.body {
        Some(fault) => faults_response::break_body(response, fault).await,
        None => response,
    };
    st.record(RecordedRequest {
        origin: "api",
        method: method.to_string(),
        path,
        operation,
        authorization: has_auth,
        status,
        at,
    });
    response
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

pub(crate) fn query(
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<HashMap<String, String>> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))
}

/// Which objects a route takes: `/capsules/...` routes take capsules, `/pipelines/...` routes
/// pipelines; the two original capsule routes take either (pipelines are capsules to the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Capsule,
    Pipeline,
    Either,
}

impl Kind {
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Kind::Pipeline => "pipeline",
            Kind::Capsule | Kind::Either => "capsule",
        }
    }

    fn admits(self, item: &Item) -> bool {
        match self {
            Kind::Capsule => !item.is_pipeline,
            Kind::Pipeline => item.is_pipeline,
            Kind::Either => true,
        }
    }
}

/// Runs `f` on the capsule or pipeline `id` (404 when there is none of this kind).
pub(crate) fn with_item<T>(
    st: &state::State,
    id: &str,
    kind: Kind,
    f: impl FnOnce(&mut Item) -> T,
) -> ApiResult<T> {
    let mut items = st.items.lock().unwrap();
    match items.get_mut(id) {
        Some(item) if kind.admits(item) => Ok(f(item)),
        _ => Err(ApiError::not_found(format!(
            "{} {id} not found",
            kind.noun()
        ))),
    }
}

pub(crate) fn capsule_wire(st: &state::State, item: &Item) -> types::Capsule {
    let r = &item.runnable;
    types::Capsule {
        article: Default::default(),
        cloned_from_url: None,
        created: Some(st.clock.epoch(item.created)),
        description: Some(r.description.clone()),
        field: Some("Bioinformatics".into()),
        id: r.id.clone(),
        keywords: Some(vec!["simulation".into()]),
        last_accessed: Some(st.clock.epoch(item.last_accessed.max(0.0))),
        name: Some(r.name.clone()),
        original_capsule: None,
        owner: Some(OWNER.into()),
        owner_email: Some(OWNER_EMAIL.into()),
        published_capsule: None,
        release_capsule: None,
        slug: Some(
            r.slug
                .clone()
                .unwrap_or_else(|| r.id.chars().take(7).collect()),
        ),
        status: Some(item.status(&st.clock)),
        submission: Default::default(),
        tags: vec![],
        versions: item.versions(&st.clock),
    }
}

async fn get_capsule(State(st): St, Path(id): Path<String>) -> ApiResult<Json<types::Capsule>> {
    Ok(Json(with_item(&st, &id, Kind::Either, |item| {
        capsule_wire(&st, item)
    })?))
}

async fn list_capsule_computations(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<types::Computation>>> {
    Ok(Json(computations_of(&st, &id, Kind::Either)?))
}

/// Every computation of a capsule or pipeline, oldest first.
pub(crate) fn computations_of(
    st: &state::State,
    id: &str,
    kind: Kind,
) -> ApiResult<Vec<types::Computation>> {
    with_item(st, id, kind, |_| ())?;
    let runs = st.runs.lock().unwrap();
    // Cloud workstation sessions of a capsule are among its computations (`cloud_workstation`
    // tells them apart).
    let mut mine: Vec<&Run> = runs.values().filter(|r| r.runnable.id == id).collect();
    mine.sort_by(|a, b| a.created.total_cmp(&b.created).then(a.id.cmp(&b.id)));
    Ok(mine.into_iter().map(|r| r.to_wire(&st.clock)).collect())
}

fn validate_run(
    st: &state::State,
    req: &mut types::RunRequest,
) -> ApiResult<(Arc<Runnable>, Arc<Flat>, bool)> {
    let (id, kind, field) = match (&req.capsule_id, &req.pipeline_id) {
        (Some(id), _) => (id, Kind::Capsule, "capsule_id"),
        (None, Some(id)) => (id, Kind::Pipeline, "pipeline_id"),
        (None, None) => {
            return Err(ApiError::bad_request(
                "capsule_id or pipeline_id is required",
            ));
        }
    };
    let now = st.clock.now();
    let (runnable, flat, is_pipeline, versions) = with_item(st, id, kind, |item| {
        item.last_accessed = now;
        (
            item.runnable.clone(),
            item.flat.clone(),
            item.is_pipeline,
            item.versions(&st.clock).len() as i64,
        )
    })
    .map_err(|e| ApiError::not_found(format!("{field}: {}", e.1)))?;
    if let Some(v) = req.version
        && (v < 1 || v > versions)
    {
        return Err(ApiError::bad_request(format!(
            "version: {} has {versions} released version(s), not {v}",
            runnable.id
        )));
    }
    {
        let assets = st.assets.lock().unwrap();
        for (i, d) in req.data_assets.iter_mut().flatten().enumerate() {
            let asset = assets.get(&d.id).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "data_assets[{i}].id: data asset {} not found",
                    d.id
                ))
            })?;
            if d.mount.is_none() {
                d.mount = asset.wire.mount.clone();
            }
        }
    }
    if let Some(declared) = &runnable.parameters {
        if req.parameters.as_ref().map_or(0, Vec::len) > declared.len() {
            return Err(ApiError::bad_request(format!(
                "parameters: {} takes {} parameter(s), got {}",
                runnable.id,
                declared.len(),
                req.parameters.as_ref().map_or(0, Vec::len)
            )));
        }
        for (i, p) in req.named_parameters.iter().flatten().enumerate() {
            if !declared.contains(&p.param_name) {
                return Err(ApiError::bad_request(format!(
                    "named_parameters[{i}].param_name: {} has no parameter `{}` (it has: {})",
                    runnable.id,
                    p.param_name,
                    declared.join(", ")
                )));
            }
        }
    }
    for (i, p) in req.processes.iter().flatten().enumerate() {
        if !is_pipeline {
            return Err(ApiError::bad_request(format!(
                "processes[{i}]: only pipelines have processes"
            )));
        }
        if !runnable.processes.contains(&p.name) {
            return Err(ApiError::bad_request(format!(
                "processes[{i}].name: pipeline {} has no process `{}`",
                runnable.id, p.name
            )));
        }
    }
    Ok((runnable, flat, is_pipeline))
}

async fn run_computation(State(st): St, body: Bytes) -> ApiResult<Json<types::Computation>> {
    let (mut req, _): (types::RunRequest, _) = parse_body(&body)?;
    if req.capsule_id.is_some() {
        req.pipeline_id = None;
    }
    let (runnable, flat, is_pipeline) = validate_run(&st, &mut req)?;
    let id = st.new_id();
    let mut runs = st.runs.lock().unwrap();
    let run = Run {
        name: format!("Run {}", 1_000_000 + runs.len()),
        id: id.clone(),
        flat,
        runnable,
        is_pipeline,
        created: st.clock.now(),
        stopped_at: None,
        request: req,
        workstation: false,
    };
    let wire = run.to_wire(&st.clock);
    runs.insert(id, run);
    Ok(Json(wire))
}

pub(crate) fn with_run<T>(
    st: &state::State,
    id: &str,
    f: impl FnOnce(&mut Run) -> T,
) -> ApiResult<T> {
    let mut runs = st.runs.lock().unwrap();
    let run = runs
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found(format!("computation {id} not found")))?;
    Ok(f(run))
}

async fn get_computation(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<types::Computation>> {
    with_run(&st, &id, |r| Json(r.to_wire(&st.clock)))
}

async fn delete_computation(State(st): St, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let mut runs = st.runs.lock().unwrap();
    // A running computation is stopped first; then it is gone either way.
    runs.remove(&id)
        .ok_or_else(|| ApiError::not_found(format!("computation {id} not found")))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rename_computation(
    State(st): St,
    Path(id): Path<String>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<StatusCode> {
    let q = query(q)?;
    let name = q
        .get("name")
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("name: a non-empty `name` query parameter is required")
        })?
        .to_owned();
    with_run(&st, &id, |r| r.name = name)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A result path as the API takes it: relative to `/results`, `""` for the root; a leading or
/// trailing `/` is tolerated.
pub(crate) fn normalize(path: &str) -> &str {
    path.trim_matches('/')
}

async fn list_results(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<types::ResultsFolder>> {
    let (req, _): (types::ListResultsRequest, _) = parse_body(&body)?;
    let path = normalize(&req.path);
    let (flat, has_results) = with_run(&st, &id, |r| {
        (r.flat.clone(), r.has_results(st.clock.now()))
    })?;
    let missing = || {
        ApiError::not_found(format!(
            "folder `{path}` not found in the results of computation {id}"
        ))
    };
    if !has_results {
        return if path.is_empty() {
            Ok(Json(types::ResultsFolder { items: vec![] }))
        } else {
            Err(missing())
        };
    }
    folder_items(&flat, path)
        .map(|items| Json(types::ResultsFolder { items }))
        .ok_or_else(missing)
}

/// The entries directly inside the folder at `path` of a tree, or `None` when it is not a
/// folder of the tree.
pub(crate) fn folder_items(flat: &Flat, path: &str) -> Option<Vec<types::ResultItem>> {
    let Some(Entry::Folder(children)) = flat.entries.get(path) else {
        return None;
    };
    let items = children
        .iter()
        .map(|child| {
            let name = child.rsplit('/').next().unwrap_or(child).to_owned();
            match &flat.entries[child] {
                Entry::File(size) => types::ResultItem {
                    name,
                    path: child.clone(),
                    size: Some(*size as i64),
                    type_: ResultItemType::File,
                },
                Entry::Folder(_) => types::ResultItem {
                    name,
                    path: child.clone(),
                    size: None,
                    type_: ResultItemType::Folder,
                },
            }
        })
        .collect();
    Some(items)
}

/// Signed URLs for a result file: (download, view).
fn signed_urls(
    st: &state::State,
    id: &str,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
    plan: Option<FaultPlan>,
) -> ApiResult<(String, String)> {
    let q = query(q)?;
    let raw = q
        .get("path")
        .ok_or_else(|| ApiError::bad_request("path: the `path` query parameter is required"))?;
    let path = normalize(raw);
    let (flat, has_results) =
        with_run(st, id, |r| (r.flat.clone(), r.has_results(st.clock.now())))?;
    if !has_results || !matches!(flat.entries.get(path), Some(Entry::File(_))) {
        return Err(ApiError::not_found(format!(
            "file `{path}` not found in the results of computation {id}"
        )));
    }
    let expired = plan.is_some_and(|p| p.expire);
    let ttl = st.dynamic.read().unwrap().url_ttl;
    Ok((
        storage::sign_url(st, "results", id, path, ttl, expired),
        storage::sign_url(st, "view", id, path, ttl, expired),
    ))
}

async fn result_urls(
    State(st): St,
    Path(id): Path<String>,
    plan: Option<axum::Extension<FaultPlan>>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Json<types::ResultFileUrls>> {
    let (download_url, view_url) = signed_urls(&st, &id, q, plan.map(|p| p.0))?;
    Ok(Json(types::ResultFileUrls {
        download_url,
        view_url,
    }))
}

async fn result_download_url(
    State(st): St,
    Path(id): Path<String>,
    plan: Option<axum::Extension<FaultPlan>>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Json<types::ResultFileDownloadUrl>> {
    let (url, _) = signed_urls(&st, &id, q, plan.map(|p| p.0))?;
    Ok(Json(types::ResultFileDownloadUrl { url }))
}

pub(crate) fn check_metadata(m: &Option<types::CustomMetadata>) -> ApiResult<()> {
    for (k, v) in m.iter().flat_map(|m| m.iter()) {
        if matches!(v, CustomMetadataValue::Other(_)) {
            return Err(ApiError::bad_request(format!(
                "custom_metadata.{k}: values must be strings or numbers"
            )));
        }
    }
    Ok(())
}

async fn create_data_asset(State(st): St, body: Bytes) -> ApiResult<Json<types::DataAsset>> {
    let (req, _): (types::CreateDataAssetRequest, _) = parse_body(&body)?;
    for (field, value) in [("name", &req.name), ("mount", &req.mount)] {
        if value.trim().is_empty() {
            return Err(ApiError::bad_request(format!("{field}: must not be empty")));
        }
    }
    check_metadata(&req.custom_metadata)?;
    let source = req
        .source
        .as_ref()
        .ok_or_else(|| ApiError::bad_request("source: a source is required"))?;
    let comp = source.computation.as_ref().ok_or_else(|| {
        ApiError::bad_request(
            "source: the simulator creates data assets from computations only (source.computation)",
        )
    })?;
    let now = st.clock.now();
    let (files, size, fails, provenance, tree) = {
        let runs = st.runs.lock().unwrap();
        let run = runs.get(&comp.id).ok_or_else(|| {
            ApiError::bad_request(format!(
                "source.computation.id: computation {} not found",
                comp.id
            ))
        })?;
        if run.phase(now) != Phase::Ended {
            return Err(ApiError::bad_request(format!(
                "source.computation.id: computation {} has not finished",
                comp.id
            )));
        }
        let prefix = comp
            .path
            .as_deref()
            .map(normalize)
            .filter(|p| !p.is_empty());
        let flat = match prefix {
            None => run.flat.clone(),
            Some(p) => Arc::new(run.flat.subtree(p).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "source.computation.path: `{p}` is not a folder of the results of computation {}",
                    run.id
                ))
            })?),
        };
        let (files, size) = flat.totals();
        let tree = AssetFiles {
            flat,
            seed: run.runnable.run.seed,
            prefix: prefix.map(|p| format!("{p}/")).unwrap_or_default(),
        };
        let fails = if run.end_status() != "succeeded" {
            Some(format!("source computation {} did not succeed", run.id))
        } else if !run.has_results(now) {
            Some(format!("source computation {} has no results", run.id))
        } else {
            None
        };
        let provenance = types::Provenance {
            capsule: Some(run.runnable.id.clone()),
            commit: Some(format!("{:040x}", run.runnable.run.seed)),
            computation: Some(run.id.clone()),
            data_assets: run
                .request
                .data_assets
                .iter()
                .flatten()
                .map(|d| d.id.clone())
                .collect(),
            docker_image: Some(format!(
                "registry.codeocean.example/capsule/{}",
                run.runnable.id
            )),
            run_script: Some(
                if run.is_pipeline {
                    "main.nf"
                } else {
                    "code/run"
                }
                .into(),
            ),
        };
        (files, size, fails, provenance, tree)
    };
    let id = st.new_id();
    let wire = types::DataAsset {
        id: id.clone(),
        name: Some(req.name),
        description: Some(req.description.unwrap_or_default()),
        mount: Some(req.mount),
        tags: req.tags,
        custom_metadata: req.custom_metadata,
        owner: Some(OWNER.into()),
        owner_email: Some(OWNER_EMAIL.into()),
        files: Some(files as i64),
        size: Some(size as i64),
        type_: Some(DataAssetType::Result),
        provenance: Some(provenance),
        source_bucket: Some(types::SourceBucket {
            origin: Some(DataAssetOrigin::Local),
            ..Default::default()
        }),
        ..state::empty_asset()
    };
    let asset = Asset::new(wire, now, now + st.asset_delay, fails, Some(tree));
    let out = asset.to_wire(&st.clock);
    st.assets.lock().unwrap().insert(id, asset);
    Ok(Json(out))
}

async fn get_data_asset(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<types::DataAsset>> {
    let assets = st.assets.lock().unwrap();
    let a = assets
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("data asset {id} not found")))?;
    Ok(Json(a.to_wire(&st.clock)))
}

async fn update_data_asset(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<types::DataAsset>> {
    let (req, _): (types::UpdateDataAssetRequest, Value) = parse_body(&body)?;
    check_metadata(&req.custom_metadata)?;
    for (field, value) in [("name", &req.name), ("mount", &req.mount)] {
        if value.as_ref().is_some_and(|v| v.trim().is_empty()) {
            return Err(ApiError::bad_request(format!("{field}: must not be empty")));
        }
    }
    let mut assets = st.assets.lock().unwrap();
    let a = assets
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(format!("data asset {id} not found")))?;
    let w = &mut a.wire;
    if let Some(v) = req.name {
        w.name = Some(v);
    }
    if let Some(v) = req.description {
        w.description = Some(v);
    }
    if let Some(v) = req.mount {
        w.mount = Some(v);
    }
    if let Some(v) = req.tags {
        w.tags = v;
    }
    if let Some(v) = req.custom_metadata {
        w.custom_metadata = Some(v);
    }
    Ok(Json(a.to_wire(&st.clock)))
}

/// Stops a computation that is still running (in-process and admin use).
pub(crate) fn stop(st: &state::State, id: &str) -> bool {
    let now = st.clock.now();
    let mut runs = st.runs.lock().unwrap();
    match runs.get_mut(id) {
        Some(r) if r.phase(now) != Phase::Ended => {
            r.stopped_at = Some(now);
            true
        }
        _ => false,
    }
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

    #[test]
    fn a_null_metadata_value_is_refused_not_taken_for_absent() {
        let (r, _) = parse_body::<types::UpdateDataAssetRequest>(
            br#"{"name": null, "custom_metadata": {"k": null, "n": 1}}"#,
        )
        .unwrap();
        assert_eq!(r.name, None);
        let metadata = r.custom_metadata.clone().unwrap();
        assert_eq!(metadata.keys().collect::<Vec<_>>(), ["k", "n"]);
        let e = check_metadata(&r.custom_metadata).unwrap_err();
        assert!(e.1.contains("custom_metadata.k"), "{}", e.1);
        let (r, _) =
            parse_body::<types::UpdateDataAssetRequest>(br#"{"custom_metadata": null}"#).unwrap();
        assert_eq!(r.custom_metadata, None);
    }
}
