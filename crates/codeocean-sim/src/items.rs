//! The capsule and pipeline operations beyond get and list-computations (pipelines mirror
//! capsules under `/pipelines`), and attaching data assets to cloud workstation sessions.
//!
//! Everything is stateful: a deleted capsule is gone (404), archiving shows in searches,
//! permissions and attached data assets are kept, a release job moves through `created`,
//! `started` and `completed` on the simulated clock and then adds a version to the capsule.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codeocean_raw::open::{
    AppPanelDataAssetKind, AppPanelParameterType, OneOrMany, ReleaseJobStatus,
};
use codeocean_raw::types;

use crate::api::{
    ApiError, ApiResult, Kind, capsule_wire, computations_of, parse_body, query, with_item,
    with_run,
};
use crate::assets::{apply_permissions, archive_flag, check_permissions, share};
use crate::catalogue::Entry;
use crate::state::{self, Item, Phase, RELEASE_STARTS_AFTER, RELEASE_TAKES, ReleaseJob};

type St = State<Arc<state::State>>;
type Q = Result<Query<HashMap<String, String>>, QueryRejection>;

// --- Get, delete, computations ------------------------------------------------------------

pub(crate) async fn get_pipeline(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<types::Capsule>> {
    Ok(Json(with_item(&st, &id, Kind::Pipeline, |item| {
        capsule_wire(&st, item)
    })?))
}

fn delete(st: &state::State, id: &str, kind: Kind) -> ApiResult<StatusCode> {
    with_item(st, id, kind, |_| ())?;
    st.items.lock().unwrap().remove(id);
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn delete_capsule(State(st): St, Path(id): Path<String>) -> ApiResult<StatusCode> {
    delete(&st, &id, Kind::Capsule)
}

pub(crate) async fn delete_pipeline(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    delete(&st, &id, Kind::Pipeline)
}

pub(crate) async fn list_pipeline_computations(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<types::Computation>>> {
    Ok(Json(computations_of(&st, &id, Kind::Pipeline)?))
}

// --- App panel ----------------------------------------------------------------------------

fn category() -> types::AppPanelCategory {
    types::AppPanelCategory {
        id: "general".into(),
        name: Some("General".into()),
        description: Some("Settings of every run.".into()),
        help_text: None,
    }
}

fn parameter(name: &str) -> types::AppPanelParameter {
    types::AppPanelParameter {
        category: Some("general".into()),
        default_value: Some(String::new()),
        description: Some(format!("The `{name}` parameter.")),
        help_text: None,
        hidden: Some(false),
        maximum: None,
        minimum: None,
        name: name.replace('_', " "),
        param_name: Some(name.into()),
        pattern: None,
        required: Some(false),
        type_: Some(AppPanelParameterType::Text),
        value_options: vec![],
        value_type: Some("string".into()),
    }
}

fn app_panel(st: &state::State, id: &str, kind: Kind, q: Q) -> ApiResult<Json<types::AppPanel>> {
    let q = query(q)?;
    let version = q
        .get("version")
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("version: `{v}` is not an integer")))
        })
        .transpose()?;
    let (runnable, flat, attached, versions) = with_item(st, id, kind, |item| {
        (
            item.runnable.clone(),
            item.flat.clone(),
            item.attached.clone(),
            item.versions(&st.clock).len() as i64,
        )
    })?;
    if let Some(v) = version
        && !(1..=versions).contains(&v)
    {
        return Err(ApiError::not_found(format!(
            "{} {id} has no released version {v} (it has {versions})",
            kind.noun()
        )));
    }
    let data_assets = {
        let assets = st.assets.lock().unwrap();
        let now = st.clock.now();
        attached
            .iter()
            .map(|(aid, mount)| {
                let a = assets.get(aid);
                types::AppPanelDataAsset {
                    accessible: Some(a.is_some()),
                    description: a.and_then(|a| a.wire.description.clone()),
                    help_text: None,
                    id: aid.clone(),
                    kind: Some(if a.is_some_and(|a| a.is_external(now)) {
                        AppPanelDataAssetKind::External
                    } else {
                        AppPanelDataAssetKind::Internal
                    }),
                    mount: Some(mount.clone()),
                    name: Some(
                        a.and_then(|a| a.wire.name.clone())
                            .unwrap_or_else(|| aid.clone()),
                    ),
                }
            })
            .collect()
    };
    let parameters: Vec<types::AppPanelParameter> = runnable
        .parameters
        .iter()
        .flatten()
        .map(|p| parameter(p))
        .collect();
    let results = match flat.entries.get("") {
        Some(Entry::Folder(children)) => children
            .iter()
            .filter(|c| matches!(flat.entries.get(*c), Some(Entry::File(_))))
            .map(|c| types::AppPanelResult {
                file_name: c.clone(),
            })
            .collect(),
        _ => vec![],
    };
    let processes = runnable
        .processes
        .iter()
        .map(|name| types::AppPanelProcess {
            categories: Some(OneOrMany::One(category())),
            name: name.clone(),
            parameters: Some(OneOrMany::One(parameter("mode"))),
        })
        .collect();
    Ok(Json(types::AppPanel {
        categories: if parameters.is_empty() {
            vec![]
        } else {
            vec![category()]
        },
        data_assets,
        general: Some(types::AppPanelGeneral {
            title: Some(runnable.name.clone()),
            instructions: Some(runnable.description.clone()),
            help_text: Some(format!("Run {} from its app panel.", runnable.name)),
        }),
        parameters,
        processes,
        results,
    }))
}

