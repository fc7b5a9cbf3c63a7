//! Admin routes under `/__sim` (no auth; they exist only in the simulator): counts, the request
//! log, the API generation, faults, the clock and the runs' timelines, so that a shell session or
//! a test in another process can watch and steer the simulator; and objects the API cannot make:
//! many data assets at once, copies of a capsule or pipeline, cloud workstation sessions; and
//! what a bucket of the catalogue holds, with what was written to it.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::ApiGeneration;
use crate::faults::Faults;
use crate::http::json_error;
use crate::state::{Phase, State as SimState};

type St = State<Arc<SimState>>;

pub(crate) fn router() -> Router<Arc<SimState>> {
    Router::new()
        .route("/__sim/stats", get(stats))
        .route("/__sim/requests", get(requests).delete(clear))
        .route("/__sim/config", get(config).put(set_config))
        .route("/__sim/faults/injected", get(injected))
        .route("/__sim/advance", post(advance))
        .route("/__sim/computations", get(computations))
        .route("/__sim/computations/{id}/stop", post(stop))
        .route("/__sim/data_assets", post(bulk_assets))
        .route("/__sim/capsules/{id}/copies", post(copies))
        .route("/__sim/cloud_workstations", post(workstation))
        .route("/__sim/buckets/{name}", get(bucket))
}

/// One object of a bucket (`GET /__sim/buckets/{name}`).
#[derive(Serialize)]
struct BucketObject {
    path: String,
    size: u64,
}

