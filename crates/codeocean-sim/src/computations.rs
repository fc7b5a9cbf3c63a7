//! Computations: starting runs (of capsules and pipelines), get, rename and delete, the results
//! tree (folder listings; its signed file URLs through [`crate::tree`]), attaching data assets to
//! cloud workstation sessions, and stopping a run (in-process and admin use).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use codeocean_raw::types;

use crate::apps::{Kind, asset_facts, attach_results, attach_to, detach_from, with_item};
use crate::catalogue::{Entry, Flat, Runnable};
use crate::http::{ApiError, ApiResult, Q, St, parse_body, query};
use crate::state::{self, Phase, Run};
use crate::tree::{self, folder_items, normalize};

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

/// `POST /computations`: starts a run of a capsule or pipeline.
pub(crate) async fn run_computation(
    State(st): St,
    body: Bytes,
) -> ApiResult<Json<types::Computation>> {
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

/// Runs `f` on the computation `id` (404 when there is none).
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

/// `GET /computations/{id}`.
pub(crate) async fn get_computation(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<types::Computation>> {
    with_run(&st, &id, |r| Json(r.to_wire(&st.clock)))
}

/// `DELETE /computations/{id}`.
pub(crate) async fn delete_computation(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let mut runs = st.runs.lock().unwrap();
    // A running computation is stopped first; then it is gone either way.
    runs.remove(&id)
        .ok_or_else(|| ApiError::not_found(format!("computation {id} not found")))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /computations/{id}?name=`.
pub(crate) async fn rename_computation(
    State(st): St,
    Path(id): Path<String>,
    q: Q,
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

/// `POST /computations/{id}/results`: one folder of the results.
pub(crate) async fn list_results(
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

/// A computation's results, as a tree with signed file URLs.
pub(crate) struct Results;

impl tree::Tree for Results {
    const DOWNLOAD: &'static str = tree::RESULTS;
    const VIEW: &'static str = tree::RESULTS_VIEW;

    fn has_file(st: &state::State, id: &str, path: &str) -> ApiResult<bool> {
        let (flat, has_results) =
            with_run(st, id, |r| (r.flat.clone(), r.has_results(st.clock.now())))?;
        Ok(has_results && matches!(flat.entries.get(path), Some(Entry::File(_))))
    }

    fn describe(id: &str) -> String {
        format!("the results of computation {id}")
    }
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

/// The data assets of a run: (id, mount).
fn attached_to(r: &Run) -> Vec<(String, String)> {
    r.request
        .data_assets
        .iter()
        .flatten()
        .map(|d| (d.id.clone(), d.mount.clone().unwrap_or_default()))
        .collect()
}

/// A cloud workstation session that is still running, or why not.
fn running_session(st: &state::State, run: &state::Run) -> ApiResult<()> {
    if !run.workstation {
        return Err(ApiError::bad_request(format!(
            "computation {} is not a cloud workstation session",
            run.id
        )));
    }
    if run.phase(st.clock.now()) == Phase::Ended {
        return Err(ApiError::bad_request(format!(
            "cloud workstation session {} has ended",
            run.id
        )));
    }
    Ok(())
}

/// `POST /computations/{id}/data_assets`: attaches data assets to a cloud workstation session.
pub(crate) async fn attach_computation(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Vec<types::DataAssetAttachResult>>> {
    let (params, _): (Vec<types::DataAssetAttachParams>, _) = parse_body(&body)?;
    with_run(&st, &id, |r| running_session(&st, r))??;
    let facts = asset_facts(&st, &params)?;
    let job = st.new_id();
    with_run(&st, &id, |r| {
        running_session(&st, r)?;
        let mut attached = attached_to(r);
        attach_to(&mut attached, &params, &facts)?;
        r.request.data_assets = Some(
            attached
                .into_iter()
                .map(|(id, mount)| types::RunDataAsset {
                    id,
                    mount: Some(mount),
                })
                .collect(),
        );
        Ok(())
    })??;
    // A session mounts in the background: the answer says the mount is on its way.
    Ok(Json(attach_results(&params, facts, Some(job))))
}

/// `DELETE /computations/{id}/data_assets/`: detaches them.
pub(crate) async fn detach_computation(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let (ids, _): (Vec<String>, _) = parse_body(&body)?;
    with_run(&st, &id, |r| {
        running_session(&st, r)?;
        let mut attached = attached_to(r);
        detach_from(&mut attached, &ids, &format!("computation {id}"))?;
        if let Some(d) = r.request.data_assets.as_mut() {
            d.retain(|d| !ids.contains(&d.id));
        }
        Ok(())
    })??;
    Ok(StatusCode::NO_CONTENT)
}