pub(crate) async fn capsule_app_panel(
    State(st): St,
    Path(id): Path<String>,
    q: Q,
) -> ApiResult<Json<types::AppPanel>> {
    app_panel(&st, &id, Kind::Capsule, q)
}

pub(crate) async fn pipeline_app_panel(
    State(st): St,
    Path(id): Path<String>,
    q: Q,
) -> ApiResult<Json<types::AppPanel>> {
    app_panel(&st, &id, Kind::Pipeline, q)
}

// --- Archive ------------------------------------------------------------------------------

fn archive(st: &state::State, id: &str, kind: Kind, q: Q) -> ApiResult<StatusCode> {
    let flag = archive_flag(q)?;
    with_item(st, id, kind, |item| item.archived = flag)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn archive_capsule(
    State(st): St,
    Path(id): Path<String>,
    q: Q,
) -> ApiResult<StatusCode> {
    archive(&st, &id, Kind::Capsule, q)
}

pub(crate) async fn archive_pipeline(
    State(st): St,
    Path(id): Path<String>,
    q: Q,
) -> ApiResult<StatusCode> {
    archive(&st, &id, Kind::Pipeline, q)
}

// --- Attach and detach data assets --------------------------------------------------------

/// What attaching needs to know of an asset: (default mount, external).
fn asset_facts(
    st: &state::State,
    params: &[types::DataAssetAttachParams],
) -> ApiResult<Vec<(String, bool)>> {
    let assets = st.assets.lock().unwrap();
    let now = st.clock.now();
    params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let a = assets.get(&p.id).ok_or_else(|| {
                ApiError::bad_request(format!("[{i}].id: data asset {} not found", p.id))
            })?;
            if p.mount.as_ref().is_some_and(|m| m.trim().is_empty()) {
                return Err(ApiError::bad_request(format!(
                    "[{i}].mount: must not be empty"
                )));
            }
            let mount = p
                .mount
                .clone()
                .or_else(|| a.wire.mount.clone())
                .unwrap_or_else(|| p.id.clone());
            Ok((mount, a.is_external(now)))
        })
        .collect()
}

/// Attaches to a list of (id, mount): a re-attached asset moves to its new mount; two assets
/// cannot share a mount.
fn attach_to(
    attached: &mut Vec<(String, String)>,
    params: &[types::DataAssetAttachParams],
    facts: &[(String, bool)],
) -> ApiResult<()> {
    let mut next = attached.clone();
    for (i, (p, (mount, _))) in params.iter().zip(facts).enumerate() {
        next.retain(|(id, _)| *id != p.id);
        if let Some((other, _)) = next.iter().find(|(_, m)| m == mount) {
            return Err(ApiError::bad_request(format!(
                "[{i}].mount: /data/{mount} is already used by data asset {other}"
            )));
        }
        next.push((p.id.clone(), mount.clone()));
    }
    *attached = next;
    Ok(())
}