/// `GET /__sim/buckets/{name}`: a bucket of the catalogue with every object it holds now, its
/// own and those data assets (`target.aws`) and transfers wrote to it:
/// `{"name", "provider", "objects": [{"path", "size"}]}`, objects in key order.
async fn bucket(State(st): St, Path(name): Path<String>) -> Response {
    let now = st.clock.now();
    let buckets = st.buckets.lock().unwrap();
    let Some(b) = buckets.get(&name) else {
        return json_error(StatusCode::NOT_FOUND, &format!("bucket `{name}` not found"));
    };
    let objects: Vec<BucketObject> = b
        .objects(now)
        .into_iter()
        .map(|(path, size)| BucketObject { path, size })
        .collect();
    Json(serde_json::json!({
        "name": name,
        "provider": b.provider.as_str(),
        "objects": objects,
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Bulk {
    count: usize,
    #[serde(default)]
    name_prefix: Option<String>,
}

/// `POST /__sim/data_assets {"count": N, "name_prefix": "..."}`: N ready datasets at once
/// (see `assets::add_bulk`); answers `{"ids": [...]}`.
async fn bulk_assets(State(st): St, body: axum::body::Bytes) -> Response {
    let b: Bulk = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("invalid body: {e}")),
    };
    if b.count > crate::assets::MAX_BULK {
        return json_error(
            StatusCode::BAD_REQUEST,
            &format!("count: at most {} at once", crate::assets::MAX_BULK),
        );
    }
    let ids = crate::assets::add_bulk(&st, b.count, b.name_prefix.as_deref());
    Json(serde_json::json!({ "ids": ids })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Copies {
    #[serde(default = "one")]
    count: usize,
}

fn one() -> usize {
    1
}

/// `POST /__sim/capsules/{id}/copies {"count": N}`: N copies of a capsule or pipeline (for
/// searches over many, or to delete one without losing the original); answers `{"ids": [...]}`.
async fn copies(State(st): St, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    let c: Copies = if body.is_empty() {
        Copies { count: 1 }
    } else {
        match serde_json::from_slice(&body) {
            Ok(c) => c,
            Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("invalid body: {e}")),
        }
    };
    if c.count > crate::assets::MAX_BULK {
        return json_error(
            StatusCode::BAD_REQUEST,
            &format!("count: at most {} at once", crate::assets::MAX_BULK),
        );
    }
    match crate::apps::copy(&st, &id, c.count) {
        Some(ids) => Json(serde_json::json!({ "ids": ids })).into_response(),
        None => json_error(
            StatusCode::NOT_FOUND,
            &format!("no capsule or pipeline {id}"),
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Workstation {
    capsule_id: String,
}

/// `POST /__sim/cloud_workstations {"capsule_id": "..."}`: starts a cloud workstation session
/// (a computation with `cloud_workstation: true` that runs until stopped); answers it.
async fn workstation(State(st): St, body: axum::body::Bytes) -> Response {
    let w: Workstation = match serde_json::from_slice(&body) {
        Ok(w) => w,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("invalid body: {e}")),
    };
    match crate::apps::start_workstation(&st, &w.capsule_id) {
        Some(c) => Json(c).into_response(),
        None => json_error(
            StatusCode::NOT_FOUND,
            &format!("no capsule {}", w.capsule_id),
        ),
    }
}

async fn stats(State(st): St) -> impl IntoResponse {
    Json(st.stats())
}

/// The faults drawn under the current fault specs, in total and per class.
async fn injected(State(st): St) -> impl IntoResponse {
    let d = st.dynamic.read().unwrap();
    let per_class: std::collections::BTreeMap<_, _> = d
        .faults
        .0
        .keys()
        .map(|c| (*c, d.faults.injected_on(*c)))
        .collect();
    Json(serde_json::json!({
        "total": d.faults.injected(),
        "per_class": per_class,
    }))
}

async fn requests(State(st): St) -> impl IntoResponse {
    Json(st.requests())
}

async fn clear(State(st): St) -> StatusCode {
    st.clear_log();
    StatusCode::NO_CONTENT
}

/// The settings that can change while the simulator runs.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveConfig {
    #[serde(default)]
    api: Option<ApiGeneration>,
    #[serde(default)]
    faults: Option<Faults>,
    #[serde(default)]
    url_ttl_secs: Option<u64>,
}

async fn config(State(st): St) -> impl IntoResponse {
    let d = st.dynamic.read().unwrap();
    Json(LiveConfig {
        api: Some(d.api),
        faults: Some(d.faults.clone()),
        url_ttl_secs: Some(d.url_ttl.as_secs()),
    })
}

async fn set_config(State(st): St, body: axum::body::Bytes) -> Response {
    let update: LiveConfig = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("invalid config: {e}")),
    };
    {
        let mut d = st.dynamic.write().unwrap();
        if let Some(api) = update.api {
            d.api = api;
        }
        if let Some(f) = update.faults {
            // Limiters are not carried in JSON: classes with equal limits share one.
            d.faults = f.share_limits();
        }
        if let Some(t) = update.url_ttl_secs {
            d.url_ttl = Duration::from_secs(t);
        }
    }
    config(State(st)).await.into_response()
}

#[derive(Deserialize)]
struct Advance {
    seconds: f64,
}

async fn advance(State(st): St, Query(a): Query<Advance>) -> Response {
    if !a.seconds.is_finite() || a.seconds < 0.0 {
        return json_error(
            StatusCode::BAD_REQUEST,
            "seconds must be a non-negative number",
        );
    }
    st.clock.advance(Duration::from_secs_f64(a.seconds));
    StatusCode::NO_CONTENT.into_response()
}

/// One run's timeline (`GET /__sim/computations`), in Unix seconds of the real clock, so that
/// a benchmark can tell how long after a run ended its client noticed.
#[derive(Serialize)]
struct Timeline {
    id: String,
    /// The capsule or pipeline it runs.
    runnable_id: String,
    /// `initializing`, `running`, `finalizing` or `ended`, now.
    phase: &'static str,
    /// When it was created.
    created_at: f64,
    /// When it ends, ended or was stopped (at the clock's current rate: advancing the clock
    /// later moves it).
    ends_at: f64,
}

/// Every run, oldest first.
async fn computations(State(st): St) -> impl IntoResponse {
    let now = st.clock.now();
    let runs = st.runs.lock().unwrap();
    let mut list: Vec<(f64, Timeline)> = runs
        .values()
        .map(|r| {
            let phase = match r.phase(now) {
                Phase::Initializing => "initializing",
                Phase::Running => "running",
                Phase::Finalizing => "finalizing",
                Phase::Ended => "ended",
            };
            let t = Timeline {
                id: r.id.clone(),
                runnable_id: r.runnable.id.clone(),
                phase,
                created_at: st.clock.real_unix(r.created),
                ends_at: st.clock.real_unix(r.ends()),
            };
            (r.created, t)
        })
        .collect();
    drop(runs);
    list.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    Json(list.into_iter().map(|(_, t)| t).collect::<Vec<_>>())
}

async fn stop(State(st): St, Path(id): Path<String>) -> Response {
    if crate::computations::stop(&st, &id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        json_error(
            StatusCode::NOT_FOUND,
            &format!("no running computation {id}"),
        )
    }
}
