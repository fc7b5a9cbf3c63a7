//! Admin routes under `/__sim` (no auth; they exist only in the simulator): counts, the request
//! log, the API generation, faults, the clock and the runs' timelines, so that a shell session or a test in another
//! process can watch and steer the simulator.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::ApiGeneration;
use crate::api::json_error;
use crate::faults::Faults;
use crate::state::{Phase, State as SimState};

type St = State<Arc<SimState>>;

pub(crate) fn router() -> Router<Arc<SimState>> {
    Router::new()
        .route("/stats", get(stats))
        .route("/requests", get(requests).delete(clear))
        .route("/config", get(config).put(set_config))
        .route("/advance", post(advance))
        .route("/computations", get(computations))
        .route("/computations/{id}/stop", post(stop))
}

async fn stats(State(st): St) -> impl IntoResponse {
    Json(st.stats())
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
            d.faults = f;
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
    if crate::api::stop(&st, &id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        json_error(
            StatusCode::NOT_FOUND,
            &format!("no running computation {id}"),
        )
    }
}