fn detach_from(attached: &mut Vec<(String, String)>, ids: &[String], what: &str) -> ApiResult<()> {
    for (i, id) in ids.iter().enumerate() {
        if !attached.iter().any(|(a, _)| a == id) {
            return Err(ApiError::bad_request(format!(
                "[{i}]: data asset {id} is not attached to {what}"
            )));
        }
    }
    attached.retain(|(a, _)| !ids.contains(a));
    Ok(())
}

fn attach(
    st: &state::State,
    id: &str,
    kind: Kind,
    body: &[u8],
) -> ApiResult<Json<Vec<types::DataAssetAttachResult>>> {
    let (params, _): (Vec<types::DataAssetAttachParams>, _) = parse_body(body)?;
    with_item(st, id, kind, |_| ())?;
    let facts = asset_facts(st, &params)?;
    with_item(st, id, kind, |item| {
        attach_to(&mut item.attached, &params, &facts)
    })??;
    Ok(Json(
        params
            .iter()
            .zip(facts)
            .map(|(p, (mount, external))| types::DataAssetAttachResult {
                external: Some(external),
                id: p.id.clone(),
                job_id: None,
                mount: Some(mount),
                mount_state: Some("ready".into()),
                ready: Some(true),
            })
            .collect(),
    ))
}

fn detach(st: &state::State, id: &str, kind: Kind, body: &[u8]) -> ApiResult<StatusCode> {
    let (ids, _): (Vec<String>, _) = parse_body(body)?;
    let what = format!("{} {id}", kind.noun());
    with_item(st, id, kind, |item| {
        detach_from(&mut item.attached, &ids, &what)
    })??;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn attach_capsule(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Vec<types::DataAssetAttachResult>>> {
    attach(&st, &id, Kind::Capsule, &body)
}

pub(crate) async fn attach_pipeline(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Vec<types::DataAssetAttachResult>>> {
    attach(&st, &id, Kind::Pipeline, &body)
}

pub(crate) async fn detach_capsule(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    detach(&st, &id, Kind::Capsule, &body)
}

pub(crate) async fn detach_pipeline(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    detach(&st, &id, Kind::Pipeline, &body)
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
        let mut attached: Vec<(String, String)> = r
            .request
            .data_assets
            .iter()
            .flatten()
            .map(|d| (d.id.clone(), d.mount.clone().unwrap_or_default()))
            .collect();
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
    Ok(Json(
        params
            .iter()
            .zip(facts)
            .map(|(p, (mount, external))| types::DataAssetAttachResult {
                external: Some(external),
                id: p.id.clone(),
                job_id: Some(job.clone()),
                mount: Some(mount),
                mount_state: Some("mounting".into()),
                ready: Some(false),
            })
            .collect(),
    ))
}

pub(crate) async fn detach_computation(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let (ids, _): (Vec<String>, _) = parse_body(&body)?;
    with_run(&st, &id, |r| {
        running_session(&st, r)?;
        let mut attached: Vec<(String, String)> = r
            .request
            .data_assets
            .iter()
            .flatten()
            .map(|d| (d.id.clone(), d.mount.clone().unwrap_or_default()))
            .collect();
        detach_from(&mut attached, &ids, &format!("computation {id}"))?;
        if let Some(d) = r.request.data_assets.as_mut() {
            d.retain(|d| !ids.contains(&d.id));
        }
        Ok(())
    })??;
    Ok(StatusCode::NO_CONTENT)
}

// --- Permissions --------------------------------------------------------------------------

fn permissions(st: &state::State, id: &str, kind: Kind) -> ApiResult<Json<types::Permissions>> {
    Ok(Json(with_item(st, id, kind, |item| {
        item.permissions.clone()
    })?))
}

fn update_permissions(
    st: &state::State,
    id: &str,
    kind: Kind,
    body: &[u8],
) -> ApiResult<StatusCode> {
    let (p, _): (types::Permissions, _) = parse_body(body)?;
    check_permissions(&p)?;
    let attached = with_item(st, id, kind, |item| {
        apply_permissions(&mut item.permissions, &p);
        item.attached.clone()
    })?;
    if p.share_assets == Some(true) {
        let mut assets = st.assets.lock().unwrap();
        for (aid, _) in attached {
            if let Some(a) = assets.get_mut(&aid) {
                share(&mut a.permissions, &p);
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn capsule_permissions(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<types::Permissions>> {
    permissions(&st, &id, Kind::Capsule)
}

pub(crate) async fn pipeline_permissions(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<types::Permissions>> {
    permissions(&st, &id, Kind::Pipeline)
}

pub(crate) async fn update_capsule_permissions(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    update_permissions(&st, &id, Kind::Capsule, &body)
}

pub(crate) async fn update_pipeline_permissions(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    update_permissions(&st, &id, Kind::Pipeline, &body)
}

// --- Release ------------------------------------------------------------------------------

fn job_wire(st: &state::State, item_id: &str, job: &ReleaseJob) -> types::ReleaseJob {
    let now = st.clock.now();
    let t = now - job.created;
    let status = if now >= job.done_at() {
        ReleaseJobStatus::Completed
    } else if t >= RELEASE_STARTS_AFTER {
        ReleaseJobStatus::Started
    } else {
        ReleaseJobStatus::Created
    };
    let done = status == ReleaseJobStatus::Completed;
    let started = job.created + RELEASE_STARTS_AFTER;
    types::ReleaseJob {
        // Whole seconds run so far; exact once done (no float residue of the clock).
        duration: (now >= started).then_some(if done {
            (RELEASE_TAKES - RELEASE_STARTS_AFTER) as i64
        } else {
            (now - started) as i64
        }),
        error: None,
        job_id: job.id.clone(),
        release_capsule: done.then(|| item_id.to_owned()),
        release_version: done.then(|| types::CapsuleVersion {
            major_version: Some(job.major),
            minor_version: Some(0),
            release_time: Some(st.clock.epoch(job.done_at())),
        }),
        started: (now >= started).then(|| st.clock.epoch(started)),
        status: Some(status),
    }
}

fn release(st: &state::State, id: &str, kind: Kind) -> ApiResult<Response> {
    // Release requirement: a run of it that succeeded.
    let reproducible = st.runs.lock().unwrap().values().any(|r| {
        r.runnable.id == id
            && !r.workstation
            && r.phase(st.clock.now()) == Phase::Ended
            && r.end_status() == "succeeded"
    });
    let job_id = st.new_id();
    let now = st.clock.now();
    let out = with_item(st, id, kind, |item: &mut Item| {
        if item.runnable.versions == 0 {
            return Err(ApiError::bad_request(format!(
                "{} {id} was never released: its first release is made in the app",
                kind.noun()
            )));
        }
        if !reproducible {
            let body = serde_json::json!({
                "message": format!("{} {id} does not meet the release requirements", kind.noun()),
                "missing_reproducible_run": true,
            });
            return Ok((StatusCode::FORBIDDEN, Json(body)).into_response());
        }
        let major = i64::from(item.runnable.versions) + item.releases.len() as i64 + 1;
        let job = ReleaseJob {
            id: job_id,
            created: now,
            major,
        };
        let wire = job_wire(st, id, &job);
        item.releases.push(job);
        Ok(Json(wire).into_response())
    })??;
    Ok(out)
}

pub(crate) async fn release_capsule(State(st): St, Path(id): Path<String>) -> ApiResult<Response> {
    release(&st, &id, Kind::Capsule)
}

pub(crate) async fn release_pipeline(State(st): St, Path(id): Path<String>) -> ApiResult<Response> {
    release(&st, &id, Kind::Pipeline)
}

fn release_job(
    st: &state::State,
    id: &str,
    job: &str,
    kind: Kind,
) -> ApiResult<Json<types::ReleaseJob>> {
    with_item(st, id, kind, |item| {
        item.releases
            .iter()
            .find(|j| j.id == job)
            .map(|j| Json(job_wire(st, id, j)))
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "release job {job} of {} {id} not found",
                    kind.noun()
                ))
            })
    })?
}

pub(crate) async fn capsule_release_job(
    State(st): St,
    Path((id, job)): Path<(String, String)>,
) -> ApiResult<Json<types::ReleaseJob>> {
    release_job(&st, &id, &job, Kind::Capsule)
}

pub(crate) async fn pipeline_release_job(
    State(st): St,
    Path((id, job)): Path<(String, String)>,
) -> ApiResult<Json<types::ReleaseJob>> {
    release_job(&st, &id, &job, Kind::Pipeline)
}

// --- Sync ---------------------------------------------------------------------------------

/// Commits the first sync pushes (the capsule's history); later syncs find nothing to do.
const FIRST_SYNC_PUSHES: i64 = 3;

fn sync(st: &state::State, id: &str, kind: Kind) -> ApiResult<Json<types::GitSyncResults>> {
    with_item(st, id, kind, |item| {
        if item.runnable.git_remote.is_none() {
            return Err(ApiError::bad_request(format!(
                "{} {id} is not linked to an external Git repository",
                kind.noun()
            )));
        }
        item.syncs += 1;
        // Servers leave out zero counts and a false new_branch.
        Ok(Json(if item.syncs == 1 {
            types::GitSyncResults {
                new_branch: Some(true),
                pulled: None,
                pushed: Some(FIRST_SYNC_PUSHES),
            }
        } else {
            types::GitSyncResults::default()
        }))
    })?
}

pub(crate) async fn sync_capsule(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<types::GitSyncResults>> {
    sync(&st, &id, Kind::Capsule)
}

pub(crate) async fn sync_pipeline(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<types::GitSyncResults>> {
    sync(&st, &id, Kind::Pipeline)
}

// --- Copies and cloud workstation sessions (admin) ----------------------------------------

/// Makes `count` copies of a capsule or pipeline (new ids, names `{name} (copy k)`, made now,
/// same runs and versions); their ids, or `None` when there is no such capsule or pipeline.
pub(crate) fn copy(st: &state::State, id: &str, count: usize) -> Option<Vec<String>> {
    let now = st.clock.now();
    let mut items = st.items.lock().unwrap();
    let original = items.get(id)?;
    let (runnable, flat, is_pipeline) = (
        original.runnable.clone(),
        original.flat.clone(),
        original.is_pipeline,
    );
    let ids: Vec<String> = (0..count).map(|_| st.new_id()).collect();
    for (k, new_id) in ids.iter().enumerate() {
        let r = crate::catalogue::Runnable {
            id: new_id.clone(),
            name: format!("{} (copy {})", runnable.name, k + 1),
            slug: None,
            ..(*runnable).clone()
        };
        let created = now - (count - 1 - k) as f64;
        items.insert(
            new_id.clone(),
            Item {
                runnable: Arc::new(r),
                flat: flat.clone(),
                is_pipeline,
                created,
                last_accessed: created,
                archived: false,
                permissions: state::owner_permissions(),
                attached: vec![],
                releases: vec![],
                syncs: 0,
            },
        );
    }
    Some(ids)
}

/// Starts a cloud workstation session of a capsule (it runs until stopped or deleted); the
/// computation, or `None` when there is no such capsule.
pub(crate) fn start_workstation(st: &state::State, capsule_id: &str) -> Option<types::Computation> {
    let (runnable, flat) = with_item(st, capsule_id, Kind::Capsule, |item| {
        (item.runnable.clone(), item.flat.clone())
    })
    .ok()?;
    let id = st.new_id();
    let mut runs = st.runs.lock().unwrap();
    let run = state::Run {
        name: format!("Cloud Workstation {}", 1_000_000 + runs.len()),
        id: id.clone(),
        flat,
        runnable,
        is_pipeline: false,
        created: st.clock.now(),
        stopped_at: None,
        request: types::RunRequest {
            capsule_id: Some(capsule_id.to_owned()),
            ..Default::default()
        },
        workstation: true,
    };
    let wire = run.to_wire(&st.clock);
    runs.insert(id, run);
    Some(wire)
}
